// Label bookkeeping in SQLite: the append-only event log, the state derived from it, schema versions and the
// learning curve. Part of the project store's repositories: the only place labels touch the database.
import type Database from 'better-sqlite3';
import type { Level } from '../../shared/label-schema.ts';
import { LOG_COLUMNS } from './label-log.ts';
import type { LogDraft, LogRow, StateRow } from './label-log.ts';
import type { SchemaRow } from './pg-log.ts';
import type { Replica, SharedLabelLog } from './shared-label-store.ts';

export type Field = 'labels' | 'rejected' | 'flagged' | 'note';

export interface ItemState { labels: string[] | null; rejected: string[]; flagged: boolean; note: string; lastEvent: number }

export interface NewEvent {
  annotator: string;
  action: 'set' | 'accept' | 'bulk-accept' | 'reject' | 'clear' | 'flag' | 'note' | 'undo' | 'redo' | 'import';
  level: Level;
  itemUid: string;
  /** '' for the item-wide fields (flag, note). */
  group: string;
  field: Field;
  value: unknown;
  previous: unknown;
  source: 'manual' | 'suggestion' | 'bulk' | 'imported';
  suggested?: string;
  suggestionSource?: string;
  modelSha256?: string;
  modelDetail?: string;
  score?: number | null;
  blinded?: boolean;
  reverts?: number | null;
}

/** A stored event: what was appended, with every optional field filled in. */
export type EventRow = Required<NewEvent> & { id: number; at: string; batch: number | null };

export interface LevelIndex {
  ids: Int32Array;
  uids: string[];
  /** CSR into `rows`: the embedding-store rows of each item's images. */
  offsets: Int32Array;
  rows: Int32Array;
}

const EVENT_SELECT = `SELECT id, at, annotator, action, level, item_uid AS itemUid, group_key AS "group", field, value, previous, source,
  suggested, suggestion_source AS suggestionSource, model_sha256 AS modelSha256, model_detail AS modelDetail, score, blinded, reverts, batch
  FROM label_events`;

function toEvent(r: Record<string, unknown>): EventRow {
  return { ...(r as unknown as EventRow), value: JSON.parse(r.value as string), previous: JSON.parse(r.previous as string), blinded: r.blinded === 1 };
}

const EMPTY: Omit<ItemState, 'lastEvent'> = { labels: null, rejected: [], flagged: false, note: '' };

/** SQL for each level: item id, UID and store row of each embedded image under it, in item order. */
const LEVEL_ROWS: Record<Level, string> = {
  image: `SELECT i.id AS id, i.sop_uid AS uid, e.row AS row FROM instances i
          JOIN embeddings e ON e.model_pk = ? AND e.level = 'image' AND e.item_pk = i.id ORDER BY i.id`,
  series: `SELECT s.id AS id, s.series_uid AS uid, e.row AS row FROM series s JOIN instances i ON i.series_pk = s.id
           JOIN embeddings e ON e.model_pk = ? AND e.level = 'image' AND e.item_pk = i.id ORDER BY s.id, i.id`,
  study: `SELECT st.id AS id, st.study_uid AS uid, e.row AS row FROM studies st JOIN series s ON s.study_pk = st.id
          JOIN instances i ON i.series_pk = s.id JOIN embeddings e ON e.model_pk = ? AND e.level = 'image' AND e.item_pk = i.id
          ORDER BY st.id, s.id, i.id`,
};

/** The table of each level's items, its UID column, and which of its rows are items (images only, for instances). */
const ITEMS: Record<Level, { table: string; uid: string; where: string }> = {
  image: { table: 'instances', uid: 'sop_uid', where: 'is_image = 1' },
  series: { table: 'series', uid: 'series_uid', where: '1' },
  study: { table: 'studies', uid: 'study_uid', where: '1' },
};
const STUDY_OF: Record<Level, string> = {
  image: 'SELECT s.study_pk FROM instances i JOIN series s ON s.id = i.series_pk WHERE i.id = ?',
  series: 'SELECT study_pk FROM series WHERE id = ?',
  study: 'SELECT id FROM studies WHERE id = ?',
};

/** An event as the label log's row (values as JSON text), before the store numbers it. */
function draftOf(e: NewEvent, at: string): LogDraft {
  return {
    at, annotator: e.annotator, action: e.action, level: e.level, item_uid: e.itemUid, group_key: e.group, field: e.field,
    value: JSON.stringify(e.value), previous: JSON.stringify(e.previous), source: e.source, suggested: e.suggested ?? '',
    suggestion_source: e.suggestionSource ?? '', model_sha256: e.modelSha256 ?? '', model_detail: e.modelDetail ?? '', score: e.score ?? null,
    blinded: e.blinded ? 1 : 0, reverts: e.reverts ?? null,
  };
}

export function eventOf(r: LogRow): EventRow {
  return {
    id: r.id, at: r.at, annotator: r.annotator, action: r.action as EventRow['action'], level: r.level as Level, itemUid: r.item_uid, group: r.group_key,
    field: r.field, value: JSON.parse(r.value), previous: JSON.parse(r.previous), source: r.source as EventRow['source'], suggested: r.suggested,
    suggestionSource: r.suggestion_source, modelSha256: r.model_sha256, modelDetail: r.model_detail, score: r.score, blinded: r.blinded === 1,
    reverts: r.reverts, batch: r.batch,
  };
}

export class LabelRepository implements Replica {
  private readonly db: Database.Database;
  /** Set when the project's labels live in a shared PostgreSQL store: writes go there first, this is its replica. */
  private remote: SharedLabelLog | null = null;

  constructor(db: Database.Database) {
    this.db = db;
  }

  useRemote(remote: SharedLabelLog | null): void {
    this.remote = remote;
  }

  get shared(): SharedLabelLog | null {
    return this.remote;
  }

  // ---- the log as rows (the shared store's replica, migration, "equal to a replay") ----

  lastEventId(): number {
    return this.db.prepare('SELECT coalesce(max(id), 0) FROM label_events').pluck().get() as number;
  }

  lastSchemaId(): number {
    return this.db.prepare('SELECT coalesce(max(id), 0) FROM label_schemas').pluck().get() as number;
  }

  logRow(id: number): LogRow | undefined {
    return this.db.prepare(`SELECT ${LOG_COLUMNS.join(', ')} FROM label_events WHERE id = ?`).get(id) as LogRow | undefined;
  }

  logRows(): LogRow[] {
    return this.db.prepare(`SELECT ${LOG_COLUMNS.join(', ')} FROM label_events ORDER BY id`).all() as LogRow[];
  }

  schemaRows(): SchemaRow[] {
    return this.db.prepare('SELECT id, schema, annotator, at FROM label_schemas ORDER BY id').all() as SchemaRow[];
  }

  /** The derived state as the label log's rows (key level|uid|group), to compare with a replay of a log. */
  derivedStateRows(): Map<string, StateRow> {
    const rows = this.db.prepare('SELECT level, item_uid, group_key, labels, rejected, flagged, note FROM label_state').raw().all() as [string, string, string, string, string, number, string][];
    return new Map(rows.map((r) => [`${r[0]}|${r[1]}|${r[2]}`, { labels: r[3], rejected: r[4], flagged: r[5], note: r[6] }]));
  }

  /** Forgets schema versions of a project with no label event yet (before it takes a shared project's versions). */
  dropUnusedSchemas(): void {
    this.db.transaction(() => {
      if (this.lastEventId() > 0) throw new Error('dropUnusedSchemas: the project has label events');
      this.db.prepare('DELETE FROM label_schemas').run();
    })();
  }

  /** Rows from the shared store continuing this log (ids kept), applied to the derived state; one transaction. */
  applyReplica(rows: readonly LogRow[], schemas: readonly SchemaRow[]): void {
    const ins = this.db.prepare(`INSERT INTO label_events(${LOG_COLUMNS.join(', ')}) VALUES (${LOG_COLUMNS.map(() => '?').join(', ')})`);
    const insSchema = this.db.prepare('INSERT INTO label_schemas(id, schema, annotator, at) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const s of schemas) insSchema.run(s.id, s.schema, s.annotator, s.at);
      for (const r of rows) {
        ins.run(...LOG_COLUMNS.map((c) => r[c]));
        this.applyToState(eventOf(r));
      }
    })();
  }

  // ---- schema versions ----

  schema(): { id: number; json: string } | null {
    const r = this.db.prepare('SELECT id, schema FROM label_schemas ORDER BY id DESC LIMIT 1').get() as { id: number; schema: string } | undefined;
    return r ? { id: r.id, json: r.schema } : null;
  }

  saveSchema(json: string, annotator: string): number {
    if (this.remote) return this.remote.appendSchema({ schema: json, annotator, at: new Date().toISOString() });
    return Number(this.db.prepare('INSERT INTO label_schemas(schema, annotator, at) VALUES (?, ?, ?)').run(json, annotator, new Date().toISOString()).lastInsertRowid);
  }

  // ---- items ----

  uidOf(level: Level, id: number): string | undefined {
    return this.db.prepare(`SELECT ${ITEMS[level].uid} FROM ${ITEMS[level].table} WHERE id = ?`).pluck().get(id) as string | undefined;
  }

  idOf(level: Level, uid: string): number | undefined {
    return this.db.prepare(`SELECT id FROM ${ITEMS[level].table} WHERE ${ITEMS[level].uid} = ?`).pluck().get(uid) as number | undefined;
  }

  studyOf(level: Level, id: number): number | undefined {
    return this.db.prepare(STUDY_OF[level]).pluck().get(id) as number | undefined;
  }

  /** Every item of a level that has at least one embedded image, with the store rows of its images. */
  levelIndex(level: Level, modelPk: number): LevelIndex {
    const rows = this.db.prepare(LEVEL_ROWS[level]).raw().all(modelPk) as [number, string, number][];
    const ids: number[] = [];
    const uids: string[] = [];
    const offsets: number[] = [0];
    const storeRows = new Int32Array(rows.length);
    rows.forEach(([id, uid, row], i) => {
      if (ids[ids.length - 1] !== id) {
        if (ids.length) offsets.push(i);
        ids.push(id);
        uids.push(uid);
      }
      storeRows[i] = row;
    });
    if (ids.length) offsets.push(rows.length);
    return { ids: Int32Array.from(ids), uids, offsets: Int32Array.from(offsets), rows: storeRows };
  }

  /** A page of a group's unlabelled items in id order, and how many there are. */
  unlabelled(level: Level, group: string, offset: number, limit: number): { total: number; ids: number[] } {
    const t = ITEMS[level];
    const where = `WHERE ${t.where} AND NOT EXISTS (SELECT 1 FROM label_state ls WHERE ls.level = ? AND ls.item_uid = x.${t.uid} AND ls.group_key = ? AND ls.labels <> 'null')`;
    return {
      total: this.db.prepare(`SELECT count(*) FROM ${t.table} x ${where}`).pluck().get(level, group) as number,
      ids: this.db.prepare(`SELECT id FROM ${t.table} x ${where} ORDER BY id LIMIT ? OFFSET ?`).pluck().all(level, group, limit, offset) as number[],
    };
  }

  itemCount(level: Level): number {
    return this.db.prepare(`SELECT count(*) FROM ${ITEMS[level].table} WHERE ${ITEMS[level].where}`).pluck().get() as number;
  }

  /** What the labelling view shows for an item: where it sits, and the images of its representative series. */
  itemContext(level: Level, id: number): { studyId: number; title: string; images: { instanceId: number; frames: number }[] } | null {
    const studyId = this.studyOf(level, id);
    if (studyId === undefined) return null;
    const st = this.db.prepare(`SELECT p.name AS patient, p.patient_id AS pid, s.study_date AS date, s.description AS description
                                FROM studies s JOIN patients p ON p.id = s.patient_pk WHERE s.id = ?`).get(studyId) as { patient: string; pid: string; date: string; description: string };
    let seriesId: number | undefined;
    let images: { instanceId: number; frames: number }[];
    let extra = '';
    if (level === 'image') {
      const r = this.db.prepare('SELECT i.series_pk AS seriesId, i.frames AS frames, i.instance_number AS num, s.description AS d FROM instances i JOIN series s ON s.id = i.series_pk WHERE i.id = ?').get(id) as { seriesId: number; frames: number; num: number | null; d: string };
      images = [{ instanceId: id, frames: r.frames }];
      extra = ` · ${r.d} #${r.num ?? '–'}`;
    } else {
      seriesId = level === 'series'
        ? id
        : (this.db.prepare(`SELECT s.id FROM series s WHERE s.study_pk = ? AND EXISTS (SELECT 1 FROM instances i WHERE i.series_pk = s.id AND i.is_image = 1)
                             ORDER BY s.series_number IS NULL, s.series_number, s.id LIMIT 1`).pluck().get(id) as number | undefined);
      images = seriesId === undefined ? [] : (this.db.prepare('SELECT id AS instanceId, frames FROM instances WHERE series_pk = ? AND is_image = 1 ORDER BY instance_number IS NULL, instance_number, id').all(seriesId) as { instanceId: number; frames: number }[]);
      if (level === 'series') extra = ` · ${(this.db.prepare('SELECT description FROM series WHERE id = ?').pluck().get(id) as string) || 'series'}`;
    }
    return { studyId, title: `${st.patient || st.pid || 'unnamed'} · ${st.date || 'no date'} · ${st.description || 'study'}${extra}`, images };
  }

  // ---- state ----

  state(level: Level, uid: string, group: string): ItemState {
    const r = this.db.prepare('SELECT labels, rejected, flagged, note, last_event AS lastEvent FROM label_state WHERE level = ? AND item_uid = ? AND group_key = ?').get(level, uid, group) as
      { labels: string; rejected: string; flagged: number; note: string; lastEvent: number } | undefined;
    if (!r) return { ...EMPTY, lastEvent: 0 };
    return { labels: JSON.parse(r.labels) as string[] | null, rejected: JSON.parse(r.rejected) as string[], flagged: r.flagged === 1, note: r.note, lastEvent: r.lastEvent };
  }

  /** Labelled items of a group: UID → labels. */
  labelled(group: string, level: Level): Map<string, string[]> {
    const rows = this.db.prepare("SELECT item_uid, labels FROM label_state WHERE group_key = ? AND level = ? AND labels <> 'null'").raw().all(group, level) as [string, string][];
    return new Map(rows.map(([u, l]) => [u, JSON.parse(l) as string[]]));
  }

  flaggedUids(level: Level): string[] {
    return this.db.prepare("SELECT item_uid FROM label_state WHERE group_key = '' AND level = ? AND flagged = 1 ORDER BY last_event DESC").pluck().all(level) as string[];
  }

  /**
   * Appends one event and applies it to the derived state in the same transaction. SQLite runs with
   * synchronous=FULL, so when this returns the event is on disk: a label the UI shows as saved survives a kill.
   */
  append(e: NewEvent): EventRow {
    return this.appendMany([e])[0]!;
  }

  appendMany(events: NewEvent[]): EventRow[] {
    const at = new Date().toISOString();
    if (this.remote) return this.remote.append(events.map((e) => draftOf(e, at))).map((id) => this.event(id)!);
    const ins = this.db.prepare(`INSERT INTO label_events(at, annotator, action, level, item_uid, group_key, field, value, previous, source, suggested,
        suggestion_source, model_sha256, model_detail, score, blinded, reverts, batch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const out: EventRow[] = [];
    this.db.transaction(() => {
      // Rows are never deleted, so the next id is max + 1: the batch is named by its first event before it exists.
      const batch = events.length > 1 ? (this.db.prepare('SELECT coalesce(max(id), 0) + 1 FROM label_events').pluck().get() as number) : null;
      for (const e of events) {
        const row = { suggested: '', suggestionSource: '', modelSha256: '', modelDetail: '', score: null, blinded: false, reverts: null, ...e, id: 0, at, batch };
        const r = ins.run(at, row.annotator, row.action, row.level, row.itemUid, row.group, row.field, JSON.stringify(row.value), JSON.stringify(row.previous), row.source,
          row.suggested, row.suggestionSource, row.modelSha256, row.modelDetail, row.score, row.blinded ? 1 : 0, row.reverts, batch);
        row.id = Number(r.lastInsertRowid);
        this.applyToState(row);
        out.push(row);
      }
    })();
    return out;
  }

  /** One prepared upsert per field (the column is the field's name). */
  private readonly upserts = new Map<Field, Database.Statement>();

  private applyToState(e: EventRow): void {
    let put = this.upserts.get(e.field);
    if (!put) {
      put = this.db.prepare(`INSERT INTO label_state(level, item_uid, group_key, ${e.field}, last_event) VALUES (?, ?, ?, ?, ?)
                             ON CONFLICT(level, item_uid, group_key) DO UPDATE SET ${e.field} = excluded.${e.field}, last_event = excluded.last_event`);
      this.upserts.set(e.field, put);
    }
    const v = e.field === 'flagged' ? (e.value ? 1 : 0) : e.field === 'note' ? String(e.value) : JSON.stringify(e.value);
    put.run(e.level, e.itemUid, e.group, v, e.id);
  }

  /** The state every event implies, replayed from the log: the derived table must always equal this. */
  replay(): Map<string, Omit<ItemState, 'lastEvent'>> {
    const out = new Map<string, Omit<ItemState, 'lastEvent'>>();
    for (const r of this.db.prepare('SELECT level, item_uid, group_key, field, value FROM label_events ORDER BY id').raw().iterate() as Iterable<[Level, string, string, Field, string]>) {
      const key = `${r[0]}|${r[1]}|${r[2]}`;
      const s = out.get(key) ?? { ...EMPTY };
      const v = JSON.parse(r[4]) as never;
      out.set(key, { ...s, [r[3]]: v });
    }
    return out;
  }

  derivedState(): Map<string, Omit<ItemState, 'lastEvent'>> {
    const rows = this.db.prepare('SELECT level, item_uid, group_key, labels, rejected, flagged, note FROM label_state').raw().all() as [string, string, string, string, string, number, string][];
    return new Map(rows.map((r) => [`${r[0]}|${r[1]}|${r[2]}`, { labels: JSON.parse(r[3]) as string[] | null, rejected: JSON.parse(r[4]) as string[], flagged: r[5] === 1, note: r[6] }]));
  }

  // ---- events ----

  event(id: number): EventRow | undefined {
    const r = this.db.prepare(`${EVENT_SELECT} WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
    return r ? toEvent(r) : undefined;
  }

  /** An annotator's latest events, newest first (for undo and redo). */
  recentEvents(annotator: string, limit = 500): EventRow[] {
    return (this.db.prepare(`${EVENT_SELECT} WHERE annotator = ? ORDER BY id DESC LIMIT ?`).all(annotator, limit) as Record<string, unknown>[]).map(toEvent);
  }

  /** Every event on a study, its series and its images, oldest first. */
  studyHistory(studyId: number): EventRow[] {
    return (this.db.prepare(`${EVENT_SELECT} WHERE (level = 'study' AND item_uid = (SELECT study_uid FROM studies WHERE id = ?))
        OR (level = 'series' AND item_uid IN (SELECT series_uid FROM series WHERE study_pk = ?))
        OR (level = 'image' AND item_uid IN (SELECT i.sop_uid FROM instances i JOIN series s ON s.id = i.series_pk WHERE s.study_pk = ?))
        ORDER BY id`).all(studyId, studyId, studyId) as Record<string, unknown>[]).map(toEvent);
  }

  eventCount(): number {
    return this.db.prepare('SELECT count(*) FROM label_events').pluck().get() as number;
  }

  // ---- progress and quality ----

  /** The labelled items of a group with the suggestion shown when their current value was decided ('' if none). */
  decisions(group: string): { labels: string[]; suggested: string; source: string }[] {
    const rows = this.db.prepare(`SELECT ls.labels, e.suggested, e.source FROM label_state ls JOIN label_events e ON e.id = ls.last_event
                                  WHERE ls.group_key = ? AND ls.labels <> 'null'`).raw().all(group) as [string, string, string][];
    return rows.map(([labels, suggested, source]) => ({ labels: JSON.parse(labels) as string[], suggested, source }));
  }

  flaggedCount(): number {
    return this.db.prepare("SELECT count(*) FROM label_state WHERE group_key = '' AND flagged = 1").pluck().get() as number;
  }

  addModelRun(r: { group: string; labels: number; source: string; adapter: number | null; zeroShot: number | null; knn: number | null; modelSha256: string }): void {
    const last = this.db.prepare('SELECT labels FROM label_model_runs WHERE group_key = ? ORDER BY id DESC LIMIT 1').pluck().get(r.group) as number | undefined;
    if (last === r.labels) return;
    this.db.prepare('INSERT INTO label_model_runs(group_key, labels, source, adapter_accuracy, zero_shot_accuracy, knn_accuracy, model_sha256, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(r.group, r.labels, r.source, r.adapter, r.zeroShot, r.knn, r.modelSha256, new Date().toISOString());
  }

  modelRuns(group: string): { labels: number; source: string; adapter: number | null; zeroShot: number | null; knn: number | null }[] {
    return this.db.prepare(`SELECT labels, source, adapter_accuracy AS adapter, zero_shot_accuracy AS zeroShot, knn_accuracy AS knn
                            FROM label_model_runs WHERE group_key = ? ORDER BY id`).all(group) as { labels: number; source: string; adapter: number | null; zeroShot: number | null; knn: number | null }[];
  }
}
