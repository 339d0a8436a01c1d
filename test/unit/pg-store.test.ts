// The shared label store against a real PostgreSQL (a throwaway cluster): a SQLite project's labels move into it
// and back verified equal, the database itself refuses to rewrite the log, and three `lightbox serve` processes
// label one shared project at once while one is SIGKILLed and the server restarts — every acknowledged label is in
// the server's log, the server's state equals a replay of its log, and every workstation's replica equals it.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { ensureDemoProject } from '../../src/main/demo/demo-project.ts';
import { replayRows, stateHash } from '../../src/main/project/label-log.ts';
import { eventsAfter, serverState } from '../../src/main/project/pg-log.ts';
import { startPgCluster } from '../support/pg-cluster.ts';
import type { PgCluster } from '../support/pg-cluster.ts';
import { tempDir } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WORK = tempDir('lightbox-pg-test-');
const env = { ...process.env, LIGHTBOX_HOME: path.join(WORK, 'home') };
const projects = ['a', 'b', 'c'].map((n) => path.join(WORK, n));
let cluster: PgCluster;
let studies: number[];

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'lightbox.mjs'), ...args], { env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the answers are read loosely, as a client would
type Reply = { ok: boolean; result?: any; error?: { code: string; message: string } };

function serve(project: string): Promise<{ child: ChildProcess; call: (name: string, body: unknown) => Promise<Reply> }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'lightbox.mjs'), 'serve', '--project', project, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.resume();
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += String(d);
      const u = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      const t = /API token: (\S+)/.exec(out);
      if (u && t) {
        resolve({
          child,
          call: async (name, body) => (await fetch(`${u[1]}/api/call/${name}`, { method: 'POST', headers: { authorization: `Bearer ${t[1]}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as never,
        });
      }
    });
    child.on('exit', (code) => reject(new Error(`serve ${project} exited ${code}: ${out}`)));
  });
}

const exited = (c: ChildProcess): Promise<void> => new Promise((r) => { if (c.exitCode !== null || c.signalCode !== null) r(); else c.once('exit', () => r()); });

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
    const moved = JSON.parse(m.stdout) as { events: number; stateHash: string };
    expect(moved.events).toBe(5);
    for (const p of projects.slice(1)) {
      const a = cli(['store', 'attach', '--project', p, '--url', cluster.url, '--name', 'team', '--json']);
      expect(a.stderr).toBe('');
      expect(JSON.parse(a.stdout)).toMatchObject({ attached: 'team', events: 5, stateHash: moved.stateHash });
    }
    await withPg(async (c) => {
      for (const sql of ["UPDATE lightbox_label_events SET value = '[]'", 'DELETE FROM lightbox_label_events', 'TRUNCATE lightbox_label_events CASCADE']) {
        await expect(c.query(sql)).rejects.toThrow(/append-only/);
      }
    });
  }, 120_000);

  it('three workstations label at once through a SIGKILL and a server restart: nothing acknowledged is lost', async () => {
    const hosts = await Promise.all(projects.map((p) => serve(p)));
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
    expect(JSON.parse(back.stdout)).toMatchObject({ to: 'sqlite', events: server.rows.length, stateHash: replayed });
    const st = JSON.parse(cli(['store', 'status', '--project', projects[2]!, '--json']).stdout) as { kind: string };
    expect(st.kind).toBe('sqlite');
  }, 240_000);
});
