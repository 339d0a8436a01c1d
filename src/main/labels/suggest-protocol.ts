// The suggestion worker's protocol (see inference/worker-rpc.ts). Results carry typed arrays that the worker
// transfers back, so publishing suggestions for 100k items costs main no copy.
import type { EngineInit, GroupJob, GroupResult } from './suggest-engine.ts';

export interface SuggestProtocol {
  /** Loads the item vectors of one embedding model; answers the item count per level. */
  init: { request: EngineInit; reply: Record<string, number> };
  /** New suggestions and queues for every group; `validate` also cross-validates and looks for label errors. */
  refresh: { request: { jobs: GroupJob[]; validate: boolean }; reply: GroupResult[] };
}
