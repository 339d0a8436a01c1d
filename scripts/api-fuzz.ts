// npm run test:api-fuzz [-- --seed N --count N --seconds S] — random and malformed requests for every call of the
// contract, through a real browser host (`lightbox serve` in a child process, so a hang or a crash shows as such).
// Every answer must be a clean 4xx `{ok:false, error:{code, message}}` or a 200 whose result parses against the call's
// result schema; the host must still be up at the end. Seeded and bounded in count and time; ends with one JSON line
// of figures. A small run of it is part of the unit tests (test/unit/api-fuzz.test.ts).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { ApiError, calls } from '../src/shared/contract.ts';
import type { CallName } from '../src/shared/contract.ts';
import { DEMO_SCHEMA } from '../src/shared/label-schema.ts';
import { mulberry32 } from '../src/shared/random.ts';
import { Lightbox } from '../src/main/app.ts';
import { generateDemoProjectData } from '../src/main/demo/demo-data.ts';
import { startServeProcess } from '../test/serve-process.ts';

export interface FuzzTarget { url: string; token: string; alive(): boolean }
export interface FuzzOptions {
  seed: number;
  count: number;
  timeLimitMs: number;
  /** Paths the generated calls may name (see prepareFuzzPaths). */
  paths: FuzzPaths;
  /** An answer slower than this counts as a hang. */
  requestTimeoutMs?: number;
}
export interface FuzzFailure { call: string; kind: string; request: string; status: number; answer: string; why: string; /** The calls just before it, with their times. */ after: string }
export interface FuzzReport {
  seed: number;
  calls: number;
  ok: number;
  refused: number;
  failures: FuzzFailure[];
  /** How many of the contract's calls were sent at least once. */
  covered: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  hostUp: boolean;
}

/** Files and folders for path fields: real ones, and the kinds that once hung or killed the host. */
export interface FuzzPaths { scratch: string; dicom: string; labels: string; fifo: string | null; nonEmpty: string }

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

const NAMES = Object.keys(calls) as CallName[];
const GROUPS = DEMO_SCHEMA.groups.map((g) => g.key);
const LABELS = DEMO_SCHEMA.groups.flatMap((g) => g.labels.map((l) => l.key));
const NASTY_STRINGS = ['', ' ', '\u0000', '../../etc/passwd', '%00', '💥', 'a'.repeat(5000), '\\\\?\\C:\\x', '{"a":1}', 'null', '<script>', '\ud800'];
let exportSerial = 0;

/** Values for fields that name files: a pool, never a random string (a random "." would import the whole folder). */
function pathValue(r: Rand, key: string, p: FuzzPaths): string {
  const bad = ['/proc/x', '/proc/self/x/y', '/sys/kernel/x', '/dev/zero', 'relative/path', '.', '..', '/nonexistent/lightbox/x', '', ...(p.fifo ? [p.fifo] : [])];
  switch (key) {
    case 'folder': return pick(r, [p.dicom, p.scratch, ...bad]);
    case 'model': return pick(r, ['builtin', 'builtin', p.scratch, p.labels, ...bad]);
    case 'out': return r() < 0.5 ? path.join(p.scratch, `export-${++exportSerial}`) : pick(r, [p.nonEmpty, p.labels, path.join(p.labels, 'x'), ...bad]);
    case 'srFolder': return r() < 0.6 ? '' : pick(r, [path.join(p.scratch, 'sr-sent'), p.labels, ...bad]);
    case 'path': return pick(r, [p.labels, p.labels, p.nonEmpty, p.dicom, '/proc/self/status', ...bad]);
    default: return pick(r, bad);
  }
}
const PATH_KEYS = new Set(['folder', 'model', 'out', 'srFolder', 'path']);

function randomJson(r: Rand, depth = 0): unknown {
  const k = r();
  if (depth > 3 || k < 0.15) return pick(r, [null, true, false]);
  if (k < 0.35) return pick(r, [0, -1, 1, 1.5, -0.5, 1e308, -1e308, 2 ** 31, 2 ** 53, 7, 42, 1e-9]);
  if (k < 0.6) return pick(r, [...NASTY_STRINGS, ...GROUPS, ...LABELS, 'study', 'series', 'image']);
  if (k < 0.8) return Array.from({ length: int(r, 0, 4) }, () => randomJson(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = int(r, 0, 4); i > 0; i--) put(o, pick(r, ['a', 'level', 'itemId', 'group', 'labels', '__proto__', 'constructor', 'x']), randomJson(r, depth + 1));
  return o;
}

/** Sets an own key, "__proto__" included (an assignment would set the prototype, and JSON would drop it). */
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

type Def = { type: string; [k: string]: unknown };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
const checksOf = (d: Def): { check: string; minimum?: number; maximum?: number; pattern?: RegExp }[] =>
  ((d.checks as { _zod: { def: { check: string; minimum?: number; maximum?: number; pattern?: RegExp } } }[] | undefined) ?? []).map((c) => c._zod.def);

/** A value that the schema probably accepts (in range, from the demo's keys), for a field named `key`. */
function sample(r: Rand, schema: z.ZodType, key: string, p: FuzzPaths): unknown {
  const d = defOf(schema);
  switch (d.type) {
    case 'optional': return r() < 0.3 ? undefined : sample(r, d.innerType as z.ZodType, key, p);
    case 'default': return r() < 0.4 ? undefined : sample(r, d.innerType as z.ZodType, key, p);
    case 'nullable': return r() < 0.2 ? null : sample(r, d.innerType as z.ZodType, key, p);
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(d.shape as Record<string, z.ZodType>)) {
        const x = sample(r, v, k, p);
        if (x !== undefined) out[k] = x;
      }
      return out;
    }
    case 'array': {
      const cs = checksOf(d);
      const min = cs.find((c) => c.check === 'min_length')?.minimum ?? 0;
      const max = Math.min(cs.find((c) => c.check === 'max_length')?.maximum ?? 4, min + 3);
      return Array.from({ length: int(r, min, max) }, () => sample(r, d.element as z.ZodType, key, p));
    }
    case 'enum': return pick(r, Object.values(d.entries as Record<string, string>));
    case 'literal': return pick(r, d.values as unknown[]);
    case 'union': return sample(r, pick(r, d.options as z.ZodType[]), key, p);
    case 'boolean': return r() < 0.5;
    case 'number': {
      const n = schema as unknown as { minValue: number | null; maxValue: number | null; isInt: boolean };
      const lo = Math.max(n.minValue ?? 0, -1e6);
      const hi = Math.min(n.maxValue ?? lo + 40, lo + (key === 'width' || key === 'height' ? 63 : 40));
      return n.isInt ? int(r, Math.ceil(lo), Math.floor(hi)) : lo + r() * (hi - lo);
    }
    case 'string': {
      if (PATH_KEYS.has(key)) return pathValue(r, key, p);
      if (key === 'group' || key === 'stratify') return pick(r, [...GROUPS, 'nope']);
      if (key === 'label' || key === 'labels') return pick(r, LABELS);
      const pattern = checksOf(d).find((c) => c.pattern)?.pattern;
      const candidates = ['', '20240101', '20241231', '2024-01-15', 'AAAA', 'demo', 'CR', 'Dr Fuzz', 'x'];
      const fits = pattern ? candidates.filter((c) => pattern.test(c)) : candidates;
      return pick(r, fits.length ? fits : candidates);
    }
    case 'record': return {};
    case 'unknown': return key === 'schema' && r() < 0.5 ? structuredClone(DEMO_SCHEMA) : randomJson(r);
    default: return randomJson(r);
  }
}

/** One change that usually makes a valid input invalid. */
function mutate(r: Rand, input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return randomJson(r);
  const o = { ...(input as Record<string, unknown>) };
  const keys = Object.keys(o);
  const k = keys.length ? pick(r, keys) : 'extra';
  switch (int(r, 0, 4)) {
    case 0: delete o[k]; break;
    case 1: o[k] = randomJson(r); break;
    case 2: put(o, pick(r, ['extra', 'path', '__proto__', 'constructor']), randomJson(r)); break;
    case 3: o[k] = pick(r, [-1, 0, 1.5, 1e308, 2 ** 53, '1', null, [], {}]); break;
    default: o[k] = 'x'.repeat(int(r, 100, 20_000));
  }
  return o;
}

/** embed.pixels with data of the size its width, height and channels say (else it is refused before the model runs). */
function fitPixels(r: Rand, input: Record<string, unknown>): void {
  const { width, height, channels } = input as { width?: number; height?: number; channels?: number };
  if (typeof width === 'number' && typeof height === 'number' && typeof channels === 'number' && r() < 0.8) {
    input.data = Buffer.alloc(width * height * channels, int(r, 0, 255)).toString('base64');
  }
}

function parses(b: Buffer): boolean {
  try {
    JSON.parse(b.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

interface Req { name: string; kind: string; method: string; path: string; headers: Record<string, string>; body: Buffer }

function buildRequest(r: Rand, name: CallName, p: FuzzPaths): Req {
  const valid = (): unknown => {
    const v = sample(r, calls[name].input as unknown as z.ZodType, '', p);
    if (name === 'embed.pixels' && v && typeof v === 'object') fitPixels(r, v as Record<string, unknown>);
    return v;
  };
  const json = { 'content-type': 'application/json' };
  const req = (kind: string, body: unknown, over: Partial<Req> = {}): Req => ({
    name, kind, method: 'POST', path: `/api/call/${encodeURIComponent(name)}`, headers: json,
    body: Buffer.isBuffer(body) ? body : Buffer.from(body === undefined ? '' : JSON.stringify(body)), ...over,
  });
  const k = r();
  if (k < 0.4) return req('valid', valid());
  if (k < 0.65) return req('mutated', mutate(r, valid()));
  if (k < 0.75) return req('random-json', randomJson(r));
  if (k < 0.8) return req('not-an-object', pick(r, [null, [], 0, 'x', true, [{}]]));
  if (k < 0.86) {
    const text = JSON.stringify(valid() ?? {});
    const bytes = Buffer.from(pick(r, [text.slice(0, Math.max(1, text.length - 1)), `${text}}`, `{${text}`, "{'a':1}", '\u00ff\u00fe', '', '{"a":1,}', text.replace(/"/g, "'")]), pick(r, ['utf8', 'latin1'] as const));
    // Some cuts of a short body are still JSON ("{}" with its quotes swapped): those may be answered like any other.
    return req(parses(bytes) ? 'mutated' : 'malformed-json', bytes);
  }
  if (k < 0.9) return req('content-type', valid(), { headers: pick<Record<string, string>>(r, [{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }, { 'content-type': 'application/jsonx' }, { 'content-type': 'application/json; charset=utf-8' }]) });
  if (k < 0.95) {
    const odd = pick(r, [`/api/call/${name}%`, '/api/call/%E0%A4%A', `/api/call/${name}%00`, `/api/call/${name}/x`, '/api/call/', `/api/call/${name.toUpperCase()}`, '/api/call/__proto__', '/api/call/constructor']);
    return req('odd-path', valid(), { path: odd });
  }
  if (k < 0.97) return req('method', valid(), { method: pick(r, ['GET', 'PUT', 'DELETE', 'PATCH']) });
  if (k < 0.99) return req('deep', Buffer.from(pick(r, [`${'['.repeat(5000)}${']'.repeat(5000)}`, `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`])));
  return req('oversized', { pad: 'x'.repeat(2 * 1024 * 1024 + int(r, 1, 1000)) });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function send(target: FuzzTarget, q: Req, timeoutMs: number): Promise<{ status: number; text: string }> {
  const url = new URL(target.url);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: q.path, method: q.method, agent,
      headers: { ...q.headers, authorization: `Bearer ${target.token}`, 'content-length': String(q.body.length) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms: the host hangs`)));
    req.on('error', reject);
    req.end(q.body);
  });
}

/** Why the answer is not acceptable, or null when it is. */
function judge(q: Req, status: number, text: string): string | null {
  let body: { ok?: unknown; result?: unknown; error?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return 'the answer is not JSON';
  }
  if (status === 200) {
    if (q.kind !== 'valid' && q.kind !== 'mutated' && q.kind !== 'random-json' && !(q.kind === 'content-type' && /^application\/json;/.test(q.headers['content-type'] ?? ''))) {
      return `a ${q.kind} request was accepted`;
    }
    if (body.ok !== true) return '200 without ok: true';
    const parsed = calls[q.name as CallName].result.safeParse(body.result);
    return parsed.success ? null : `the result does not match the contract: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
  }
  // A valid request to a PACS that is not there (the fuzzer configures servers at made-up hosts) is answered 502
  // with code 'unavailable': the failure is the outside server's, said as such, not the host's.
  const upstream = status === 502 && q.name.startsWith('pacs.');
  if ((status < 400 || status > 499) && !upstream) return `status ${status}`;
  if (body.ok !== false) return `${status} without ok: false`;
  const err = ApiError.safeParse(body.error);
  if (!err.success) return `${status} whose error is not {code, message}`;
  if (upstream && err.data.code !== 'unavailable') return `502 with code ${err.data.code}, not 'unavailable'`;
  if (!err.data.message.trim()) return 'an empty error message';
  if (/\n\s+at /.test(err.data.message)) return 'a stack trace in the message';
  return null;
}

export async function fuzzApi(target: FuzzTarget, opts: FuzzOptions): Promise<FuzzReport> {
  const r = mulberry32(opts.seed);
  const timeout = opts.requestTimeoutMs ?? 20_000;
  const order = [...NAMES].sort(() => r() - 0.5);
  const latencies: number[] = [];
  const failures: FuzzFailure[] = [];
  const covered = new Set<string>();
  let ok = 0;
  let refused = 0;
  // The calls just before each one: a host that stops answering is often still busy with what an earlier call started.
  const recent: string[] = [];
  const t0 = performance.now();
  let i = 0;
  for (; i < opts.count && performance.now() - t0 < opts.timeLimitMs; i++) {
    const q = buildRequest(r, order[i % order.length]!, opts.paths);
    covered.add(q.name);
    const started = performance.now();
    let status = 0;
    let text = '';
    let why: string | null;
    try {
      ({ status, text } = await send(target, q, timeout));
      why = judge(q, status, text);
    } catch (e) {
      why = `no answer: ${(e as Error).message}${target.alive() ? '' : ' (the host process is gone)'}`;
    }
    const ms = performance.now() - started;
    latencies.push(ms);
    const before = recent.join(', ');
    recent.push(`${q.name} ${Math.round(ms)} ms`);
    if (recent.length > 5) recent.shift();
    if (why) {
      const shown = q.body.length > 300 ? `${q.body.subarray(0, 300).toString('utf8')}… (${q.body.length} bytes)` : q.body.toString('utf8');
      failures.push({ call: q.name, kind: q.kind, request: `${q.method} ${q.path} ${JSON.stringify(q.headers)} ${shown}`, status, answer: text.slice(0, 500), why, after: before });
      if (!target.alive()) break;
    } else if (status === 200) ok++;
    else refused++;
  }
  let hostUp = target.alive();
  if (hostUp) {
    try {
      hostUp = (await send(target, { name: 'project.info', kind: 'valid', method: 'POST', path: '/api/call/project.info', headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') }, 10_000)).status === 200;
    } catch {
      hostUp = false;
    }
  }
  agent.destroy();
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { seed: opts.seed, calls: i, ok, refused, failures, covered: covered.size, seconds: (performance.now() - t0) / 1000, p50Ms: at(0.5), p99Ms: at(0.99), hostUp };
}

/** A small demo project with the demo label schema: every call has real items, groups and labels to act on. */
export async function prepareFuzzProject(dir: string, count = 16): Promise<string> {
  const { dataDir } = generateDemoProjectData(dir, { count });
  const app = Lightbox.open(dir, { create: true });
  try {
    await app.imports.run({ folder: dataDir });
    app.labels.setSchema({ schema: DEMO_SCHEMA });
  } finally {
    await app.close();
  }
  return dataDir;
}

export function prepareFuzzPaths(scratch: string, dicom: string): FuzzPaths {
  const labels = path.join(scratch, 'labels.csv');
  fs.writeFileSync(labels, 'level,group,study_uid,label\nstudy,finding,1.2.3,normal\n');
  const nonEmpty = path.join(scratch, 'non-empty');
  fs.mkdirSync(nonEmpty, { recursive: true });
  fs.writeFileSync(path.join(nonEmpty, 'note.txt'), 'not an export');
  let fifo: string | null = null;
  if (process.platform !== 'win32') {
    fifo = path.join(scratch, 'pipe.csv');
    execFileSync('mkfifo', [fifo]);
  }
  return { scratch, dicom, labels, fifo, nonEmpty };
}

function argNumber(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number, not "${process.argv[i + 1]}"`);
  return v;
}

async function main(): Promise<number> {
  const seed = argNumber('seed', 1);
  const count = argNumber('count', 5000);
  const seconds = argNumber('seconds', 600);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-fuzz-'));
  try {
    const project = path.join(work, 'project');
    const scratch = path.join(work, 'scratch');
    fs.mkdirSync(scratch, { recursive: true });
    process.stderr.write(`api-fuzz: preparing a demo project in ${project} …\n`);
    const dicom = await prepareFuzzProject(project);
    const paths = prepareFuzzPaths(scratch, dicom);
    const host = await startServeProcess(project, { LIGHTBOX_HOME: path.join(work, 'home') }, { cwd: scratch });
    let report: FuzzReport;
    try {
      process.stderr.write(`api-fuzz: ${count} requests (at most ${seconds} s), seed ${seed}, to ${host.url}\n`);
      report = await fuzzApi(host, { seed, count, timeLimitMs: seconds * 1000, paths });
    } finally {
      await host.stop();
    }
    for (const f of report.failures.slice(0, 20)) process.stderr.write(`FAIL ${f.call} (${f.kind}): ${f.why}\n  sent ${f.request}\n  got ${f.status} ${f.answer}\n  after ${f.after}\n`);
    if (report.failures.length > 20) process.stderr.write(`… and ${report.failures.length - 20} more\n`);
    console.log(JSON.stringify({
      name: 'api-fuzz', value: report.failures.length, unit: 'failures', target: 0,
      calls: report.calls, ok: report.ok, refused: report.refused, contractCalls: NAMES.length, covered: report.covered,
      hostUp: report.hostUp, seconds: Number(report.seconds.toFixed(1)), callsPerSecond: Math.round(report.calls / report.seconds),
      p50Ms: report.p50Ms, p99Ms: report.p99Ms, seed, cpus: os.availableParallelism(),
    }));
    return report.failures.length === 0 && report.hostUp ? 0 : 1;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await main();
