// What the model says of a set of labelled items, for comparing it with readers (readers/model-vs-readers.ts):
// zero-shot probabilities from the package's text-embedding head at the package's own scale (calibrating on the
// items would fit the answer), and out-of-fold adapter probabilities — k-fold over the given items, each fold
// predicted by a logistic adapter trained on the other folds' labels only. Computed on the calling thread: a few
// hundred items train in well under a second; the vectors are the suggestions' (same model choice as the refresher).
import { mostSpecific } from '../../shared/label-schema.ts';
import type { LabelGroup } from '../../shared/label-schema.ts';
import type { EmbedService } from '../inference/embed-service.ts';
import { EmbeddingStore } from '../inference/embedding-store.ts';
import type { LabelRepository } from '../project/label-repo.ts';
import { adapterOutOfFold } from './logistic-adapter.ts';
import { MIN_ADAPTER_LABELS, itemMatrix } from './suggest-engine.ts';
import { groupJob } from './suggest-jobs.ts';
import { columnStats } from './suggest-math.ts';
import type { LabelledSet, Rows } from './suggest-math.ts';
import { applyZeroShot, calibrateZeroShot, zeroShotLogits } from './zero-shot.ts';

export interface ModelPredictions {
  model: { name: string; sha256: string } | null;
  /** The items that have vectors, in the order of the probability rows. */
  uids: string[];
  /** uids.length × K (the group's labels in schema order), or null with why. */
  zeroShot: Float32Array | null;
  adapter: Float32Array | null;
  folds: number;
  notes: string[];
}

/** `items`: item UID → its label (a single-choice group's label; its most specific class is the target). */
export async function modelPredictions(repo: LabelRepository, embeddings: EmbedService, g: LabelGroup, items: ReadonlyMap<string, string>, folds = 5): Promise<ModelPredictions> {
  const notes: string[] = [];
  const pkg = await embeddings.resolveModel().catch(() => null);
  const er = embeddings.repo;
  const current = pkg ? er.model(pkg.sha256) : undefined;
  const row = [current, ...er.models().reverse()].find((m) => m !== undefined && er.embeddedImages(m.id) > 0);
  if (!row) return { model: null, uids: [], zeroShot: null, adapter: null, folds, notes: ['no embeddings yet: run Embed first'] };
  const li = repo.levelIndex(g.level, row.id);
  const pos = new Map(li.uids.map((u, i) => [u, i]));
  const { vectors } = EmbeddingStore.readSnapshot(row.storeDir, row.dim);
  const x = itemMatrix(vectors, row.dim, li);
  const k = g.labels.length;
  const classOf = new Map(g.labels.map((l, i) => [l.key, i]));
  const uids: string[] = [];
  const index: number[] = [];
  const targets: number[] = [];
  for (const [uid, label] of items) {
    const at = pos.get(uid);
    const leaf = mostSpecific(g, [label]).at(-1);
    if (at === undefined || leaf === undefined || !classOf.has(leaf)) continue;
    uids.push(uid);
    index.push(at);
    targets.push(classOf.get(leaf)!);
  }
  const missing = items.size - uids.length;
  if (missing > 0) notes.push(`${missing} item(s) without vectors left out of the model's figures`);
  const set: LabelledSet = { index: Int32Array.from(index), targets: new Float32Array(uids.length * k) };
  targets.forEach((c, i) => { set.targets[i * k + c] = 1; });

  const classes = new Set(targets).size;
  let adapter: Float32Array | null = null;
  if (uids.length < MIN_ADAPTER_LABELS || classes < 2) notes.push(`adapter: needs at least ${MIN_ADAPTER_LABELS} reference labels of two or more classes (has ${uids.length} of ${classes})`);
  else adapter = adapterOutOfFold(x, set, k, 'softmax', columnStats(x), folds);

  let zeroShot: Float32Array | null = null;
  const zs = pkg && pkg.sha256 === row.sha256 ? pkg.zeroShot : null;
  if (!zs) notes.push('zero-shot: the model package has no text-embedding head (or its vectors are an older model\'s)');
  else {
    const job = groupJob(g, new Map(), { ...li, pos }, zs);
    const sub: Rows = { data: new Float32Array(uids.length * row.dim), n: uids.length, dim: row.dim };
    index.forEach((r, i) => sub.data.set(x.data.subarray(r * row.dim, (r + 1) * row.dim), i * row.dim));
    const logits = zeroShotLogits(sub, job.head!, job.headRow, job.logitScale);
    zeroShot = applyZeroShot(logits, uids.length, k, calibrateZeroShot(logits, uids.length, k, 'softmax', null));
  }
  return { model: { name: row.name, sha256: row.sha256 }, uids, zeroShot, adapter, folds, notes };
}
