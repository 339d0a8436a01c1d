// `lightbox store status|migrate|attach`: where a project's labels live (its own lightbox.db, or a shared
// PostgreSQL store several workstations label at once), and moving them, verified: after a move the label log on
// both sides has the same events and replays to the same state (compared as a digest), or nothing is switched.
import pg from 'pg';
import { LightboxError } from '../../shared/contract.ts';
import { Lightbox } from '../app.ts';
import { replayRows, stateHash } from '../project/label-log.ts';
import type { LogRow } from '../project/label-log.ts';
import { createProjectFromLog, ensurePgSchema, eventsAfter, projectExists, schemasAfter, serverState } from '../project/pg-log.ts';
import { emptyReadingCursor, readingAfter, readingCount, readingDigest } from '../project/pg-reading.ts';
import { STORE_SETTING, checkStoreConfig, describeUrl, parseStoreSetting } from '../project/shared-label-store.ts';
import type { SharedStoreConfig } from '../project/shared-label-store.ts';

export const STORE_USAGE = `  store status --project <dir> [--json]      where the project's labels live (lightbox.db or PostgreSQL)
  store migrate --project <dir> --to postgres --url postgres://user@host:port/db --name <shared project> [--json]
  store migrate --project <dir> --to sqlite [--json]
                                             move the labels (log, state, schema versions) into a shared
                                             PostgreSQL store or back, verified equal; password: ~/.pgpass
  store attach --project <dir> --url <postgres URL> --name <shared project> [--json]
                                             label a shared project from this workstation (the project must
                                             have no labels of its own; its images are indexed as usual)`;

type Flags = ReadonlyMap<string, string | true>;
const text = (flags: Flags, name: string): string | undefined => {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
};
function need(flags: Flags, name: string, what: string): string {
  const v = text(flags, name);
  if (v === undefined) throw new LightboxError('bad-request', `--${name} ${what} is required`);
  return v;
}

/** A log's identity: how many events, and the digest of the state it replays to. */
function digest(rows: readonly LogRow[]): { events: number; stateHash: string } {
  return { events: rows.length, stateHash: stateHash(replayRows(rows)) };
}

async function withServer<T>(cfg: SharedStoreConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: cfg.url, connectionTimeoutMillis: 5000, application_name: 'lightbox store' });
  try {
    await c.connect();
  } catch (e) {
    throw new LightboxError('unavailable', `label store: cannot reach the PostgreSQL server at ${describeUrl(cfg.url)}: ${(e as Error).message}`);
  }
  try {
    await ensurePgSchema(c);
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/** The server's whole log of a project, and the digest of its own derived state (which must equal the replay). */
async function serverLog(c: pg.Client, project: string): Promise<{ rows: LogRow[]; derivedHash: string; reading: ReturnType<typeof readingDigest> }> {
  const rows: LogRow[] = [];
  for (let part = await eventsAfter(c, project, 0); part.length; part = await eventsAfter(c, project, rows[rows.length - 1]!.id)) rows.push(...part);
  return { rows, derivedHash: stateHash(await serverState(c, project)), reading: readingDigest(await readingAfter(c, project, emptyReadingCursor())) };
}

/** Reader studies (readers, studies, reads, adjudications, unblindings) must be the same on both sides too. */
function checkReading(what: string, a: ReturnType<typeof readingDigest>, b: ReturnType<typeof readingDigest>): void {
  if (a.readingRows !== b.readingRows || a.readingHash !== b.readingHash) {
    throw new LightboxError('internal', `label store: the reader studies of ${what} differ (${a.readingRows} rows, ${a.readingHash.slice(0, 12)} against ${b.readingRows} rows, ${b.readingHash.slice(0, 12)}); the project was not switched`);
  }
}

function check(what: string, a: { events: number; stateHash: string }, b: { events: number; stateHash: string }): void {
  if (a.events !== b.events || a.stateHash !== b.stateHash) {
    throw new LightboxError('internal', `label store: ${what} differ (${a.events} events, state ${a.stateHash.slice(0, 12)} against ${b.events} events, state ${b.stateHash.slice(0, 12)}); the project was not switched`);
  }
}

function print(json: boolean, out: Record<string, unknown>, line: string): void {
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else console.log(line);
}

export async function runStoreCommand(sub: string | undefined, flags: Flags, project: string): Promise<number> {
  const json = flags.get('json') === true;
  if (sub === 'status') {
    const app = Lightbox.open(project);
    try {
      const s = app.labels.store();
      const local = digest(app.labels.repo.logRows());
      print(json, { ...s, ...local }, s.kind === 'sqlite'
        ? `labels in ${app.store.dir}/lightbox.db: ${local.events} events`
        : `labels in shared project "${s.project}" at ${s.where} (${s.online ? 'reachable' : `not reachable: ${s.message}`}); replica has ${local.events} events`);
      return 0;
    } finally {
      await app.close();
    }
  }
  if (sub === 'migrate') {
    const to = need(flags, 'to', 'postgres|sqlite');
    if (to === 'postgres') return migrateToPostgres(project, checkStoreConfig(need(flags, 'url', '<postgres URL>'), need(flags, 'name', '<shared project name>')), json);
    if (to === 'sqlite') return migrateToSqlite(project, json);
    throw new LightboxError('bad-request', `--to must be postgres or sqlite, not "${to}"`);
  }
  if (sub === 'attach') return attach(project, checkStoreConfig(need(flags, 'url', '<postgres URL>'), need(flags, 'name', '<shared project name>')), json);
  throw new LightboxError('bad-request', `store needs status, migrate or attach, not "${sub ?? ''}"`);
}

async function migrateToPostgres(project: string, cfg: SharedStoreConfig, json: boolean): Promise<number> {
  const app = Lightbox.open(project);
  try {
    if (parseStoreSetting(app.store.setting(STORE_SETTING))) throw new LightboxError('bad-request', 'label store: this project already keeps its labels in PostgreSQL (lightbox store status)');
    const rows = app.labels.repo.logRows();
    const schemas = app.labels.repo.schemaRows();
    const reading = app.readers.readingRows();
    const local = digest(rows);
    const localReading = readingDigest(reading);
    check('the log and the derived state of this project', local, { events: rows.length, stateHash: stateHash(app.labels.repo.derivedStateRows()) });
    const remote = await withServer(cfg, async (c) => {
      await createProjectFromLog(c, cfg.project, app.labels.profile().annotator, rows, schemas, reading);
      const log = await serverLog(c, cfg.project);
      return { ...digest(log.rows), derivedHash: log.derivedHash, reading: log.reading, schemas: (await schemasAfter(c, cfg.project, 0)).length };
    });
    check('the copied log and this project\'s log', remote, local);
    checkReading('the server and this project', remote.reading, localReading);
    check('the server\'s derived state and its log', { events: remote.events, stateHash: remote.derivedHash }, remote);
    if (remote.schemas !== schemas.length) throw new LightboxError('internal', `label store: ${remote.schemas} schema versions on the server, ${schemas.length} here; the project was not switched`);
    app.readers.setUnblindCursor(reading.unblind.length);
    app.store.setSetting(STORE_SETTING, JSON.stringify(cfg));
    print(json, { to: 'postgres', where: describeUrl(cfg.url), name: cfg.project, ...local, ...localReading, schemas: schemas.length },
      `moved ${local.events} label events, ${schemas.length} schema versions and ${localReading.readingRows} reader-study rows to shared project "${cfg.project}" at ${describeUrl(cfg.url)}; verified equal (state ${local.stateHash.slice(0, 12)})`);
    return 0;
  } finally {
    await app.close();
  }
}

async function migrateToSqlite(project: string, json: boolean): Promise<number> {
  const app = Lightbox.open(project);
  try {
    const cfg = parseStoreSetting(app.store.setting(STORE_SETTING));
    if (!cfg) throw new LightboxError('bad-request', 'label store: this project already keeps its labels in its own lightbox.db');
    app.labels.repo.shared!.pull();
    const local = digest(app.labels.repo.logRows());
    const localReading = readingDigest(app.readers.readingRows());
    const server = await withServer(cfg, (c) => serverLog(c, cfg.project));
    check('the shared log and this project\'s replica', local, digest(server.rows));
    checkReading('the shared project and this replica', localReading, server.reading);
    check('this project\'s derived state and its log', { events: local.events, stateHash: stateHash(app.labels.repo.derivedStateRows()) }, local);
    app.store.setSetting(STORE_SETTING, '');
    print(json, { to: 'sqlite', ...local, ...localReading }, `this project keeps its ${local.events} label events in its own lightbox.db again (verified equal to "${cfg.project}"; the shared project is left as it is)`);
    return 0;
  } finally {
    await app.close();
  }
}

async function attach(project: string, cfg: SharedStoreConfig, json: boolean): Promise<number> {
  const app = Lightbox.open(project, { create: true });
  try {
    if (parseStoreSetting(app.store.setting(STORE_SETTING))) throw new LightboxError('bad-request', 'label store: this project already keeps its labels in PostgreSQL (lightbox store status)');
    if (app.labels.repo.lastEventId() > 0) {
      throw new LightboxError('conflict', `label store: this project has ${app.labels.repo.lastEventId()} label events of its own; attach a project without labels, or move these into a new shared project (lightbox store migrate --to postgres)`);
    }
    const own = readingCount(app.readers.readingRows());
    if (own > 0) {
      throw new LightboxError('conflict', `label store: this project has readers or reading studies of its own (${own} rows); attach a project without them, or move them into a new shared project (lightbox store migrate --to postgres)`);
    }
    const exists = await withServer(cfg, (c) => projectExists(c, cfg.project));
    if (!exists) throw new LightboxError('not-found', `label store: there is no shared project "${cfg.project}" at ${describeUrl(cfg.url)}; create it from a project with "lightbox store migrate --to postgres"`);
    // Schema versions with no label yet are this copy's own drafts; the shared project's versions replace them.
    app.labels.repo.dropUnusedSchemas();
    app.store.setSetting(STORE_SETTING, JSON.stringify(cfg));
  } finally {
    await app.close();
  }
  const again = Lightbox.open(project);
  try {
    const local = digest(again.labels.repo.logRows());
    const localReading = readingDigest(again.readers.readingRows());
    const server = await withServer(cfg, (c) => serverLog(c, cfg.project));
    check('the shared log and this project\'s replica', local, digest(server.rows));
    checkReading('the shared project and this replica', localReading, server.reading);
    print(json, { attached: cfg.project, where: describeUrl(cfg.url), ...local, ...localReading }, `attached to shared project "${cfg.project}" at ${describeUrl(cfg.url)}: ${local.events} label events, verified`);
    return 0;
  } finally {
    await again.close();
  }
}
