// A short run of the API fuzzer (scripts/api-fuzz.ts; `npm run test:api-fuzz` runs 5,000): random and malformed
// requests for every call through a real host in a child process; each answer is a clean 4xx or a valid result.
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fuzzApi, prepareFuzzPaths, prepareFuzzProject } from '../../scripts/api-fuzz.ts';
import type { FuzzPaths } from '../../scripts/api-fuzz.ts';
import { calls } from '../../src/shared/contract.ts';
import { tempDir } from '../helpers.ts';
import { startServeProcess } from '../serve-process.ts';
import type { ServeProcess } from '../serve-process.ts';

let host: ServeProcess;
let paths: FuzzPaths;

beforeAll(async () => {
  const work = tempDir('lightbox-fuzz-');
  const project = path.join(work, 'project');
  const scratch = tempDir('lightbox-fuzz-scratch-');
  paths = prepareFuzzPaths(scratch, await prepareFuzzProject(project));
  host = await startServeProcess(project, { LIGHTBOX_HOME: path.join(work, 'home') }, { cwd: scratch });
}, 60_000);
afterAll(async () => {
  await host?.stop();
});

it('answers 300 fuzzed requests over every call with a clean 4xx or a valid result, and stays up', async () => {
  const report = await fuzzApi(host, { seed: 20261202, count: 300, timeLimitMs: 90_000, paths, requestTimeoutMs: 15_000 });
  expect(report.failures, host.stderr()).toEqual([]);
  expect(report.calls).toBe(300);
  expect(report.covered).toBe(Object.keys(calls).length);
  expect(report.ok).toBeGreaterThan(0);
  expect(report.hostUp).toBe(true);
}, 150_000);
