// The file fuzz harness: mutate valid fixtures (and add the audit's hostile shapes), then check that
//  - decoding each file in one thread, one after another, gives a frame or an error with a message, never hangs,
//    and never returns the previous file's pixels for a file whose pixel data differs (stale codec state);
//  - `lightbox import` and `lightbox embed` over the folder exit normally within their time, with bounded memory,
//    and account for every file (imported, or rejected with a reason) and every image (embedded, or failed with a
//    reason).
// Seeded and bounded in count and time. Used by `npm run test:fuzz` (long) and a small run in the unit tests.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { mulberry32 } from '../../src/shared/random.ts';
import { MUTATIONS, deflateBomb, headerBomb, hugeDimensions, uniquify, zeroCodestream } from './mutate.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface FuzzOptions {
  files: number;
  seed: number;
  /** Valid files to mutate. */
  sources: string[];
  /** Per-file decode limit and whole-command limits, seconds. */
  decodeTimeoutS?: number;
  commandTimeoutS?: number;
  /** Sizes of the hostile shapes (small in the unit suite, the audit's in the long run). */
  bombs?: { deflatedMb: number; headerElements: number; side: number };
  workDir?: string;
  /** Peak resident memory allowed to the import and embedding processes. */
  maxRssMb?: number;
  log?: (s: string) => void;
}

export interface FuzzProblem { kind: 'crash' | 'hang' | 'wrong-data' | 'unaccounted' | 'no-reason' | 'memory'; file: string; detail: string }

export interface FuzzReport {
  files: number;
  decoded: number;
  decodeErrors: number;
  imported: number;
  rejected: number;
  embedded: number;
  embedFailed: number;
  peakRssMb: number;
  seconds: number;
  problems: FuzzProblem[];
  byMutation: Record<string, number>;
  dir: string;
}

/** The bytes from the last Pixel Data tag on: equal pixel data gives equal decoded frames. */
function pixelDataHash(buf: Buffer): string {
  const at = buf.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
  return crypto.createHash('sha256').update(at >= 0 ? buf.subarray(at) : buf).digest('hex');
}

async function writeCorpus(o: FuzzOptions, dir: string): Promise<{ files: string[]; mutation: string[]; raw: string[] }> {
  const rng = mulberry32(o.seed);
  const names = Object.keys(MUTATIONS);
  const sources = o.sources.map((s) => fs.readFileSync(s));
  const files: string[] = [];
  const mutation: string[] = [];
  const raw: string[] = [];
  const add = (name: string, kind: string, bytes: Buffer): void => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    files.push(file);
    mutation.push(kind);
    raw.push(pixelDataHash(bytes));
  };
  const b = o.bombs ?? { deflatedMb: 64, headerElements: 200_000, side: 16384 };
  const pick = (re: RegExp): Buffer | undefined => sources[o.sources.findIndex((s) => re.test(s))];
  const rle = pick(/rle/); const deflated = pick(/deflated/) ?? sources[0]!; const plain = pick(/explicit-le/) ?? sources[0]!;
  if (rle) add('hostile-rle-huge.dcm', 'hostile-dimensions', uniquify(hugeDimensions(rle, b.side), 1_000_001));
  add('hostile-deflate-bomb.dcm', 'hostile-deflate', await deflateBomb(uniquify(deflated, 1_000_002), b.deflatedMb));
  add('hostile-header-bomb.dcm', 'hostile-header', headerBomb(uniquify(plain, 1_000_003), b.headerElements));
  // A good compressed file, then the same file with its codestream zeroed: a decoder reused with stale state
  // returns the first one's pixels for the second (seen with OpenJPEG).
  o.sources.forEach((name, k) => {
    const zeroed = zeroCodestream(sources[k]!);
    if (!zeroed) return;
    add(`pair-${k}-a-${path.basename(name)}`, 'stale-pair', uniquify(sources[k]!, 2_000_000 + 2 * k));
    add(`pair-${k}-b-zeroed-${path.basename(name)}`, 'stale-pair', uniquify(zeroed, 2_000_001 + 2 * k));
  });
  for (let i = files.length; i < o.files; i++) {
    const s = Math.floor(rng() * sources.length);
    const m = names[Math.floor(rng() * names.length)]!;
    const bytes = MUTATIONS[m]!(uniquify(sources[s]!, i), rng);
    add(`fuzz-${String(i).padStart(6, '0')}-${m}-${path.basename(o.sources[s]!)}`, m, bytes);
  }
  return { files, mutation, raw };
}

/** Runs a CLI command, polling its resident memory, killed after `timeoutS`. */
function runCli(args: string[], timeoutS: number, env: NodeJS.ProcessEnv): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; peakRssMb: number; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = ''; let stderr = ''; let peak = 0; let timedOut = false;
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); if (stderr.length > 1e6) stderr = stderr.slice(-5e5); });
    const poll = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch { /* the process just ended */ }
    }, 100);
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearInterval(poll); clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, peakRssMb: Math.round(peak), timedOut });
    });
  });
}

function decodeAll(files: string[], timeoutS: number): Promise<({ ok: true; hashes: string[] } | { ok: false; message: string; hang?: boolean })[]> {
  const results: ({ ok: true; hashes: string[] } | { ok: false; message: string; hang?: boolean })[] = new Array(files.length);
  return new Promise((resolve, reject) => {
    const startAt = (start: number): void => {
      if (start >= files.length) { resolve(results); return; }
      const w = new Worker(new URL('./decode-worker.ts', import.meta.url), { workerData: { files, start }, resourceLimits: { maxOldGenerationSizeMb: 1024 } });
      let current = start;
      let timer: NodeJS.Timeout | null = null;
      const arm = (): void => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          results[current] = { ok: false, message: `no answer in ${timeoutS} s`, hang: true };
          void w.terminate().then(() => startAt(current + 1));
        }, timeoutS * 1000);
      };
      w.on('message', (m: { i: number; phase: 'begin' | 'end'; ok?: boolean; hashes?: string[]; message?: string }) => {
        current = m.i;
        if (m.phase === 'begin') { arm(); return; }
        results[m.i] = m.ok ? { ok: true, hashes: m.hashes! } : { ok: false, message: m.message ?? '' };
        if (m.i === files.length - 1) { if (timer) clearTimeout(timer); void w.terminate().then(() => resolve(results)); }
      });
      w.on('error', (e) => {
        if (timer) clearTimeout(timer);
        // The worker died on this file (out of memory, a codec abort): that is a crash for this file.
        results[current] = { ok: false, message: `decoder thread died: ${e.message}`, hang: false };
        (results[current] as { crash?: boolean }).crash = true;
        startAt(current + 1);
      });
      w.on('exit', () => { /* handled by message/error */ });
      void reject;
      arm();
    };
    startAt(0);
  });
}

export async function runFileFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const work = o.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-fuzz-'));
  const dir = path.join(work, 'files');
  fs.mkdirSync(dir, { recursive: true });
  const { files, mutation, raw } = await writeCorpus(o, dir);
  log(`fuzz: ${files.length} files written to ${dir}`);
  const problems: FuzzProblem[] = [];
  const byMutation: Record<string, number> = {};
  for (const m of mutation) byMutation[m] = (byMutation[m] ?? 0) + 1;

  const decoded = await decodeAll(files, o.decodeTimeoutS ?? 30);
  let prev = -1;
  const suspects: [number, number][] = [];
  for (let i = 0; i < files.length; i++) {
    const r = decoded[i]!;
    if (!r.ok) {
      if ((r as { crash?: boolean }).crash) problems.push({ kind: 'crash', file: files[i]!, detail: r.message });
      else if (r.hang) problems.push({ kind: 'hang', file: files[i]!, detail: r.message });
      else if (!r.message.trim() || /codec error \d+|^\d+$/.test(r.message)) problems.push({ kind: 'no-reason', file: files[i]!, detail: `decode error without a message: "${r.message}"` });
      continue;
    }
    const p = prev >= 0 ? decoded[prev] : undefined;
    // The same pixels as the file before, from different pixel data: legitimate when both encode one image (the
    // fixtures share a pattern), stale codec state when the file decoded alone gives something else or fails.
    if (p?.ok && p.hashes[0] === r.hashes[0] && raw[prev] !== raw[i]) suspects.push([prev, i]);
    prev = i;
  }
  for (const [before, i] of suspects) {
    const alone = (await decodeAll([files[i]!], o.decodeTimeoutS ?? 30))[0]!;
    if (!alone.ok || alone.hashes[0] !== (decoded[i] as { hashes: string[] }).hashes[0]) {
      problems.push({ kind: 'wrong-data', file: files[i]!, detail: `decoded right after ${path.basename(files[before]!)} it gave that file's pixels; alone it ${alone.ok ? 'decodes to other pixels' : `fails (${alone.message})`}` });
    }
  }
  log(`fuzz: decoded ${decoded.filter((r) => r.ok).length}, errors ${decoded.filter((r) => !r.ok).length}`);

  const project = path.join(work, 'project');
  const env = { ...process.env, LIGHTBOX_HOME: path.join(work, 'home') };
  const timeout = o.commandTimeoutS ?? 600;
  const imp = await runCli(['import', dir, '--project', project, '--json'], timeout, env);
  let peak = imp.peakRssMb;
  if (imp.timedOut) problems.push({ kind: 'hang', file: dir, detail: `lightbox import did not finish in ${timeout} s` });
  else if (imp.code !== 0) problems.push({ kind: 'crash', file: dir, detail: `lightbox import exited ${imp.code ?? imp.signal}: ${imp.stderr.slice(-2000)}` });
  let imported = 0; let rejected = 0; let embedded = 0; let embedFailed = 0;
  if (fs.existsSync(path.join(project, 'lightbox.db'))) {
    const db = new Database(path.join(project, 'lightbox.db'), { readonly: true });
    const rows = new Map((db.prepare('SELECT path, status, reason FROM files').all() as { path: string; status: string; reason: string }[]).map((r) => [r.path, r]));
    for (const f of files) {
      const r = rows.get(f);
      if (!r) problems.push({ kind: 'unaccounted', file: f, detail: 'import neither indexed nor rejected it' });
      else if (r.status === 'rejected') { rejected++; if (!r.reason.trim()) problems.push({ kind: 'no-reason', file: f, detail: 'rejected without a reason' }); }
      else imported++;
    }
    const images = (db.prepare('SELECT count(*) AS n FROM instances WHERE is_image = 1').get() as { n: number }).n;
    db.close();
    if (images > 0 && !imp.timedOut) {
      const emb = await runCli(['embed', '--project', project, '--json'], timeout, env);
      peak = Math.max(peak, emb.peakRssMb);
      if (emb.timedOut) problems.push({ kind: 'hang', file: dir, detail: `lightbox embed did not finish in ${timeout} s` });
      else if (emb.code !== 0) problems.push({ kind: 'crash', file: dir, detail: `lightbox embed exited ${emb.code ?? emb.signal}: ${emb.stderr.slice(-2000)}` });
      else {
        const s = JSON.parse(emb.stdout.trim().split('\n').pop()!) as { embedded: number; skipped: number; failed: { path: string; reason: string }[] };
        embedded = s.embedded; embedFailed = s.failed.length;
        if (s.embedded + s.skipped + s.failed.length !== images) problems.push({ kind: 'unaccounted', file: dir, detail: `${images} images, but ${s.embedded} embedded + ${s.skipped} skipped + ${s.failed.length} failed` });
        for (const f of s.failed) if (!f.reason.trim()) problems.push({ kind: 'no-reason', file: f.path, detail: 'embedding failed without a reason' });
      }
    }
  }
  const maxRss = o.maxRssMb ?? 1500;
  if (peak > maxRss) problems.push({ kind: 'memory', file: dir, detail: `import/embed peaked at ${peak} MB resident (limit ${maxRss} MB)` });
  return {
    files: files.length, decoded: decoded.filter((r) => r.ok).length, decodeErrors: decoded.filter((r) => !r.ok).length,
    imported, rejected, embedded, embedFailed, peakRssMb: peak, seconds: (performance.now() - t0) / 1000, problems, byMutation, dir,
  };
}
