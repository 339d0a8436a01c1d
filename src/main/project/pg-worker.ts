// The shared label store's worker thread: owns the PostgreSQL connections of one open project.
// - Requests from the main thread (open, append, schema, pull) arrive on a MessagePort while the main thread waits
//   on a shared flag (shared-label-store.ts): a label is acknowledged only once the server committed it. They run
//   one at a time on the writer connection; a connection lost mid-request is reopened and the request retried with
//   the same request id until its deadline (a server restart costs a delay, not a label).
// - A second connection LISTENs for commits of other workstations and polls once a second in case a notification
//   was missed, and posts the new events to the main thread, which applies them to its local replica.
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import pg from 'pg';
import type { LogDraft } from './label-log.ts';
import { NOTIFY_CHANNEL, appendEvents, appendSchema, ensurePgSchema, eventsAfter, lastEventId, projectExists, schemasAfter } from './pg-log.ts';
import type { SchemaRow } from './pg-log.ts';
import { READING_KINDS, advanceCursor, appendReading, emptyReadingRows, readingAfter, readingCount } from './pg-reading.ts';
import type { ReadingCursor, ReadingDraft, ReadingRows } from './pg-reading.ts';

export interface PgWorkerData { url: string; where: string; project: string; port: MessagePort; flag: Int32Array; after: { events: number; schemas: number } }

export type PgRequest =
  | { kind: 'open'; checkId: number }
  | { kind: 'append'; requestId: string; drafts: LogDraft[]; after: { events: number; schemas: number } }
  | { kind: 'schema'; schema: Omit<SchemaRow, 'id'>; after: number }
  | { kind: 'pull'; after: { events: number; schemas: number } }
  | { kind: 'reading-append'; requestId: string; draft: ReadingDraft; after: ReadingCursor }
  | { kind: 'reading-pull'; after: ReadingCursor };

/** What the worker posts on its own: new rows from the server, or a change in whether it can be reached. */
export type PgNotice =
  | { kind: 'rows'; rows: Awaited<ReturnType<typeof eventsAfter>>; schemas: SchemaRow[] }
  | { kind: 'reading'; rows: ReadingRows }
  | { kind: 'status'; online: boolean; message: string };

const data = workerData as PgWorkerData;
const port = data.port;
const cursor = { ...data.after };
/** The reading rows the main thread has (null until it first asks for them: a project may not use reader studies). */
let readingCursor: ReadingCursor | null = null;
/** After a request: the main thread has every reading row up to `after` and those returned to it. */
function seenReading(after: ReadingCursor, rows: ReadingRows): void {
  const base = { ...after };
  if (readingCursor) for (const k of READING_KINDS) base[k] = Math.max(base[k], readingCursor[k]);
  readingCursor = advanceCursor(base, rows);
}
let schemaReady = false;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Errors after which the same request may succeed on a new connection (server restarting, connection cut). */
function transient(e: unknown): boolean {
  const code = String((e as { code?: unknown }).code ?? '');
  if (/^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTCONN|57P0[123]|08\d\d\d)$/.test(code)) return true;
  return /Connection terminated|not queryable|timeout exceeded when trying to connect|connection error|the database system is (starting up|shutting down)/i.test((e as Error).message ?? '');
}

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: data.url, connectionTimeoutMillis: 3000, application_name: 'lightbox', keepAlive: true });
  // An idle connection that drops emits 'error'; the next query on it fails and is retried on a new one.
  c.on('error', () => {});
  await c.connect();
  if (!schemaReady) {
    await ensurePgSchema(c);
    schemaReady = true;
  }
  return c;
}

let writer: pg.Client | null = null;

async function withWriter<T>(deadline: number, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      writer ??= await connect();
      return await fn(writer);
    } catch (e) {
      if (!transient(e)) throw e;
      writer?.end().catch(() => {});
      writer = null;
      if (Date.now() + 300 > deadline) throw new Error(`the PostgreSQL server at ${data.where} is not answering (${(e as Error).message})`);
      await sleep(Math.min(1000, 100 * 2 ** attempt));
    }
  }
}

async function handle(r: PgRequest, deadline: number): Promise<unknown> {
  switch (r.kind) {
    case 'open':
      return withWriter(deadline, async (c) => {
        const exists = await projectExists(c, data.project);
        const last = exists ? await lastEventId(c, data.project) : 0;
        const at = exists && r.checkId > 0 ? (await eventsAfter(c, data.project, r.checkId - 1, 1))[0] ?? null : null;
        return { exists, last, at };
      });
    case 'append': {
      const out = await withWriter(deadline, (c) => appendEvents(c, data.project, r.requestId, r.drafts, r.after));
      if (out.rows.length) cursor.events = Math.max(cursor.events, out.rows[out.rows.length - 1]!.id);
      if (out.schemas.length) cursor.schemas = Math.max(cursor.schemas, out.schemas[out.schemas.length - 1]!.id);
      return out;
    }
    case 'schema': {
      const out = await withWriter(deadline, (c) => appendSchema(c, data.project, r.schema, r.after));
      cursor.schemas = Math.max(cursor.schemas, out.id);
      return out;
    }
    case 'pull':
      return withWriter(deadline, async (c) => ({ rows: await eventsAfter(c, data.project, r.after.events), schemas: await schemasAfter(c, data.project, r.after.schemas) }));
    case 'reading-append': {
      const out = await withWriter(deadline, (c) => appendReading(c, data.project, r.requestId, r.draft, r.after));
      seenReading(r.after, out.rows);
      return out;
    }
    case 'reading-pull': {
      // From now on the watcher brings reading rows too, also when this first pull fails (the server is away).
      seenReading(r.after, emptyReadingRows());
      const rows = await withWriter(deadline, (c) => readingAfter(c, data.project, r.after));
      seenReading(r.after, rows);
      return rows;
    }
  }
}

// One request at a time on the writer connection: a request the main thread gave up on (timeout) may still be
// running when the next arrives.
let queue: Promise<void> = Promise.resolve();
port.on('message', (m: { seq: number; deadline: number; request: PgRequest }) => {
  queue = queue.then(async () => {
    let reply: unknown;
    try {
      reply = { seq: m.seq, ok: true, body: await handle(m.request, m.deadline) };
    } catch (e) {
      reply = { seq: m.seq, ok: false, message: (e as Error).message, code: (e as { code?: string }).code ?? '' };
    }
    port.postMessage(reply);
    Atomics.store(data.flag, 0, 1);
    Atomics.notify(data.flag, 0);
  });
});

// ---- watching for other workstations' commits ----

let watcher: pg.Client | null = null;
let online = true;
let polling = false;
let again = false;

function status(up: boolean, message: string): void {
  if (up === online) return;
  online = up;
  parentPort!.postMessage({ kind: 'status', online: up, message } satisfies PgNotice);
}

async function poll(): Promise<void> {
  if (polling) { again = true; return; }
  polling = true;
  try {
    do {
      again = false;
      try {
        if (!watcher) {
          const c = await connect();
          c.on('notification', (n) => { if (n.payload === data.project) void poll(); });
          c.on('error', () => { if (watcher === c) watcher = null; });
          c.on('end', () => { if (watcher === c) watcher = null; });
          await c.query(`LISTEN ${NOTIFY_CHANNEL}`);
          watcher = c;
        }
        const rows = await eventsAfter(watcher, data.project, cursor.events);
        const schemas = await schemasAfter(watcher, data.project, cursor.schemas);
        status(true, '');
        if (rows.length || schemas.length) {
          if (rows.length) cursor.events = rows[rows.length - 1]!.id;
          if (schemas.length) cursor.schemas = schemas[schemas.length - 1]!.id;
          parentPort!.postMessage({ kind: 'rows', rows, schemas } satisfies PgNotice);
        }
        if (readingCursor) {
          const reading = await readingAfter(watcher, data.project, readingCursor);
          if (readingCount(reading)) {
            readingCursor = advanceCursor(readingCursor, reading);
            parentPort!.postMessage({ kind: 'reading', rows: reading } satisfies PgNotice);
          }
        }
      } catch (e) {
        watcher?.end().catch(() => {});
        watcher = null;
        status(false, `the PostgreSQL server at ${data.where} is not answering (${(e as Error).message}); labels from other workstations will show once it is back`);
      }
    } while (again);
  } finally {
    polling = false;
  }
}

setInterval(() => void poll(), 1000);
void poll();
