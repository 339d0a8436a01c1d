// A project whose labels live in a shared PostgreSQL store (several workstations label one data set).
// The server's log is the record; the project's lightbox.db keeps a replica of it (same event ids), so every read —
// worklists, suggestions, statistics, exports — stays a synchronous local query, as for a one-workstation project.
// A write is acknowledged only once the server committed it: the main thread hands it to the label-store worker and
// waits (Atomics.wait on a shared flag) for the commit, its reply carrying every event the replica lacked. Events
// from other workstations arrive through LISTEN/NOTIFY (and a poll each second) and are applied as they come.
// What is selected per project: the setting `label_store` in the project's meta, holding the server's URL (never a
// password: that comes from ~/.pgpass or PGPASSWORD) and the shared project's key.
import { randomUUID } from 'node:crypto';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { LightboxError } from '../../shared/contract.ts';
import { workerUrl } from '../inference/worker-rpc.ts';
import type { LogDraft, LogRow } from './label-log.ts';
import type { AppendReply, SchemaRow } from './pg-log.ts';
import { READING_KINDS, emptyReadingRows, readingCount } from './pg-reading.ts';
import type { ReadingCursor, ReadingDraft, ReadingKind, ReadingReply, ReadingRows } from './pg-reading.ts';
import type { PgNotice, PgRequest, PgWorkerData } from './pg-worker.ts';

export interface SharedStoreConfig { kind: 'postgres'; url: string; project: string }

export const STORE_SETTING = 'label_store';
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** The server as a user may see it in messages: host, port and database, without user or options. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    return 'the configured server';
  }
}

/** Checks a store setting from a user (CLI) or a project: a postgres URL without a password, and a key. */
export function checkStoreConfig(url: string, project: string): SharedStoreConfig {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LightboxError('bad-request', `label store: "${url}" is not a PostgreSQL URL; write it as postgres://user@host:port/database`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new LightboxError('bad-request', `label store: the URL must start with postgres://, not ${u.protocol}//`);
  if (u.password || /[?&]password=/i.test(u.search)) {
    throw new LightboxError('bad-request', 'label store: the URL holds a password, which would be stored in the project; remove it and put it in ~/.pgpass (or PGPASSWORD) instead');
  }
  if (!KEY.test(project)) throw new LightboxError('bad-request', `label store: the shared project name "${project}" must be letters, digits, ".", "_" or "-" (up to 100, starting with a letter or digit)`);
  return { kind: 'postgres', url, project };
}

export function parseStoreSetting(raw: string | null): SharedStoreConfig | null {
  if (!raw) return null;
  const v = JSON.parse(raw) as Partial<SharedStoreConfig>;
  if (v.kind !== 'postgres' || typeof v.url !== 'string' || typeof v.project !== 'string') throw new Error(`the project's label_store setting is not understood: ${raw}`);
  return checkStoreConfig(v.url, v.project);
}

/** The local replica the shared log writes into (the project's LabelRepository). */
export interface Replica {
  lastEventId(): number;
  lastSchemaId(): number;
  logRow(id: number): LogRow | undefined;
  /** Inserts rows continuing the replica's log (ids lastEventId()+1…) and schema versions; one transaction. */
  applyReplica(rows: readonly LogRow[], schemas: readonly SchemaRow[]): void;
}

/** The local replica of the reader studies (the project's ReaderRepository). */
export interface ReadingReplica {
  readingCursor(): ReadingCursor;
  applyReading(rows: ReadingRows): void;
}

/** What reaches the rest of the app when other workstations' events (or schema versions) arrive. */
export type ForeignChanges = (rows: readonly LogRow[], schemasChanged: boolean) => void;

const OPEN_MS = 6_000;
const WRITE_MS = 12_000;

export class SharedLabelLog {
  readonly config: SharedStoreConfig;
  readonly where: string;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag: Int32Array;
  private readonly replica: Replica;
  private readonly onForeign: ForeignChanges;
  private seq = 0;
  private online = true;
  private message = '';
  private closed = false;
  private reading: { replica: ReadingReplica; onForeign: () => void } | null = null;

  constructor(config: SharedStoreConfig, replica: Replica, onForeign: ForeignChanges) {
    this.config = config;
    this.where = describeUrl(config.url);
    this.replica = replica;
    this.onForeign = onForeign;
    this.flag = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const wd: PgWorkerData = { url: config.url, where: this.where, project: config.project, port: port2, flag: this.flag, after: this.cursor() };
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    this.worker = new Worker(workerUrl('pg-worker', import.meta.url), { name: 'label-store', execArgv, workerData: wd, transferList: [port2] });
    this.worker.unref();
    this.worker.on('message', (n: PgNotice) => this.notice(n));
    this.worker.on('error', (e) => { this.online = false; this.message = `the label-store worker failed: ${e.message}`; });
  }

  /**
   * Connects and checks that this replica is a prefix of the server's log (the same event at its last id);
   * an unreachable server leaves the project open with its replica readable and writes refused until it is back.
   */
  open(): void {
    const last = this.replica.lastEventId();
    let r: { exists: boolean; last: number; at: LogRow | null };
    try {
      r = this.call<typeof r>({ kind: 'open', checkId: last }, OPEN_MS);
    } catch (e) {
      this.online = false;
      this.message = (e as Error).message;
      return;
    }
    if (!r.exists) throw new LightboxError('not-found', `label store: there is no shared project "${this.config.project}" at ${this.where}; create it with "lightbox store migrate --to postgres"`);
    const mine = last > 0 ? this.replica.logRow(last) : undefined;
    const same = (a: LogRow | null | undefined, b: LogRow | undefined): boolean => !!a && !!b && [a.at, a.annotator, a.item_uid, a.field, a.value].join('|') === [b.at, b.annotator, b.item_uid, b.field, b.value].join('|');
    if (r.last < last || (last > 0 && !same(r.at, mine))) {
      throw new LightboxError('conflict', `label store: this project's labels (event ${last}) do not match the shared project "${this.config.project}" at ${this.where} (${r.last} events); attach a fresh copy of the project instead (lightbox store attach)`);
    }
    this.pull();
  }

  status(): { kind: 'postgres'; where: string; project: string; online: boolean; message: string; lastEventId: number } {
    return { kind: 'postgres', where: this.where, project: this.config.project, online: this.online, message: this.message, lastEventId: this.replica.lastEventId() };
  }

  private cursor(): { events: number; schemas: number } {
    return { events: this.replica.lastEventId(), schemas: this.replica.lastSchemaId() };
  }

  /** Sends one request and blocks this thread until the worker answers or `ms` pass. */
  private call<T>(request: PgRequest, ms: number): T {
    if (this.closed) throw new LightboxError('unavailable', 'label store: the project is closing');
    const seq = ++this.seq;
    const end = Date.now() + ms;
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ seq, deadline: end - 500, request });
    for (;;) {
      for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
        const reply = m.message as { seq: number; ok: boolean; body?: unknown; message?: string; code?: string };
        if (reply.seq !== seq) continue; // the late answer to a request given up on
        if (!reply.ok) {
          this.online = !/not answering/.test(reply.message ?? '');
          if (!this.online) this.message = reply.message ?? '';
          throw new LightboxError(this.online ? 'internal' : 'unavailable', `label store: ${reply.message}`);
        }
        this.online = true;
        this.message = '';
        return reply.body as T;
      }
      const left = end - Date.now();
      if (left <= 0) {
        this.online = false;
        this.message = `the PostgreSQL server at ${this.where} did not answer within ${Math.round(ms / 1000)} s`;
        throw new LightboxError('unavailable', `label store: ${this.message}; the change may not be saved — it shows once the server answers`);
      }
      Atomics.wait(this.flag, 0, 0, left);
      Atomics.store(this.flag, 0, 0);
    }
  }

  /** Rows from the server: those continuing the replica are applied, older ones skipped, a gap fetched first. */
  private take(rows: readonly LogRow[], schemas: readonly SchemaRow[], own: ReadonlySet<number> = new Set(), ownSchema = 0): void {
    const last = this.replica.lastEventId();
    const fresh = rows.filter((r) => r.id > last);
    const lastSchema = this.replica.lastSchemaId();
    const newSchemas = schemas.filter((s) => s.id > lastSchema);
    if ((fresh.length && fresh[0]!.id !== last + 1) || (newSchemas.length && newSchemas[0]!.id !== lastSchema + 1)) {
      this.pull();
      return;
    }
    if (fresh.length === 0 && newSchemas.length === 0) return;
    this.replica.applyReplica(fresh, newSchemas);
    const foreign = fresh.filter((r) => !own.has(r.id));
    const foreignSchemas = newSchemas.some((x) => x.id !== ownSchema);
    if (foreign.length || foreignSchemas) this.onForeign(foreign, foreignSchemas);
  }

  private notice(n: PgNotice): void {
    if (this.closed) return;
    if (n.kind === 'status') {
      this.online = n.online;
      this.message = n.message;
      return;
    }
    try {
      if (n.kind === 'reading') this.takeReading(n.rows);
      else this.take(n.rows, n.schemas);
    } catch (e) {
      this.message = `label store: could not apply other workstations' labels: ${(e as Error).message}`;
    }
  }

  /** Brings the replica up to the server's log now. */
  pull(): void {
    const r = this.call<{ rows: LogRow[]; schemas: SchemaRow[] }>({ kind: 'pull', after: this.cursor() }, OPEN_MS);
    this.take(r.rows, r.schemas);
  }

  /** Appends events on the server (all or none) and returns their ids once committed and in the replica. */
  append(drafts: LogDraft[]): number[] {
    const r = this.call<AppendReply>({ kind: 'append', requestId: randomUUID(), drafts, after: this.cursor() }, WRITE_MS);
    this.take(r.rows, r.schemas, new Set(r.ok ? r.ids : []));
    if (!r.ok) {
      const d = drafts[r.conflict.index]!;
      const by = r.conflict.by ? ` by ${r.conflict.by}${r.conflict.at ? ` at ${r.conflict.at}` : ''}` : '';
      throw new LightboxError('conflict', `labels: the ${d.field} of ${d.level} ${d.item_uid}${d.group_key ? ` ("${d.group_key}")` : ''} was changed${by} on another workstation; nothing was saved${drafts.length > 1 ? ` (of ${drafts.length} changes)` : ''}; look again`);
    }
    return r.ids;
  }

  appendSchema(s: Omit<SchemaRow, 'id'>): number {
    const r = this.call<{ id: number; schemas: SchemaRow[] }>({ kind: 'schema', schema: s, after: this.replica.lastSchemaId() }, WRITE_MS);
    this.take([], r.schemas, new Set(), r.id);
    return r.id;
  }

  /**
   * Shares the project's readers and reading studies through the server too: brings the replica up to date now
   * (when the server answers; else once it is back), then keeps it current as other workstations write.
   */
  attachReading(replica: ReadingReplica, onForeign: () => void): void {
    this.reading = { replica, onForeign };
    try {
      this.pullReading();
    } catch (e) {
      if (!(e instanceof LightboxError && e.code === 'unavailable')) throw e;
    }
  }

  private pullReading(): void {
    const r = this.call<ReadingRows>({ kind: 'reading-pull', after: this.reading!.replica.readingCursor() }, OPEN_MS);
    this.takeReading(r, null, true);
  }

  /** Reading rows from the server: those continuing the replica are applied, older ones skipped, a gap fetched first. */
  private takeReading(rows: ReadingRows, own: { kind: ReadingKind; id: number } | null = null, pulled = false): void {
    if (!this.reading) return;
    const cur = this.reading.replica.readingCursor();
    const fresh = emptyReadingRows();
    for (const k of READING_KINDS) {
      fresh[k] = rows[k].filter((r) => r.id > cur[k]);
      if (fresh[k].length && fresh[k][0]!.id !== cur[k] + 1) {
        if (pulled) throw new LightboxError('internal', `label store: the server's ${k} rows after ${cur[k]} start at ${fresh[k][0]!.id}`);
        this.pullReading();
        return;
      }
    }
    if (readingCount(fresh) === 0) return;
    this.reading.replica.applyReading(fresh);
    if (READING_KINDS.some((k) => fresh[k].some((r) => !(own && own.kind === k && own.id === r.id)))) this.reading.onForeign();
  }

  /** Appends one reading row on the server and returns its id once committed and in the replica. */
  appendReading(d: ReadingDraft): number {
    if (!this.reading) throw new LightboxError('internal', 'label store: reader studies are not attached to the shared store');
    const r = this.call<ReadingReply>({ kind: 'reading-append', requestId: randomUUID(), draft: d, after: this.reading.replica.readingCursor() }, WRITE_MS);
    this.takeReading(r.rows, r.ok ? { kind: d.kind, id: r.id } : null);
    if (!r.ok) throw new LightboxError('conflict', `${r.refused}; nothing was saved`);
    return r.id;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.port.close();
    await this.worker.terminate();
  }
}
