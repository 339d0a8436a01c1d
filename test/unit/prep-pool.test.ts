// Decoding the model's input is bounded in time: a batch past its limit has its worker ended and its frames tried
// one by one, so a stalled frame fails alone with a reason naming its file, the pool goes on with a fresh worker,
// and an embedding job under such a limit ends with every image reported instead of hanging.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuiltinModel } from '../../src/main/inference/builtin-model.ts';
import type { ModelPackage } from '../../src/main/inference/model-package.ts';
import { PrepPool } from '../../src/main/inference/prep-pool.ts';
import { tempDir } from '../helpers.ts';
import { realWorldFiles } from '../real-world.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HOME = tempDir('lightbox-home-');
const NAMES = ['693_J2KI.dcm', 'MR_small.dcm', 'CT_small.dcm'];
const files = NAMES.map((n) => realWorldFiles().find((f) => path.basename(f) === n)!);
let pkg: ModelPackage;
const pools: PrepPool[] = [];

beforeAll(async () => { pkg = await ensureBuiltinModel(HOME); }, 60_000);
afterAll(async () => { await Promise.all(pools.map((p) => p.close())); });

describe('preprocessing with a time limit', () => {
  it('stops every frame over the limit with its own file named, then works again on a fresh worker', async () => {
    const pool = new PrepPool(1, 1);
    pools.push(pool);
    const tasks = files.map((file) => ({ file, frame: 1 }));
    const stopped = await pool.prep(pkg.manifest.imageEncoder, tasks);
    expect(stopped.failures.map((f) => f.index)).toEqual([0, 1, 2]);
    stopped.failures.forEach((f, i) => expect(f.reason).toMatch(new RegExp(`${NAMES[i]!.replace('.', '\\.')} frame 1: decoding took longer than .* and was stopped`)));
    pool.timeoutMs = 30_000;
    const ok = await pool.prep(pkg.manifest.imageEncoder, tasks);
    expect(ok.failures).toEqual([]);
    const data = new Float32Array(ok.data);
    expect(data.some((v) => v !== 0)).toBe(true);
  }, 60_000);

  it('an embedding job under a limit no frame can meet reports each image as stopped and ends', () => {
    const src = tempDir();
    const project = tempDir();
    for (const f of files) fs.copyFileSync(f, path.join(src, path.basename(f)));
    const env = { ...process.env, LIGHTBOX_HOME: HOME };
    const cli = (extra: NodeJS.ProcessEnv, ...args: string[]): string =>
      execFileSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), ...args], { encoding: 'utf8', env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    cli({}, 'import', src, '--project', project, '--json');
    const out = JSON.parse(cli({ LIGHTBOX_DECODE_TIMEOUT_MS: '1' }, 'embed', '--project', project, '--json')) as { embedded: number; failed: { path: string; reason: string }[] };
    expect(out.embedded).toBe(0);
    expect(out.failed.map((f) => path.basename(f.path)).sort()).toEqual([...NAMES].sort());
    for (const f of out.failed) expect(f.reason).toMatch(/decoding took longer than .* and was stopped/);
    // With the normal limit the same images embed: nothing about them was wrong.
    const again = JSON.parse(cli({}, 'embed', '--project', project, '--json')) as { embedded: number; failed: unknown[] };
    expect(again.embedded).toBe(3);
  }, 120_000);
});
