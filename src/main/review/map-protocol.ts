// The map worker's protocol (see inference/worker-rpc.ts). The job in main drives the worker one short step at a
// time (load, a few UMAP epochs, a chunk of placements), so it can report progress and stop at any step.
import type { Pca } from './projection-math.ts';

/** What a finished fit is: the PCA, the sample's reduced vectors and their map positions. Saved for resume. */
export interface FitState { pca: Pca; fitted: Float32Array; coords: Float32Array }

export interface MapProtocol {
  /** Reads the store, pools item vectors, fits the PCA on a sample (or takes `fit`'s) and reduces every item. */
  load: {
    request: { storeDir: string; dim: number; offsets: Int32Array; rows: Int32Array; sampleSize: number; pcaDims: number; seed: number; fit: FitState | null };
    reply: { items: number; sample: number; fitted: boolean };
  };
  /** Builds the UMAP graph of the sample; answers how many epochs the fit will take. */
  fitInit: { request: { nNeighbors: number; seed: number }; reply: { epochs: number } };
  /** Runs up to `count` epochs; answers the epoch reached. */
  fitSteps: { request: { count: number }; reply: { epoch: number } };
  /** Ends the fit: the state to save. */
  fitDone: { request: Record<string, never>; reply: FitState };
  /** Places items from..to by their nearest fitted neighbours. */
  place: { request: { from: number; to: number }; reply: { placed: number } };
  /**
   * Prepares the nearest-neighbour search over the items' full vectors: exact below `exactBelow` items, else an
   * HNSW index (usearch) filled chunk by chunk with `neighboursAdd`. Answers whether the search is exact.
   */
  neighboursInit: { request: { exactBelow: number }; reply: { exact: boolean } };
  neighboursAdd: { request: { from: number; to: number; threads: number }; reply: { added: number } };
  /** The `k` nearest other items of items from..to (cosine similarity); -1 where there are fewer. */
  neighboursSearch: { request: { from: number; to: number; k: number; threads: number }; reply: { nn: Int32Array; sim: Float32Array } };
  /** The map position of every item (n × 2). */
  layout: { request: Record<string, never>; reply: { xy: Float32Array } };
}
