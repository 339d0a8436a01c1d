// The suggestion engine for one project and embedding model: item vectors per level (image vectors, and the mean
// of an item's image vectors for series and studies), and per label group the current source of suggestions —
// zero-shot from the model's text-embedding head, kNN votes while labels are few, or a logistic adapter once
// cross-validation shows it beats zero-shot — with its probabilities for every item and the queues built on them.
// It runs in suggest-worker.ts (off the thread that answers the UI); tests drive it directly.
import { EmbeddingStore } from '../inference/embedding-store.ts';
import { knnPredict } from './knn.ts';
import type { Adapter } from './logistic-adapter.ts';
import { adapterOutOfFold, predictAdapter, trainAdapter } from './logistic-adapter.ts';
import type { LabelledSet, Mode, Rows, Validation } from './suggest-math.ts';
import { accuracy, columnStats, validationOf } from './suggest-math.ts';
import { confidentQueue, labelErrors, uncertainQueue } from './suggest-queues.ts';
import { applyZeroShot, calibrateZeroShot, zeroShotLogits } from './zero-shot.ts';

export type SuggestionSource = 'zero-shot' | 'knn' | 'adapter';
/** Fewer labels than this and the adapter does not compete (its cross-validation would be noise). */
export const MIN_ADAPTER_LABELS = 10;

export interface LevelItems {
  /** CSR: item i's store rows are rows[offsets[i]..offsets[i+1]). */
  offsets: Int32Array;
  rows: Int32Array;
}

export interface EngineInit {
  /** The embedding store's folder: its vectors are read through EmbeddingStore, never by file name here. */
  storeDir: string;
  dim: number;
  levels: Record<string, LevelItems>;
}

export interface GroupJob {
  key: string;
  level: string;
  mode: Mode;
  /** Number of classes (labels of the group, in schema order). */
  k: number;
  /** Zero-shot head rows (labels × dim) and, per class, its row in the head or -1. */
  head: Float32Array | null;
  headRow: Int32Array;
  logitScale: number;
  /** Identifies the head's contents when they can change under the same rows (prompt heads); '' otherwise. */
  headKey?: string;
  /** Where the head came from, for the suggestion's detail (default: the model's label embeddings). */
  headSource?: string;
  labelled: LabelledSet;
}

export interface Accuracies { zeroShot: number | null; knn: number | null; adapter: number | null }

export interface GroupResult {
  key: string;
  source: SuggestionSource | null;
  /** items × K probabilities (empty when there is no source). */
  probs: Float32Array;
  uncertain: { order: Int32Array; score: Float32Array };
  confident: { order: Int32Array; score: Float32Array };
  /** Labelled items the out-of-fold predictions contradict (item rows), with the contradicting class. */
  errors: { order: Int32Array; cls: Int32Array; margin: Float32Array; probs: Float32Array };
  accuracies: Accuracies;
  /** The chosen source on held-out labels (accuracy with CI, confusion, recall); null before validation. */
  validation: Validation | null;
  labelled: number;
  /** Whether the accuracies come from cross-validation run on this label set. */
  validated: boolean;
  detail: string;
}

interface GroupState {
  source: SuggestionSource | null;
  adapter: Adapter | null;
  accuracies: Accuracies;
  validation: Validation | null;
  errors: GroupResult['errors'];
  zs: { sig: string; logits: Float32Array } | null;
}

const emptyErrors = (): GroupResult['errors'] => ({ order: new Int32Array(0), cls: new Int32Array(0), margin: new Float32Array(0), probs: new Float32Array(0) });

/** Mean of each item's store rows, unit length: one row per item. */
export function itemMatrix(all: Float32Array, dim: number, items: LevelItems): Rows {
  const n = items.offsets.length - 1;
  const data = new Float32Array(Math.max(0, n) * dim);
  for (let i = 0; i < n; i++) {
    const from = items.offsets[i]!;
    const to = items.offsets[i + 1]!;
    const o = i * dim;
    for (let r = from; r < to; r++) {
      const src = items.rows[r]! * dim;
      for (let d = 0; d < dim; d++) data[o + d]! += all[src + d]!;
    }
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += data[o + d]! ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let d = 0; d < dim; d++) data[o + d]! /= norm;
  }
  return { data, n: Math.max(0, n), dim };
}

export class SuggestEngine {
  private readonly levels = new Map<string, { x: Rows; stats: { mean: Float64Array; std: Float64Array } }>();
  private readonly groups = new Map<string, GroupState>();

  constructor(init: EngineInit) {
    const { count, vectors: all } = EmbeddingStore.readSnapshot(init.storeDir, init.dim);
    for (const [level, items] of Object.entries(init.levels)) {
      for (const r of items.rows) if (r < 0 || r >= count) throw new Error(`suggestions: store row ${r} is outside 0..${count - 1} of the embedding store ${init.storeDir}`);
      const x = itemMatrix(all, init.dim, items);
      this.levels.set(level, { x, stats: columnStats(x) });
    }
  }

  items(level: string): number {
    return this.levels.get(level)?.x.n ?? 0;
  }

  /**
   * New suggestions for a group from its current labels. `validate` also cross-validates every available source,
   * picks the best (zero-shot until an adapter with enough labels beats it) and looks for likely label errors;
   * without it the last choice is retrained and re-applied — the fast path after each accepted label.
   */
  refresh(job: GroupJob, validate: boolean): GroupResult {
    const lv = this.levels.get(job.level);
    const n = lv?.x.n ?? 0;
    const { k, mode, labelled } = job;
    const nLab = labelled.index.length;
    let st = this.groups.get(job.key);
    if (!st) {
      st = { source: null, adapter: null, accuracies: { zeroShot: null, knn: null, adapter: null }, validation: null, errors: emptyErrors(), zs: null };
      this.groups.set(job.key, st);
    }
    const result = (source: SuggestionSource | null, probs: Float32Array, detail: string): GroupResult => {
      const labelledMask = new Uint8Array(n);
      for (const i of labelled.index) labelledMask[i] = 1;
      let count = 0;
      for (let i = 0; i < n; i++) if (!labelledMask[i]) count++;
      const candidates = new Int32Array(source ? count : 0);
      if (source) for (let i = 0, j = 0; i < n; i++) if (!labelledMask[i]) candidates[j++] = i;
      return {
        key: job.key, source, probs,
        uncertain: source && lv ? uncertainQueue(lv.x, probs, k, mode, candidates) : { order: new Int32Array(0), score: new Float32Array(0) },
        confident: source ? confidentQueue(probs, k, mode, candidates) : { order: new Int32Array(0), score: new Float32Array(0) },
        errors: st!.errors, accuracies: st!.accuracies, validation: st!.validation, labelled: nLab, validated: validate, detail,
      };
    };
    if (!lv || n === 0) return result(null, new Float32Array(0), 'no embedded items at this level yet');

    // Zero-shot logits depend only on the vectors, the head and which head row each label uses. A new model means a
    // new engine (the worker is re-initialised), so within one engine the label-to-row mapping is the whole key.
    const hasHead = job.head !== null && job.headRow.some((r) => r >= 0) && (mode === 'sigmoid' || job.headRow.filter((r) => r >= 0).length >= 2);
    const sig = hasHead ? `${job.level}:${job.headRow.join(',')}:${job.logitScale}:${job.headKey ?? ''}` : '';
    if (hasHead && st.zs?.sig !== sig) st.zs = { sig, logits: zeroShotLogits(lv.x, job.head!, job.headRow, job.logitScale) };
    const zeroShot = (rows?: Int32Array): Float32Array => {
      const cal = calibrateZeroShot(st!.zs!.logits, n, k, mode, nLab > 0 ? labelled : null);
      return applyZeroShot(st!.zs!.logits, n, k, cal, rows);
    };
    const classesSeen = new Set<number>();
    for (let i = 0; i < nLab; i++) for (let c = 0; c < k; c++) if (labelled.targets[i * k + c]! > 0) classesSeen.add(c);
    const canKnn = nLab >= 2 && (mode === 'sigmoid' || classesSeen.size >= 2);
    const canAdapter = nLab >= MIN_ADAPTER_LABELS && (mode === 'sigmoid' || classesSeen.size >= 2);

    if (validate) {
      const acc: Accuracies = { zeroShot: null, knn: null, adapter: null };
      const oof: Partial<Record<SuggestionSource, Float32Array>> = {};
      if (hasHead && nLab > 0) {
        oof['zero-shot'] = zeroShot(labelled.index);
        acc.zeroShot = accuracy(oof['zero-shot'], labelled.targets, nLab, k, mode);
      }
      if (canKnn) {
        oof.knn = knnPredict(lv.x, labelled, k, mode, labelled.index, 7, Int32Array.from({ length: nLab }, (_, i) => i));
        acc.knn = accuracy(oof.knn, labelled.targets, nLab, k, mode);
      }
      if (canAdapter) {
        oof.adapter = adapterOutOfFold(lv.x, labelled, k, mode, lv.stats, 5, st.adapter);
        acc.adapter = accuracy(oof.adapter, labelled.targets, nLab, k, mode);
      }
      // Zero-shot holds until a learned source is better on held-out labels; kNN only bridges the first labels.
      let source: SuggestionSource | null = hasHead ? 'zero-shot' : null;
      const zsAcc = acc.zeroShot ?? -1;
      if (acc.adapter !== null && acc.adapter > zsAcc && acc.adapter >= (acc.knn ?? -1)) source = 'adapter';
      else if (acc.knn !== null && acc.knn > zsAcc && !(acc.adapter !== null && acc.adapter >= acc.knn)) source = 'knn';
      else if (!hasHead && acc.adapter !== null) source = 'adapter';
      else if (!hasHead && acc.knn !== null) source = 'knn';
      st.source = source;
      st.accuracies = acc;
      const used = source ? oof[source] : undefined;
      st.validation = used && source && nLab > 0 ? validationOf(source, used, labelled.targets, nLab, k, mode) : null;
      if (used && nLab > 0) {
        const e = labelErrors(used, labelled, k, mode);
        const probs = new Float32Array(e.position.length * k);
        e.position.forEach((p, j) => probs.set(used.subarray(p * k, (p + 1) * k), j * k));
        st.errors = { order: Int32Array.from(e.position, (p) => labelled.index[p]!), cls: e.cls, margin: e.margin, probs };
      } else st.errors = emptyErrors();
    } else if (st.source === null || (st.source === 'adapter' && !canAdapter) || (st.source === 'knn' && !canKnn)) {
      // No validated choice yet (or it no longer applies): zero-shot if there is a head, else what the labels allow.
      st.source = hasHead ? 'zero-shot' : canAdapter ? 'adapter' : canKnn ? 'knn' : null;
    }

    const fmt = (v: number | null): string => (v === null ? '–' : v.toFixed(2));
    const accText = `cross-validated accuracy: adapter ${fmt(st.accuracies.adapter)}, zero-shot ${fmt(st.accuracies.zeroShot)}, kNN ${fmt(st.accuracies.knn)}`;
    switch (st.source) {
      case 'zero-shot':
        return result('zero-shot', zeroShot(), `zero-shot from ${job.headSource ?? "the model's label embeddings"}${nLab >= 8 ? `, calibrated on ${nLab} labels` : ''}; ${accText}`);
      case 'knn':
        return result('knn', knnPredict(lv.x, labelled, k, mode, null), `votes of the 7 most similar of ${nLab} labelled items; ${accText}`);
      case 'adapter': {
        st.adapter = trainAdapter(lv.x, labelled, k, mode, lv.stats, st.adapter);
        return result('adapter', predictAdapter(lv.x, st.adapter), `logistic adapter trained on ${nLab} labels; ${accText}`);
      }
      default:
        return result(null, new Float32Array(0), hasHead ? 'no labels yet' : 'the model has no zero-shot head for these labels: label a few items to start suggestions');
    }
  }
}
