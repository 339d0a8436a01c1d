// The worker pool behind the display decoder, the preprocessors and the header readers: one request per worker,
// the rest wait in order; a request over its limit ends only its own worker; a dead worker is replaced.
import { afterEach, describe, expect, it } from 'vitest';
import { LightboxError } from '../../src/shared/contract.ts';
import { WorkerPool, WorkerTimedOut } from '../../src/main/inference/worker-pool.ts';
import type { TestProtocol } from '../fixtures/rpc-test-worker.ts';

const WORKER = new URL('../fixtures/rpc-test-worker.ts', import.meta.url);
let pool: WorkerPool<TestProtocol>;
const open = (size: number): WorkerPool<TestProtocol> => (pool = new WorkerPool<TestProtocol>({ url: WORKER, name: 'pool-test', size }));
afterEach(async () => { await pool.close(); });

describe('WorkerPool', () => {
  it('a request over its limit is stopped; the request queued behind it runs on a fresh worker', async () => {
    open(1);
    const first = await pool.request('spin', { ms: 0 });
    const stalled = pool.request('spin', { ms: 60_000 }, { timeoutMs: 200 });
    const behind = pool.request('echo', { text: 'next' });
    await expect(stalled).rejects.toBeInstanceOf(WorkerTimedOut);
    await expect(behind).resolves.toEqual({ text: 'next', upper: 'NEXT' });
    expect((await pool.request('spin', { ms: 0 })).threadId).not.toBe(first.threadId);
  });

  it('runs requests side by side on its workers, and replaces one that exits', async () => {
    open(2);
    const ids = await Promise.all([pool.request('spin', { ms: 300 }), pool.request('spin', { ms: 300 })]);
    expect(new Set(ids.map((r) => r.threadId)).size).toBe(2);
    await expect(pool.request('exit', { code: 3 })).rejects.toThrow(/exited \(code 3\)/);
    const after = await Promise.all([pool.request('spin', { ms: 300 }), pool.request('spin', { ms: 300 })]);
    expect(new Set(after.map((r) => r.threadId)).size).toBe(2);
  });

  it('a failure in the handler keeps its worker; close refuses what is still waiting', async () => {
    open(1);
    const a = await pool.request('spin', { ms: 0 });
    await expect(pool.request('refuse', { code: 'bad-request', message: 'no' })).rejects.toBeInstanceOf(LightboxError);
    expect((await pool.request('spin', { ms: 0 })).threadId).toBe(a.threadId);
    const busy = pool.request('spin', { ms: 500 }).catch(() => {});
    const waiting = pool.request('echo', { text: 'late' }).catch((e: unknown) => e);
    await pool.close();
    expect(await waiting).toMatchObject({ code: 'busy', message: 'the project is closing' });
    await busy;
  });
});
