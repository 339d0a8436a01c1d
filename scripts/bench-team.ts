// npm run bench:team [-- --studies N --labels N]
// Three writers labelling one project at once. Shared store: three `lightbox serve` workstations (each with its own
// lightbox.db replica) against one PostgreSQL (a throwaway local cluster), one client each. Anchor, side by side:
// the same three clients against one workstation whose labels stay in its SQLite lightbox.db. Each writer labels
// its own studies (so every call is a real change, not a conflict); a label's latency is the HTTP round trip until
// it is acknowledged (committed on the server for the shared store). Then how long another workstation takes to
// show a label (LISTEN/NOTIFY, else the 1 s poll). Prints one JSON line at the end.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDemoProject } from '../src/main/demo/demo-project.ts';
import { startPgCluster } from '../test/support/pg-cluster.ts';
import { exited, serve } from '../test/support/serve.ts';
import type { ServeHost } from '../test/support/serve.ts';
import { numberArg } from './bench-data.ts';
import { Lightbox } from '../src/main/app.ts';

const studyCount = numberArg('studies', 60);
const perWriter = numberArg('labels', 150);
const WRITERS = 3;
const choices = ['normal', 'effusion', 'nodule', 'cardiomegaly'];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-bench-team-'));
const env = { ...process.env, LIGHTBOX_HOME: path.join(work, 'home') };
process.env.LIGHTBOX_HOME = env.LIGHTBOX_HOME;
const log = (s: string): boolean => process.stderr.write(`${s}\n`);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number((s[Math.max(0, Math.ceil(p * s.length) - 1)] ?? NaN).toFixed(1));
};

interface Run { p50Ms: number; p99Ms: number; maxMs: number; labelsPerSec: number; acknowledged: number; refused: string[] }

/** Writer w labels the studies whose index ≡ w (mod 3); round r gives each of them a label it did not have. */
async function labelAtOnce(hosts: ServeHost[], studies: number[]): Promise<Run> {
  const latencies: number[] = [];
  const refused: string[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
    const mine = studies.filter((_, i) => i % WRITERS === w);
    const host = hosts[w % hosts.length]!;
    for (let n = 0; n < perWriter; n++) {
      const label = choices[(Math.floor(n / mine.length) + w) % choices.length]!;
      const t = performance.now();
      const r = await host.call('labels.set', { level: 'study', itemId: mine[n % mine.length]!, group: 'finding', labels: [label] });
      if (r.ok && r.result.at) latencies.push(performance.now() - t);
      else refused.push(r.ok ? 'unchanged' : `${r.error?.code}: ${r.error?.message}`);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  return { p50Ms: pct(latencies, 0.5), p99Ms: pct(latencies, 0.99), maxMs: pct(latencies, 1), labelsPerSec: Number((latencies.length / secs).toFixed(1)), acknowledged: latencies.length, refused };
}

function cli(args: string[]): void {
  const r = spawnSync(process.execPath, [path.resolve(import.meta.dirname, '..', 'bin', 'lightbox.mjs'), ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`lightbox ${args.join(' ')} failed: ${r.stderr}`);
}

const cluster = await startPgCluster();
const hosts: ServeHost[] = [];
try {
  const solo = path.join(work, 'solo');
  await ensureDemoProject(solo, { count: studyCount });
  const projects = ['a', 'b', 'c'].map((n) => path.join(work, n));
  for (const p of projects) fs.cpSync(solo, p, { recursive: true });
  const app = Lightbox.open(solo);
  const studies = app.store.db.prepare('SELECT id FROM studies ORDER BY id').pluck().all() as number[];
  await app.close();

  // Anchor: one workstation, labels in its own SQLite file, three clients at once.
  const one = await serve(solo, env);
  hosts.push(one);
  const sqlite = await labelAtOnce([one], studies);
  one.child.kill('SIGTERM');
  await exited(one.child);
  log(`sqlite (one workstation): p50 ${sqlite.p50Ms} ms, p99 ${sqlite.p99Ms} ms, ${sqlite.labelsPerSec} labels/s`);

  cli(['store', 'migrate', '--project', projects[0]!, '--to', 'postgres', '--url', cluster.url, '--name', 'team']);
  for (const p of projects.slice(1)) cli(['store', 'attach', '--project', p, '--url', cluster.url, '--name', 'team']);
  const team = await Promise.all(projects.map((p) => serve(p, env)));
  hosts.push(...team);
  const shared = await labelAtOnce(team, studies);
  log(`postgres (three workstations): p50 ${shared.p50Ms} ms, p99 ${shared.p99Ms} ms, ${shared.labelsPerSec} labels/s`);

  // How long until the other two workstations show a label that one of them wrote.
  const visible: number[] = [];
  for (let k = 0; k < 20; k++) {
    const id = studies[k % studies.length]!;
    const label = choices[(k + 2) % choices.length]!;
    const r = await team[0]!.call('labels.set', { level: 'study', itemId: id, group: 'finding', labels: [label] });
    if (!r.ok) throw new Error(`bench: ${r.error?.message}`);
    const acked = performance.now();
    await Promise.all(team.slice(1).map(async (h) => {
      for (;;) {
        const it = await h.call('labels.item', { level: 'study', itemId: id, reveal: true });
        if (it.result.groups.find((g: { key: string }) => g.key === 'finding').labels?.includes(label)) break;
        if (performance.now() - acked > 15_000) throw new Error(`bench: study ${id} not visible on another workstation after 15 s`);
        await new Promise((res) => setTimeout(res, 5));
      }
      visible.push(performance.now() - acked);
    }));
  }
  log(`visible on the other workstations: p50 ${pct(visible, 0.5)} ms, max ${pct(visible, 1)} ms`);
  if (sqlite.refused.length + shared.refused.length > 0) log(`refused: ${[...sqlite.refused, ...shared.refused].slice(0, 5).join('; ')}`);

  console.log(JSON.stringify({
    bench: 'team',
    writers: WRITERS,
    labelsPerWriter: perWriter,
    studies: studies.length,
    postgresP50Ms: shared.p50Ms,
    postgresP99Ms: shared.p99Ms,
    postgresMaxMs: shared.maxMs,
    postgresLabelsPerSec: shared.labelsPerSec,
    postgresRefused: shared.refused.length,
    anchorSqliteP50Ms: sqlite.p50Ms,
    anchorSqliteP99Ms: sqlite.p99Ms,
    anchorSqliteLabelsPerSec: sqlite.labelsPerSec,
    visibleElsewhereP50Ms: pct(visible, 0.5),
    visibleElsewhereMaxMs: pct(visible, 1),
    cores: os.cpus().length,
  }));
} finally {
  for (const h of hosts) if (h.child.exitCode === null && h.child.signalCode === null) { h.child.kill('SIGTERM'); await exited(h.child); }
  cluster.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
