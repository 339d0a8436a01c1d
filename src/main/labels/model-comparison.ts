// Which model suits this project's data: for every model with vectors here and every label group, the logistic
// adapter's k-fold cross-validated accuracy on the labels a person gave (each fold predicted by an adapter trained on
// the other folds only), and zero-shot accuracy on the same items from the model's text side — the schema's prompts
// through its text encoder, else its precomputed head — at the package's own scale (calibrating on the labels would
// fit the answer). Runs on the calling thread: a few hundred labels at 1024-d train in about a second.
import type { LabelGroup } from '../../shared/label-schema.ts';
import type { Accuracy, ModelComparison } from '../../shared/model-contract.ts';
import type { EmbedService } from '../inference/embed-service.ts';
import { EmbeddingStore } from '../inference/embedding-store.ts';
import type { ModelPackage } from '../inference/model-package.ts';
import type { LabelRepository } from '../project/label-repo.ts';
import type { EmbeddingModelRow } from '../project/embedding-repo.ts';
import { adapterOutOfFold } from './logistic-adapter.ts';
import { promptHead } from './prompt-heads.ts';
import { MIN_ADAPTER_LABELS, itemMatrix } from './suggest-engine.ts';
import { groupJob } from './suggest-jobs.ts';
import { accuracy, columnStats, wilson } from './suggest-math.ts';
import { applyZeroShot, calibrateZeroShot, zeroShotLogits } from './zero-shot.ts';

function scored(p: number, n: number): Accuracy {
  return { accuracy: p, ...wilson(p, n), n };
}

type ModelFigures = ModelComparison['models'][number];

async function packageOf(embeddings: EmbedService, row: EmbeddingModelRow): Promise<{ pkg: ModelPackage | null; note: string }> {
  try {
    const pkg = await embeddings.resolveModel(row.packageDir);
    if (pkg.sha256 !== row.sha256) return { pkg: null, note: `the package at ${row.packageDir} has changed since these vectors were made (another encoder or preprocessing); zero-shot is left out, the adapter figures stand` };
    return { pkg, note: '' };
  } catch (e) {
    return { pkg: null, note: `its package cannot be loaded (${e instanceof Error ? e.message : String(e)}); zero-shot is left out, the adapter figures stand` };
  }
}

async function groupFigures(repo: LabelRepository, embeddings: EmbedService, g: LabelGroup, row: EmbeddingModelRow, vectors: Float32Array, pkg: ModelPackage | null, folds: number): Promise<ModelFigures['groups'][number]> {
  const notes: string[] = [];
  const li = repo.levelIndex(g.level, row.id);
  const lv = { ...li, pos: new Map(li.uids.map((u, i) => [u, i])) };
  const x = itemMatrix(vectors, row.dim, li);
  const job = groupJob(g, repo.labelled(g.key, g.level), lv, pkg?.zeroShot ?? null);
  const set = job.labelled;
  const n = set.index.length;
  const k = job.k;
  const mode = job.mode;

  let adapter: Accuracy | null = null;
  const classes = new Set<number>();
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) if (set.targets[i * k + c]! > 0) classes.add(c);
  if (n < MIN_ADAPTER_LABELS || (mode === 'softmax' && classes.size < 2)) {
    notes.push(`adapter: needs at least ${MIN_ADAPTER_LABELS} labelled items of two or more labels (has ${n} of ${classes.size})`);
  } else {
    const oof = adapterOutOfFold(x, set, k, mode, columnStats(x), Math.min(folds, n));
    adapter = scored(accuracy(oof, set.targets, n, k, mode), n);
  }

  let zeroShot: Accuracy | null = null;
  let zeroShotSource: 'prompts' | 'head' | null = null;
  let head = job.head;
  let headRow = job.headRow;
  let logitScale = job.logitScale;
  if (pkg?.text) {
    const ph = await promptHead(g, pkg, embeddings.text, job);
    if (ph) {
      ({ head, headRow, logitScale } = ph);
      notes.push(...ph.notes);
      zeroShotSource = 'prompts';
    }
  } else if (head) zeroShotSource = 'head';
  if (!pkg) zeroShotSource = null;
  else if (!head || !headRow.some((r) => r >= 0)) {
    zeroShotSource = null;
    notes.push(pkg.text ? 'zero-shot: no label of the group has a prompt the text encoder can score' : 'zero-shot: the package has no text encoder and no head row for these labels');
  } else if (n === 0) notes.push('zero-shot: no labelled items to score yet');
  else {
    const logits = zeroShotLogits(x, head, headRow, logitScale);
    const probs = applyZeroShot(logits, x.n, k, calibrateZeroShot(logits, x.n, k, mode, null), set.index);
    zeroShot = scored(accuracy(probs, set.targets, n, k, mode), n);
  }
  return { key: g.key, labelled: n, adapter, zeroShot, zeroShotSource: zeroShot ? zeroShotSource : null, notes };
}

/** The figures of every embedded model of the project, the active one first. */
export async function compareModels(repo: LabelRepository, groups: LabelGroup[], embeddings: EmbedService, folds = 5): Promise<ModelComparison> {
  const er = embeddings.repo;
  const active = await embeddings.resolveModel().catch(() => null);
  const rows = er.models().filter((m) => er.embeddedImages(m.id) > 0)
    .sort((a, b) => Number(b.sha256 === active?.sha256) - Number(a.sha256 === active?.sha256) || a.id - b.id);
  const models: ModelFigures[] = [];
  for (const row of rows) {
    const { pkg, note } = await packageOf(embeddings, row);
    const { vectors } = EmbeddingStore.readSnapshot(row.storeDir, row.dim);
    const figures: ModelFigures['groups'] = [];
    for (const g of groups) figures.push(await groupFigures(repo, embeddings, g, row, vectors, pkg, folds));
    models.push({
      sha256: row.sha256, name: row.name, version: row.version, dim: row.dim, embedded: er.embeddedImages(row.id),
      active: row.sha256 === active?.sha256, textEncoder: !!pkg?.text, note, groups: figures,
    });
  }
  return {
    folds,
    groups: groups.map((g) => ({ key: g.key, name: g.name, level: g.level, kind: g.kind, labelled: repo.labelled(g.key, g.level).size })),
    models,
  };
}
