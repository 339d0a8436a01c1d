// The shared label store against a real PostgreSQL (a throwaway cluster): a SQLite project's labels move into it
// and back verified equal, the database itself refuses to rewrite the log, and three `lightbox serve` processes
// label one shared project at once while one is SIGKILLed and the server restarts — every acknowledged label is in
// the server's log, the server's state equals a replay of its log, and every workstation's replica equals it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { ensureDemoProject } from '../../src/main/demo/demo-project.ts';
import { replayRows, stateHash } from '../../src/main/project/label-log.ts';
import { eventsAfter, serverState } from '../../src/main/project/pg-log.ts';
import { readingDigest } from '../../src/main/project/pg-reading.ts';
import { startPgCluster } from '../support/pg-cluster.ts';
import type { PgCluster } from '../support/pg-cluster.ts';
import { exited, serve } from '../support/serve.ts';
import type { Reply } from '../support/serve.ts';
import { tempDir } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WORK = tempDir('lightbox-pg-test-');
const env = { ...process.env, LIGHTBOX_HOME: path.join(WORK, 'home') };
const projects = ['a', 'b', 'c'].map((n) => path.join(WORK, n));
let cluster: PgCluster;
let studies: number[];
let readingStudy: number;

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'lightbox.mjs'), ...args], { env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function withPg<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: cluster.url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  cluster = await startPgCluster();
  await ensureDemoProject(projects[0]!, { count: 24 });
  for (const p of projects.slice(1)) fs.cpSync(projects[0]!, p, { recursive: true });
  const app = Lightbox.open(projects[0]!);
  studies = app.store.db.prepare('SELECT id FROM studies ORDER BY id').pluck().all() as number[];
  for (const [i, id] of studies.slice(0, 4).entries()) await app.invoke('labels.set', { level: 'study', itemId: id, group: 'finding', labels: [i % 2 ? 'normal' : 'effusion'] });
  await app.invoke('labels.flag', { level: 'study', itemId: studies[0]!, flagged: true });
  // A reader study under way before the move: it moves with the labels, and goes on from every workstation.
  const uids = app.store.db.prepare('SELECT study_uid FROM studies ORDER BY id LIMIT 6').pluck().all() as string[];
  for (const name of ['ann', 'bob']) await app.invoke('readers.create', { name });
  await app.invoke('readers.select', { name: 'ann' });
  readingStudy = ((await app.invoke('reading.create', { name: 'team read', group: 'finding', items: uids, readers: ['ann', 'bob'] })) as { id: number }).id;
  const first = (await app.invoke('reading.next', { study: readingStudy })) as { position: number };
  await app.invoke('reading.read', { study: readingStudy, position: first.position, label: 'normal' });
  await app.close();
}, 240_000);

afterAll(() => {
  cluster?.stop();
});

describe('shared PostgreSQL label store', () => {
  it('moves a project\'s labels in (verified), refuses a password in the URL, and the database refuses to rewrite the log', async () => {
    const bad = cli(['store', 'migrate', '--project', projects[0]!, '--to', 'postgres', '--url', cluster.url.replace('lightbox@', 'lightbox:secret@'), '--name', 'team']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/holds a password.*pgpass/);
    const m = cli(['store', 'migrate', '--project', projects[0]!, '--to', 'postgres', '--url', cluster.url, '--name', 'team', '--json']);
    expect(m.stderr).toBe('');
    const moved = JSON.parse(m.stdout) as { events: number; stateHash: string; readingRows: number; readingHash: string };
    expect(moved.events).toBe(5);
    // Two readers, one study and one read.
    expect(moved.readingRows).toBe(4);
    for (const p of projects.slice(1)) {
      const a = cli(['store', 'attach', '--project', p, '--url', cluster.url, '--name', 'team', '--json']);
      expect(a.stderr).toBe('');
      expect(JSON.parse(a.stdout)).toMatchObject({ attached: 'team', events: 5, stateHash: moved.stateHash, readingRows: 4, readingHash: moved.readingHash });
    }
    await withPg(async (c) => {
      for (const sql of ["UPDATE lightbox_label_events SET value = '[]'", 'DELETE FROM lightbox_label_events', 'TRUNCATE lightbox_label_events CASCADE']) {
        await expect(c.query(sql)).rejects.toThrow(/append-only/);
      }
    });
  }, 120_000);

  it('shares reader studies: a read, a new reader, an unblinding and an adjudication on one workstation reach the others', async () => {
    const [a, b] = [Lightbox.open(projects[0]!), Lightbox.open(projects[1]!)];
    type Status = { unblinded: boolean; progress: { reader: string; done: number }[] };
    const until = async <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
      for (const t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 50))) {
        const v = await get();
        if (ok(v)) return v;
        if (Date.now() - t0 > 10_000) throw new Error(`not within 10 s: ${what} (last: ${JSON.stringify(v)})`);
      }
    };
    try {
      // The attached workstation has the readers, the study and ann's read; bob reads here.
      expect(((await b.invoke('readers.list', {})) as { readers: { name: string }[] }).readers.map((r) => r.name)).toEqual(['ann', 'bob']);
      await b.invoke('readers.select', { name: 'bob' });
      const next = (await b.invoke('reading.next', { study: readingStudy })) as { position: number };
      await b.invoke('reading.read', { study: readingStudy, position: next.position, label: 'effusion' });
      const progress = (s: Status, r: string) => s.progress.find((p) => p.reader === r)?.done;
      await until('bob\'s read on workstation a', () => a.invoke('reading.status', { study: readingStudy }) as Promise<Status>, (s) => progress(s, 'bob') === 1 && progress(s, 'ann') === 1);
      // Blinded: before unblinding, workstation a's reader (ann) sees only her own reads, not bob's.
      const blind = (await a.invoke('reading.reads', { study: readingStudy })) as { unblinded: boolean; reads: { reader: string }[] };
      expect(blind).toMatchObject({ unblinded: false });
      expect(blind.reads.map((r) => r.reader)).toEqual(['ann']);
      // A reader made on one workstation exists on all; the same name again is refused with nothing saved.
      await b.invoke('readers.create', { name: 'cy' });
      await until('reader cy on workstation a', () => a.invoke('readers.list', {}) as Promise<{ readers: { name: string }[] }>, (l) => l.readers.some((r) => r.name === 'cy'));
      await expect(a.invoke('readers.create', { name: 'cy' })).rejects.toThrow(/already exists/);
      // Unblinded on a: b sees every reader's reads, and adjudicates an item a then has.
      await a.invoke('reading.unblind', { study: readingStudy });
      const open = await until('the unblinding on workstation b', () => b.invoke('reading.reads', { study: readingStudy }) as Promise<{ unblinded: boolean; reads: { reader: string; itemUid: string }[] }>, (r) => r.unblinded);
      expect(open.reads.map((r) => r.reader).sort()).toEqual(['ann', 'bob']);
      await b.invoke('reading.adjudicate', { study: readingStudy, itemUid: open.reads[0]!.itemUid, label: 'effusion' });
      await until('the adjudication on workstation a', async () => a.readers.readingRows().adjudication.length, (n) => n === 1);
      expect(readingDigest(a.readers.readingRows())).toEqual(readingDigest(b.readers.readingRows()));
    } finally {
      await a.close();
      await b.close();
    }
    // A project with reader studies of its own cannot be attached (they would be lost): it is refused, nothing switched.
    const own = path.join(WORK, 'own');
    const d = Lightbox.open(own, { create: true });
    await d.invoke('readers.create', { name: 'dee' });
    await d.close();
    const refused = cli(['store', 'attach', '--project', own, '--url', cluster.url, '--name', 'team']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/readers or reading studies of its own/);
    expect(JSON.parse(cli(['store', 'status', '--project', own, '--json']).stdout)).toMatchObject({ kind: 'sqlite' });
  }, 120_000);

  it('three workstations label at once through a SIGKILL and a server restart: nothing acknowledged is lost', async () => {
    const hosts = await Promise.all(projects.map((p) => serve(p, env)));
    // Another workstation's label shows here without any action on this one (LISTEN/NOTIFY, else the poll).
    const seen = await hosts[1]!.call('labels.set', { level: 'study', itemId: studies[5]!, group: 'finding', labels: ['nodule'] });
    expect(seen.ok).toBe(true);
    for (let t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 50))) {
      const r = await hosts[0]!.call('labels.item', { level: 'study', itemId: studies[5]!, reveal: true });
      if (r.result.groups.find((g: { key: string }) => g.key === 'finding').labels?.includes('nodule')) break;
      expect(Date.now() - t0).toBeLessThan(10_000);
    }
    const acked: { eventId: number; labels: string[] }[] = [];
    const outcomes = { conflict: 0, unavailable: 0, other: [] as string[] };
    const choices = ['normal', 'effusion', 'nodule', 'cardiomegaly'];
    let restarted = false;
    const writer = async (w: number): Promise<void> => {
      for (let n = 0; n < 30; n++) {
        if (w === 1 && n === 12) {
          // Killed with a write in flight: that label was never acknowledged, and may or may not be on the server.
          const inFlight = hosts[1]!.call('labels.set', { level: 'study', itemId: studies[9]!, group: 'finding', labels: ['normal'] }).catch(() => {});
          setTimeout(() => hosts[1]!.child.kill('SIGKILL'), 3);
          await inFlight;
          return;
        }
        if (w === 0 && n === 10 && !restarted) { restarted = true; cluster.restart(); }
        const id = studies[(n * 7 + w * 3) % 10]!;
        const labels = [choices[(n + w) % 4]!];
        const r = await hosts[w]!.call('labels.set', { level: 'study', itemId: id, group: 'finding', labels }).catch((e: Error): Reply => ({ ok: false, error: { code: 'gone', message: e.message } }));
        if (r.ok) { if (r.result.at) acked.push({ eventId: r.result.eventId, labels: r.result.item.groups.find((g: { key: string }) => g.key === 'finding').labels }); }
        else if (r.error?.code === 'conflict') outcomes.conflict++;
        else if (r.error?.code === 'unavailable') outcomes.unavailable++;
        else outcomes.other.push(`${r.error?.code}: ${r.error?.message}`);
      }
    };
    await Promise.all([0, 1, 2].map((w) => writer(w)));
    expect(restarted).toBe(true);
    expect(outcomes.other).toEqual([]);
    // Two writers run to the end (30 writes each, some unchanged or refused as conflicts), the third until its kill.
    expect(acked.length).toBeGreaterThan(20);
    console.log(`pg-store: ${acked.length} acknowledged, ${outcomes.conflict} conflicts, ${outcomes.unavailable} unavailable`);
    for (const h of hosts) { h.child.kill('SIGTERM'); await exited(h.child); }

    const server = await withPg(async (c) => ({ rows: await eventsAfter(c, 'team', 0), state: await serverState(c, 'team') }));
    const byId = new Map(server.rows.map((r) => [r.id, r]));
    for (const a of acked) expect(byId.get(a.eventId)?.value, `acknowledged event ${a.eventId}`).toBe(JSON.stringify(a.labels));
    server.rows.forEach((r, i) => expect(r.id).toBe(i + 1));
    const replayed = stateHash(replayRows(server.rows));
    expect(stateHash(server.state)).toBe(replayed);
    // Every workstation, the killed one included, reopens with a replica equal to the server's log.
    for (const p of projects) {
      const app = Lightbox.open(p);
      try {
        expect(app.labels.repo.lastEventId()).toBe(server.rows.length);
        expect(stateHash(app.labels.repo.derivedStateRows())).toBe(replayed);
      } finally {
        await app.close();
      }
    }
    // And back: the project keeps its labels in its own lightbox.db again, verified equal.
    const back = cli(['store', 'migrate', '--project', projects[2]!, '--to', 'sqlite', '--json']);
    expect(back.stderr).toBe('');
    // Readers ann, bob, cy; the study; two reads; the unblinding; the adjudication.
    expect(JSON.parse(back.stdout)).toMatchObject({ to: 'sqlite', events: server.rows.length, stateHash: replayed, readingRows: 8 });
    const st = JSON.parse(cli(['store', 'status', '--project', projects[2]!, '--json']).stdout) as { kind: string };
    expect(st.kind).toBe('sqlite');
  }, 240_000);
});
