// The suggestion worker: owns the item vectors and the per-group models, so training adapters and scoring every
// item (100k × dim × labels multiply-adds after each accepted label) never blocks the thread that answers the UI.
import { serveRpc, transferring } from '../inference/worker-rpc.ts';
import type { GroupResult } from './suggest-engine.ts';
import { SuggestEngine } from './suggest-engine.ts';
import type { SuggestProtocol } from './suggest-protocol.ts';

let engine: SuggestEngine | null = null;

/** What is fresh in a result. Error queues are kept by the engine between refreshes: they go as copies. */
const fresh = (r: GroupResult): ArrayBuffer[] =>
  [r.probs, r.uncertain.order, r.uncertain.score, r.confident.order, r.confident.score].map((a) => a.buffer as ArrayBuffer);

serveRpc<SuggestProtocol>('suggest-worker', {
  init: (init) => {
    const e = new SuggestEngine(init);
    engine = e;
    return Object.fromEntries(Object.keys(init.levels).map((l) => [l, e.items(l)]));
  },
  refresh: ({ jobs, validate }) => {
    const e = engine;
    if (!e) throw new Error('suggest-worker: refresh before init');
    const results = jobs.map((j) => e.refresh(j, validate));
    return transferring(results, results.flatMap(fresh));
  },
});
