// The label log's row format, shared by the SQLite repository and the PostgreSQL store: one event as its columns
// (values as JSON text), how an event changes an item's state, and a hash of a state for "these two stores agree".
// Pure: no driver here, so both sides (and the worker that owns the PostgreSQL connection) encode events the same way.
import { createHash } from 'node:crypto';

export type LogField = 'labels' | 'rejected' | 'flagged' | 'note';

/** One label_events row, column for column (value and previous are JSON text; blinded is 0/1). */
export interface LogRow {
  id: number;
  at: string;
  annotator: string;
  action: string;
  level: string;
  item_uid: string;
  group_key: string;
  field: LogField;
  value: string;
  previous: string;
  source: string;
  suggested: string;
  suggestion_source: string;
  model_sha256: string;
  model_detail: string;
  score: number | null;
  blinded: number;
  reverts: number | null;
  batch: number | null;
}

/** An event before the store numbers it. */
export type LogDraft = Omit<LogRow, 'id' | 'batch'>;

export const LOG_COLUMNS = ['id', 'at', 'annotator', 'action', 'level', 'item_uid', 'group_key', 'field', 'value', 'previous', 'source', 'suggested',
  'suggestion_source', 'model_sha256', 'model_detail', 'score', 'blinded', 'reverts', 'batch'] as const satisfies readonly (keyof LogRow)[];

/** One label_state row (the derived state of an item's group, or of the item itself for group ''). */
export interface StateRow { labels: string; rejected: string; flagged: number; note: string }

export const EMPTY_STATE: StateRow = { labels: 'null', rejected: '[]', flagged: 0, note: '' };

/** The field's current value as JSON text: what an event's `previous` must equal for the event to apply. */
export function currentText(field: LogField, s: StateRow | undefined): string {
  const st = s ?? EMPTY_STATE;
  switch (field) {
    case 'labels': return st.labels;
    case 'rejected': return st.rejected;
    case 'flagged': return st.flagged ? 'true' : 'false';
    case 'note': return JSON.stringify(st.note);
  }
}

/** The state after the event. */
export function applyRow(s: StateRow | undefined, r: Pick<LogRow, 'field' | 'value'>): StateRow {
  const st = { ...(s ?? EMPTY_STATE) };
  if (r.field === 'labels') st.labels = r.value;
  else if (r.field === 'rejected') st.rejected = r.value;
  else if (r.field === 'flagged') st.flagged = JSON.parse(r.value) ? 1 : 0;
  else st.note = String(JSON.parse(r.value));
  return st;
}

export const stateKey = (r: { level: string; item_uid: string; group_key: string }): string => `${r.level}|${r.item_uid}|${r.group_key}`;

/** Every item's state replayed from a log in id order. */
export function replayRows(rows: Iterable<LogRow>): Map<string, StateRow> {
  const out = new Map<string, StateRow>();
  for (const r of rows) out.set(stateKey(r), applyRow(out.get(stateKey(r)), r));
  return out;
}

/** A digest of a whole state, independent of row order: equal digests mean equal labels, rejections, flags and notes. */
export function stateHash(state: ReadonlyMap<string, StateRow>): string {
  const h = createHash('sha256');
  for (const k of [...state.keys()].sort()) {
    const s = state.get(k)!;
    h.update(JSON.stringify([k, s.labels, s.rejected, s.flagged ? 1 : 0, s.note]));
    h.update('\n');
  }
  return h.digest('hex');
}
