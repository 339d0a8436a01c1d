// The suggestion worker: owns the item vectors and the per-group models, so training adapters and scoring every
// item (100k × dim × labels multiply-adds after each accepted label) never blocks the thread that answers the UI.
// Protocol: { id, op: 'init', init } → { items per level }; { id, op: 'refresh', jobs, validate } → GroupResult[]
// with its typed arrays transferred back.
import { parentPort } from 'node:worker_threads';
import type { EngineInit, GroupJob, GroupResult } from './suggest-engine.ts';
import { SuggestEngine } from './suggest-engine.ts';

if (!parentPort) throw new Error('suggest-worker must run as a worker thread');
const port = parentPort;
let engine: SuggestEngine | null = null;

function buffers(r: GroupResult): ArrayBuffer[] {
  const arrays = [r.probs, r.uncertain.order, r.uncertain.score, r.confident.order, r.confident.score];
  // Error queues are kept by the engine between refreshes: send copies, transfer only what is fresh.
  return arrays.map((a) => a.buffer as ArrayBuffer).filter((b, i, all) => b.byteLength > 0 && all.indexOf(b) === i);
}

port.on('message', (m: { id: number; op: 'init'; init: EngineInit } | { id: number; op: 'refresh'; jobs: GroupJob[]; validate: boolean }) => {
  try {
    if (m.op === 'init') {
      engine = new SuggestEngine(m.init);
      const items = Object.fromEntries(Object.keys(m.init.levels).map((l) => [l, engine!.items(l)]));
      port.postMessage({ id: m.id, ok: true, body: items });
      return;
    }
    if (!engine) throw new Error('suggest-worker: refresh before init');
    const results = m.jobs.map((j) => engine!.refresh(j, m.validate));
    port.postMessage({ id: m.id, ok: true, body: results }, results.flatMap(buffers));
  } catch (e) {
    port.postMessage({ id: m.id, ok: false, message: e instanceof Error ? e.message : String(e) });
  }
});
