// The typed worker protocol: replies, transferred buffers, and failures that keep their code across the thread
// boundary (an expected failure stays a LightboxError; anything else arrives as a plain Error, first line only).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LightboxError } from '../../src/shared/contract.ts';
import { WorkerRpc } from '../../src/main/inference/worker-rpc.ts';
import type { TestProtocol } from '../fixtures/rpc-test-worker.ts';

const WORKER = new URL('../fixtures/rpc-test-worker.ts', import.meta.url);
const open = (): WorkerRpc<TestProtocol> => new WorkerRpc<TestProtocol>(WORKER, 'rpc-test');
// One worker serves every test but the last (which ends its own): a failure must not stop it serving.
let r: WorkerRpc<TestProtocol>;
beforeAll(() => { r = open(); });
afterAll(async () => { await r.terminate(); });

/** Compiled, never run: the protocol types both ends. */
export function typeChecks(rpc: WorkerRpc<TestProtocol>): unknown[] {
  return [
    // @ts-expect-error no such message kind
    rpc.request('nothing', {}),
    // @ts-expect-error echo takes { text }
    rpc.request('echo', { txt: 'a' }),
    // @ts-expect-error echo answers { text, upper }, not a number
    rpc.request('echo', { text: 'a' }).then((x): number => x),
  ];
}

describe('WorkerRpc', () => {
  it('answers each request with its reply, concurrently and in any order', async () => {
    const replies = await Promise.all(['a', 'b', 'c'].map((text) => r.request('echo', { text })));
    expect(replies).toEqual([{ text: 'a', upper: 'A' }, { text: 'b', upper: 'B' }, { text: 'c', upper: 'C' }]);
  });

  it('moves buffers both ways', async () => {
    const { data } = await r.request('fill', { n: 1000, value: 2.5 });
    expect(new Float32Array(data)).toEqual(new Float32Array(1000).fill(2.5));
  });

  it('an expected failure in the worker reaches the caller as a LightboxError with its code and message', async () => {
    const e = await r.request('refuse', { code: 'bad-request', message: 'model package /x: imageEncoder.input.name is "image"' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LightboxError);
    expect(e).toMatchObject({ code: 'bad-request', message: 'model package /x: imageEncoder.input.name is "image"' });
    // The worker keeps serving after a failure.
    expect(await r.request('echo', { text: 'still here' })).toMatchObject({ upper: 'STILL HERE' });
  });

  it('an unexpected failure arrives as a plain Error with its first line', async () => {
    const e = await r.request('crash', { message: 'Failed to load shared library\n  at native frame 1\n  at native frame 2' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(LightboxError);
    expect((e as Error).message).toBe('Failed to load shared library');
  });

  it('a worker that exits fails the request in flight and every later one, naming the worker', async () => {
    const r = open();
    await expect(r.request('exit', { code: 3 })).rejects.toThrow(/rpc-test worker exited \(code 3\)/);
    await expect(r.request('echo', { text: 'a' })).rejects.toThrow(/rpc-test worker exited/);
  });
});
