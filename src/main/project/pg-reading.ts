// Reader studies in the shared PostgreSQL store: readers, reading studies, each reader's reads, adjudications and
// unblindings of a shared project, so that a team reads one study from several workstations and the adjudicator
// sees every reader's reads once it is unblinded. Like the label log: every table is append-only (triggers in
// pg-log.ts's DDL), ids are gapless per project and table (appends take the project's advisory lock), and each
// workstation's lightbox.db keeps a replica with the same ids, so the reading screens stay local queries.
// An unblinding is a row of its own (once per study) rather than an update of the study.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { NOTIFY_CHANNEL, inTransaction } from './pg-log.ts';

export type ReadingKind = 'reader' | 'study' | 'read' | 'adjudication' | 'unblind';
export type ReadingValue = string | number;
/** One row of a reading table: its id and its columns (COLUMNS[kind]). */
export type ReadingRow = { id: number } & Record<string, ReadingValue>;
export type ReadingRows = Record<ReadingKind, ReadingRow[]>;
export type ReadingCursor = Record<ReadingKind, number>;
export interface ReadingDraft { kind: ReadingKind; row: Record<string, ReadingValue> }

export const READING_KINDS: readonly ReadingKind[] = ['reader', 'study', 'unblind', 'read', 'adjudication'];

/** Each kind's server table and columns (the same names as the local tables of schema-readers.ts). */
export const READING_TABLES: Record<ReadingKind, { table: string; columns: readonly string[]; numeric: readonly string[] }> = {
  reader: { table: 'lightbox_readers', columns: ['name', 'created_at'], numeric: [] },
  study: {
    table: 'lightbox_reading_studies',
    columns: ['name', 'group_key', 'items', 'readers', 'seed', 'repeat_share', 'created_by', 'created_at', 'blinded_to_model'],
    numeric: ['seed', 'repeat_share', 'blinded_to_model'],
  },
  unblind: { table: 'lightbox_reading_unblinds', columns: ['study_pk', 'at'], numeric: ['study_pk'] },
  read: { table: 'lightbox_reading_events', columns: ['at', 'study_pk', 'reader', 'position', 'item_uid', 'value'], numeric: ['study_pk', 'position'] },
  adjudication: { table: 'lightbox_reading_adjudications', columns: ['at', 'study_pk', 'item_uid', 'value', 'adjudicator'], numeric: ['study_pk'] },
};

export const READING_DDL = `
CREATE TABLE IF NOT EXISTS lightbox_readers (
  project text NOT NULL REFERENCES lightbox_projects(key), id bigint NOT NULL CHECK (id > 0), request_id text NOT NULL,
  name text NOT NULL, created_at text NOT NULL,
  PRIMARY KEY (project, id), UNIQUE (project, name)
);
CREATE TABLE IF NOT EXISTS lightbox_reading_studies (
  project text NOT NULL REFERENCES lightbox_projects(key), id bigint NOT NULL CHECK (id > 0), request_id text NOT NULL,
  name text NOT NULL, group_key text NOT NULL, items text NOT NULL, readers text NOT NULL, seed bigint NOT NULL,
  repeat_share double precision NOT NULL, created_by text NOT NULL, created_at text NOT NULL,
  blinded_to_model smallint NOT NULL CHECK (blinded_to_model IN (0, 1)),
  PRIMARY KEY (project, id)
);
CREATE TABLE IF NOT EXISTS lightbox_reading_unblinds (
  project text NOT NULL, id bigint NOT NULL CHECK (id > 0), request_id text NOT NULL, study_pk bigint NOT NULL, at text NOT NULL,
  PRIMARY KEY (project, id), UNIQUE (project, study_pk),
  FOREIGN KEY (project, study_pk) REFERENCES lightbox_reading_studies(project, id)
);
CREATE TABLE IF NOT EXISTS lightbox_reading_events (
  project text NOT NULL, id bigint NOT NULL CHECK (id > 0), request_id text NOT NULL, at text NOT NULL, study_pk bigint NOT NULL,
  reader text NOT NULL, position integer NOT NULL, item_uid text NOT NULL, value text NOT NULL,
  PRIMARY KEY (project, id), FOREIGN KEY (project, study_pk) REFERENCES lightbox_reading_studies(project, id)
);
CREATE TABLE IF NOT EXISTS lightbox_reading_adjudications (
  project text NOT NULL, id bigint NOT NULL CHECK (id > 0), request_id text NOT NULL, at text NOT NULL, study_pk bigint NOT NULL,
  item_uid text NOT NULL, value text NOT NULL, adjudicator text NOT NULL,
  PRIMARY KEY (project, id), FOREIGN KEY (project, study_pk) REFERENCES lightbox_reading_studies(project, id)
);
${Object.values(READING_TABLES).map(({ table }) => `
CREATE OR REPLACE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION lightbox_append_only();
CREATE OR REPLACE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION lightbox_append_only();`).join('')}
`;

export const emptyReadingRows = (): ReadingRows => ({ reader: [], study: [], unblind: [], read: [], adjudication: [] });
export const emptyReadingCursor = (): ReadingCursor => ({ reader: 0, study: 0, unblind: 0, read: 0, adjudication: 0 });

/** The cursor after `rows` (each kind's last id, or `from`'s). */
export function advanceCursor(from: ReadingCursor, rows: ReadingRows): ReadingCursor {
  const out = { ...from };
  for (const k of READING_KINDS) for (const r of rows[k]) out[k] = Math.max(out[k], r.id);
  return out;
}

export const readingCount = (rows: ReadingRows): number => READING_KINDS.reduce((n, k) => n + rows[k].length, 0);

function toRow(kind: ReadingKind, r: Record<string, unknown>): ReadingRow {
  const out: ReadingRow = { id: Number(r.id) };
  for (const c of READING_TABLES[kind].columns) out[c] = READING_TABLES[kind].numeric.includes(c) ? Number(r[c]) : String(r[c]);
  return out;
}

/**
 * Every reading row of the project after `after`, per kind in id order, from one snapshot (so a read never
 * arrives without the study it belongs to).
 */
export async function readingAfter(c: pg.ClientBase, project: string, after: ReadingCursor): Promise<ReadingRows> {
  const out = emptyReadingRows();
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    for (const k of READING_KINDS) {
      const { table, columns } = READING_TABLES[k];
      const r = await c.query(`SELECT id, ${columns.join(', ')} FROM ${table} WHERE project = $1 AND id > $2 ORDER BY id`, [project, after[k]]);
      out[k] = r.rows.map((x) => toRow(k, x));
    }
  } finally {
    await c.query('COMMIT').catch(() => {});
  }
  return out;
}

export type ReadingReply = { ok: true; id: number; rows: ReadingRows } | { ok: false; refused: string; rows: ReadingRows };

async function insert(c: pg.ClientBase, project: string, kind: ReadingKind, id: number, requestId: string, row: Record<string, ReadingValue>): Promise<void> {
  const { table, columns } = READING_TABLES[kind];
  await c.query(`INSERT INTO ${table}(project, id, request_id, ${columns.join(', ')}) VALUES (${[...columns, '', '', ''].map((_, i) => `$${i + 1}`).join(', ')})`,
    [project, id, requestId, ...columns.map((col) => row[col])]);
}

/**
 * Appends one reading row under the project's lock (id: the table's next), or finds it already written by the
 * same request (a retry after a lost reply). A second reader of the same name, or a second unblinding, is refused.
 * The reply carries every reading row after `after`, so the replica catches up in the same round trip.
 */
export async function appendReading(c: pg.ClientBase, project: string, requestId: string, d: ReadingDraft, after: ReadingCursor): Promise<ReadingReply> {
  const { table } = READING_TABLES[d.kind];
  const written = await inTransaction(c, project, async (): Promise<{ id: number } | { refused: string }> => {
    const done = await c.query(`SELECT id FROM ${table} WHERE project = $1 AND request_id = $2`, [project, requestId]);
    if (done.rowCount) return { id: Number(done.rows[0].id) };
    if (d.kind === 'reader' && (await c.query('SELECT 1 FROM lightbox_readers WHERE project = $1 AND name = $2', [project, d.row.name])).rowCount) {
      return { refused: `a reader named "${d.row.name}" already exists (made on another workstation)` };
    }
    if (d.kind === 'unblind') {
      const was = await c.query('SELECT id FROM lightbox_reading_unblinds WHERE project = $1 AND study_pk = $2', [project, d.row.study_pk]);
      if (was.rowCount) return { id: Number(was.rows[0].id) };
    }
    const id = Number((await c.query(`SELECT coalesce(max(id), 0) + 1 AS n FROM ${table} WHERE project = $1`, [project])).rows[0].n);
    await insert(c, project, d.kind, id, requestId, d.row);
    await c.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, project]);
    return { id };
  });
  const rows = await readingAfter(c, project, after);
  return 'refused' in written ? { ok: false, refused: written.refused, rows } : { ok: true, id: written.id, rows };
}

/** Copies a project's reading rows to the server, ids kept (inside the caller's transaction of the migration). */
export async function copyReading(c: pg.ClientBase, project: string, rows: ReadingRows): Promise<void> {
  for (const k of READING_KINDS) {
    rows[k].forEach((r, i) => { if (r.id <= (rows[k][i - 1]?.id ?? 0)) throw new Error(`the project's ${READING_TABLES[k].table} ids are not ascending; nothing was copied`); });
    for (const r of rows[k]) await insert(c, project, k, r.id, `migrated:${k}:${r.id}`, r);
  }
}

/** A digest of reading rows (every kind, id and column), for "the same on both sides". */
export function readingDigest(rows: ReadingRows): { readingRows: number; readingHash: string } {
  const h = createHash('sha256');
  for (const k of READING_KINDS) {
    // Unblindings by study: a replica numbers them by time, the server in the order they arrived (clocks differ).
    const list = k === 'unblind' ? [...rows[k]].sort((a, b) => Number(a.study_pk) - Number(b.study_pk)) : rows[k];
    for (const r of list) h.update(JSON.stringify([k, k === 'unblind' ? 0 : r.id, ...READING_TABLES[k].columns.map((c) => r[c])])).update('\n');
  }
  return { readingRows: readingCount(rows), readingHash: h.digest('hex') };
}
