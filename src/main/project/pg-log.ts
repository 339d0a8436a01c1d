// The shared label store's SQL: the label log, its derived state and the schema versions of each shared project in
// one PostgreSQL database. Async functions over a `pg` client; the workstation runs them in the label-store worker
// (pg-worker.ts), the migration and the tests run them directly.
//
// Rules kept by the database, not only by this code:
// - lightbox_label_events and lightbox_label_schemas are append-only: triggers refuse UPDATE, DELETE and TRUNCATE.
// - Appends to one project are serialised by a transaction-level advisory lock, so event ids are gapless and every
//   workstation replays the same order.
// - An event applies only if its `previous` equals the field's current value on the server, checked in the same
//   transaction: a stale accept (the reader saw a value another workstation has since changed) is refused, per event.
// - Each append names a request id; a retry after a lost reply finds the rows already written instead of doubling them.
import type pg from 'pg';
import { EMPTY_STATE, LOG_COLUMNS, currentText } from './label-log.ts';
import { READING_DDL, copyReading, emptyReadingRows } from './pg-reading.ts';
import type { ReadingRows } from './pg-reading.ts';
import type { LogDraft, LogField, LogRow } from './label-log.ts';

export interface SchemaRow { id: number; schema: string; annotator: string; at: string }

export interface LogConflict { index: number; current: string; by: string; at: string }

export type AppendReply =
  | { ok: true; ids: number[]; rows: LogRow[]; schemas: SchemaRow[] }
  | { ok: false; conflict: LogConflict; rows: LogRow[]; schemas: SchemaRow[] };

const SCHEMA_VERSION = '1';

const DDL = `
CREATE TABLE IF NOT EXISTS lightbox_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS lightbox_projects (
  key text PRIMARY KEY CHECK (key ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL
);
CREATE TABLE IF NOT EXISTS lightbox_label_events (
  project text NOT NULL REFERENCES lightbox_projects(key),
  id bigint NOT NULL CHECK (id > 0),
  request_id text NOT NULL,
  at text NOT NULL,
  annotator text NOT NULL,
  action text NOT NULL CHECK (action IN ('set', 'accept', 'bulk-accept', 'reject', 'clear', 'flag', 'note', 'undo', 'redo', 'import')),
  level text NOT NULL CHECK (level IN ('study', 'series', 'image')),
  item_uid text NOT NULL,
  group_key text NOT NULL,
  field text NOT NULL CHECK (field IN ('labels', 'rejected', 'flagged', 'note')),
  value text NOT NULL,
  previous text NOT NULL,
  source text NOT NULL CHECK (source IN ('manual', 'suggestion', 'bulk', 'imported')),
  suggested text NOT NULL DEFAULT '',
  suggestion_source text NOT NULL DEFAULT '',
  model_sha256 text NOT NULL DEFAULT '',
  model_detail text NOT NULL DEFAULT '',
  score double precision,
  blinded smallint NOT NULL DEFAULT 0 CHECK (blinded IN (0, 1)),
  reverts bigint,
  batch bigint,
  PRIMARY KEY (project, id)
);
CREATE INDEX IF NOT EXISTS lightbox_label_events_request ON lightbox_label_events(project, request_id);
CREATE TABLE IF NOT EXISTS lightbox_label_state (
  project text NOT NULL REFERENCES lightbox_projects(key),
  level text NOT NULL,
  item_uid text NOT NULL,
  group_key text NOT NULL,
  field text NOT NULL,
  value text NOT NULL,
  last_event bigint NOT NULL,
  PRIMARY KEY (project, level, item_uid, group_key, field)
);
CREATE TABLE IF NOT EXISTS lightbox_label_schemas (
  project text NOT NULL REFERENCES lightbox_projects(key),
  id bigint NOT NULL CHECK (id > 0),
  schema text NOT NULL,
  annotator text NOT NULL,
  at text NOT NULL,
  PRIMARY KEY (project, id)
);
CREATE OR REPLACE FUNCTION lightbox_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: record a new event instead', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE TRIGGER lightbox_label_events_append_only BEFORE UPDATE OR DELETE ON lightbox_label_events
  FOR EACH ROW EXECUTE FUNCTION lightbox_append_only();
CREATE OR REPLACE TRIGGER lightbox_label_events_no_truncate BEFORE TRUNCATE ON lightbox_label_events
  FOR EACH STATEMENT EXECUTE FUNCTION lightbox_append_only();
CREATE OR REPLACE TRIGGER lightbox_label_schemas_append_only BEFORE UPDATE OR DELETE ON lightbox_label_schemas
  FOR EACH ROW EXECUTE FUNCTION lightbox_append_only();
CREATE OR REPLACE TRIGGER lightbox_label_schemas_no_truncate BEFORE TRUNCATE ON lightbox_label_schemas
  FOR EACH STATEMENT EXECUTE FUNCTION lightbox_append_only();
INSERT INTO lightbox_meta(key, value) VALUES ('schema_version', '${SCHEMA_VERSION}') ON CONFLICT (key) DO NOTHING;
`;

/** The channel every commit is announced on (payload: the project's key). */
export const NOTIFY_CHANNEL = 'lightbox_labels';

/** Creates the tables once per database; several workstations starting at once take turns. */
export async function ensurePgSchema(c: pg.ClientBase): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query("SELECT pg_advisory_xact_lock(hashtext('lightbox:ddl'))");
    const have = await c.query("SELECT to_regclass('lightbox_meta') IS NOT NULL AS t");
    if (have.rows[0].t) {
      const v = await c.query("SELECT value FROM lightbox_meta WHERE key = 'schema_version'");
      const found = v.rows[0]?.value as string | undefined;
      if (found && found !== SCHEMA_VERSION) throw new Error(`the database's Lightbox tables are version ${found}; this Lightbox knows version ${SCHEMA_VERSION}: update Lightbox on this workstation`);
    }
    await c.query(DDL);
    // Read at call time: pg-reading.ts imports this module too.
    await c.query(READING_DDL);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

export async function projectExists(c: pg.ClientBase, project: string): Promise<boolean> {
  return ((await c.query('SELECT 1 FROM lightbox_projects WHERE key = $1', [project])).rowCount ?? 0) > 0;
}

const SELECT_EVENTS = `SELECT ${LOG_COLUMNS.join(', ')} FROM lightbox_label_events`;

function toRow(r: Record<string, unknown>): LogRow {
  return {
    ...(r as unknown as LogRow),
    id: Number(r.id), score: r.score === null ? null : Number(r.score), blinded: Number(r.blinded),
    reverts: r.reverts === null ? null : Number(r.reverts), batch: r.batch === null ? null : Number(r.batch),
  };
}

/** The project's events after `after`, in id order (at most `limit`). */
export async function eventsAfter(c: pg.ClientBase, project: string, after: number, limit = 50_000): Promise<LogRow[]> {
  const r = await c.query(`${SELECT_EVENTS} WHERE project = $1 AND id > $2 ORDER BY id LIMIT $3`, [project, after, limit]);
  return r.rows.map(toRow);
}

export async function schemasAfter(c: pg.ClientBase, project: string, after: number): Promise<SchemaRow[]> {
  const r = await c.query('SELECT id, schema, annotator, at FROM lightbox_label_schemas WHERE project = $1 AND id > $2 ORDER BY id', [project, after]);
  return r.rows.map((x) => ({ ...x, id: Number(x.id) }) as SchemaRow);
}

export async function lastEventId(c: pg.ClientBase, project: string): Promise<number> {
  return Number((await c.query('SELECT coalesce(max(id), 0) AS n FROM lightbox_label_events WHERE project = $1', [project])).rows[0].n);
}

const keyOf = (d: { level: string; item_uid: string; group_key: string; field: string }): string => JSON.stringify([d.level, d.item_uid, d.group_key, d.field]);

/** Columns of an event insert, in order, with the SQL type of each unnest array. */
const INSERT_COLS: [keyof LogRow | 'project' | 'request_id', string][] = [
  ['project', 'text'], ['id', 'bigint'], ['request_id', 'text'], ['at', 'text'], ['annotator', 'text'], ['action', 'text'], ['level', 'text'], ['item_uid', 'text'],
  ['group_key', 'text'], ['field', 'text'], ['value', 'text'], ['previous', 'text'], ['source', 'text'], ['suggested', 'text'], ['suggestion_source', 'text'],
  ['model_sha256', 'text'], ['model_detail', 'text'], ['score', 'float8'], ['blinded', 'int2'], ['reverts', 'bigint'], ['batch', 'bigint'],
];

async function insertRows(c: pg.ClientBase, project: string, rows: (LogRow & { request_id: string })[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 5000) {
    const part = rows.slice(i, i + 5000);
    const arrays = INSERT_COLS.map(([col]) => part.map((r) => (col === 'project' ? project : (r as unknown as Record<string, unknown>)[col])));
    await c.query(`INSERT INTO lightbox_label_events(${INSERT_COLS.map(([n]) => n).join(', ')})
      SELECT * FROM unnest(${INSERT_COLS.map(([, t], k) => `$${k + 1}::${t}[]`).join(', ')})`, arrays);
  }
}

async function upsertState(c: pg.ClientBase, project: string, state: Map<string, { value: string; last: number }>): Promise<void> {
  const entries = [...state.entries()];
  for (let i = 0; i < entries.length; i += 5000) {
    const part = entries.slice(i, i + 5000).map(([k, v]) => [...(JSON.parse(k) as string[]), v.value, v.last] as const);
    await c.query(`INSERT INTO lightbox_label_state(project, level, item_uid, group_key, field, value, last_event)
      SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
      ON CONFLICT (project, level, item_uid, group_key, field) DO UPDATE SET value = excluded.value, last_event = excluded.last_event`,
    [project, ...[0, 1, 2, 3, 4, 5].map((j) => part.map((p) => p[j]))]);
  }
}

/** Runs fn in a transaction holding the project's advisory lock (appends to one project take turns). */
export async function inTransaction<T>(c: pg.ClientBase, project: string, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    await c.query("SELECT pg_advisory_xact_lock(hashtext('lightbox:' || $1))", [project]);
    const out = await fn();
    await c.query('COMMIT');
    return out;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/**
 * Appends events as one transaction (numbered after the project's last event; a batch of several is named by its
 * first id), or refuses them all if one event's `previous` is not the field's value now. The reply carries every
 * event and schema after the caller's `after` cursors, so its replica catches up in the same round trip.
 */
export async function appendEvents(c: pg.ClientBase, project: string, requestId: string, drafts: LogDraft[], after: { events: number; schemas: number }): Promise<AppendReply> {
  const catchUp = async (): Promise<{ rows: LogRow[]; schemas: SchemaRow[] }> => ({ rows: await eventsAfter(c, project, after.events), schemas: await schemasAfter(c, project, after.schemas) });
  const written = await inTransaction(c, project, async (): Promise<{ ids: number[] } | { conflict: LogConflict }> => {
    const done = await c.query('SELECT id FROM lightbox_label_events WHERE project = $1 AND request_id = $2 ORDER BY id', [project, requestId]);
    if (done.rowCount) return { ids: done.rows.map((r) => Number(r.id)) };
    const first = (await lastEventId(c, project)) + 1;
    const keys = [...new Map(drafts.map((d) => [keyOf(d), d])).values()];
    const cur = await c.query(`SELECT s.level, s.item_uid, s.group_key, s.field, s.value, s.last_event, e.annotator, e.at FROM lightbox_label_state s
        JOIN lightbox_label_events e ON e.project = s.project AND e.id = s.last_event
        WHERE s.project = $1 AND (s.level, s.item_uid, s.group_key, s.field) IN (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]))`,
    [project, keys.map((k) => k.level), keys.map((k) => k.item_uid), keys.map((k) => k.group_key), keys.map((k) => k.field)]);
    const now = new Map<string, { value: string; last: number; by: string; at: string }>(cur.rows.map((r) => [keyOf(r), { value: r.value, last: Number(r.last_event), by: r.annotator, at: r.at }]));
    const batch = drafts.length > 1 ? first : null;
    const rows = drafts.map((d, i) => ({ ...d, id: first + i, batch, request_id: requestId }));
    const touched = new Map<string, { value: string; last: number }>();
    for (const [i, r] of rows.entries()) {
      const k = keyOf(r);
      const was = now.get(k);
      const current = was?.value ?? currentText(r.field as LogField, EMPTY_STATE);
      if (current !== r.previous) return { conflict: { index: i, current, by: was?.by ?? '', at: was?.at ?? '' } };
      const next = { value: r.value, last: r.id, by: r.annotator, at: r.at };
      now.set(k, next);
      touched.set(k, next);
    }
    await insertRows(c, project, rows);
    await upsertState(c, project, touched);
    await c.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, project]);
    return { ids: rows.map((r) => r.id) };
  });
  const caught = await catchUp();
  return 'conflict' in written ? { ok: false, conflict: written.conflict, ...caught } : { ok: true, ids: written.ids, ...caught };
}

/** Appends a schema version (ids are shared by every workstation of the project); a retried append finds its row. */
export async function appendSchema(c: pg.ClientBase, project: string, s: Omit<SchemaRow, 'id'>, afterSchemas: number): Promise<{ id: number; schemas: SchemaRow[] }> {
  const id = await inTransaction(c, project, async () => {
    const done = await c.query('SELECT id FROM lightbox_label_schemas WHERE project = $1 AND at = $2 AND annotator = $3 AND schema = $4', [project, s.at, s.annotator, s.schema]);
    if (done.rowCount) return Number(done.rows[0].id);
    const next = Number((await c.query('SELECT coalesce(max(id), 0) + 1 AS n FROM lightbox_label_schemas WHERE project = $1', [project])).rows[0].n);
    await c.query('INSERT INTO lightbox_label_schemas(project, id, schema, annotator, at) VALUES ($1, $2, $3, $4, $5)', [project, next, s.schema, s.annotator, s.at]);
    await c.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, project]);
    return next;
  });
  return { id, schemas: await schemasAfter(c, project, afterSchemas) };
}

/**
 * Creates a shared project from a whole label log (a SQLite project's events and schemas, and its readers and
 * reading studies, ids kept), in one
 * transaction: the project appears complete or not at all.
 */
export async function createProjectFromLog(c: pg.ClientBase, project: string, createdBy: string, rows: LogRow[], schemas: SchemaRow[], reading: ReadingRows = emptyReadingRows()): Promise<void> {
  await inTransaction(c, project, async () => {
    if (await projectExists(c, project)) throw new Error(`a shared project "${project}" already exists in this database; choose another name, or attach this project to it (lightbox store attach)`);
    await c.query('INSERT INTO lightbox_projects(key, created_by) VALUES ($1, $2)', [project, createdBy]);
    rows.forEach((r, i) => { if (r.id !== i + 1) throw new Error(`the label log's event ids are not 1..${rows.length} (event ${i + 1} is ${r.id}); nothing was copied`); });
    await insertRows(c, project, rows.map((r) => ({ ...r, request_id: `migrated:${r.id}` })));
    const state = new Map<string, { value: string; last: number }>();
    for (const r of rows) state.set(keyOf(r), { value: r.value, last: r.id });
    await upsertState(c, project, state);
    for (const s of schemas) await c.query('INSERT INTO lightbox_label_schemas(project, id, schema, annotator, at) VALUES ($1, $2, $3, $4, $5)', [project, s.id, s.schema, s.annotator, s.at]);
    await copyReading(c, project, reading);
  });
}

/** The server's derived state of a project as label-log StateRows (for "the state equals a replay of the log"). */
export async function serverState(c: pg.ClientBase, project: string): Promise<Map<string, { labels: string; rejected: string; flagged: number; note: string }>> {
  const r = await c.query('SELECT level, item_uid, group_key, field, value FROM lightbox_label_state WHERE project = $1', [project]);
  const out = new Map<string, { labels: string; rejected: string; flagged: number; note: string }>();
  for (const x of r.rows) {
    const k = `${x.level}|${x.item_uid}|${x.group_key}`;
    const s = out.get(k) ?? { ...EMPTY_STATE };
    if (x.field === 'labels') s.labels = x.value;
    else if (x.field === 'rejected') s.rejected = x.value;
    else if (x.field === 'flagged') s.flagged = JSON.parse(x.value) ? 1 : 0;
    else s.note = String(JSON.parse(x.value));
    out.set(k, s);
  }
  return out;
}
