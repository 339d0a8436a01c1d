// The model-vs-readers comparison of a reading study (call reading.compare): against the study's reference
// standard, per sub-task of the hierarchy, each reader's and the model's accuracy, sensitivity and specificity per
// class (Wilson 95 % intervals), the model's macro one-vs-rest AUC (bootstrap 95 % interval) and ROC curves; and the
// table as CSV. Pure: zod and this file only.
import { z } from 'zod';

const Int = z.number().int();
/** A proportion k/n with its Wilson 95 % interval; value null when n is 0. */
const Prop = z.object({ value: z.number().nullable(), k: Int, n: Int, low: z.number().nullable(), high: z.number().nullable() });
const ClassMetrics = z.object({
  category: z.string(),
  /** Items whose reference is this category. */
  positives: Int,
  sensitivity: Prop,
  specificity: Prop,
  /** One-vs-rest AUC of the model's probability for this category (models only; null when undefined). */
  auc: z.number().nullable(),
});
const Rater = z.object({
  kind: z.enum(['model', 'reader']),
  /** 'adapter (out-of-fold)', 'zero-shot', or the reader's name. */
  name: z.string(),
  n: Int,
  accuracy: Prop,
  classes: z.array(ClassMetrics),
  /** Mean one-vs-rest AUC over the categories with positives and negatives (models only). */
  macroAuc: z.object({ value: z.number().nullable(), low: z.number().nullable(), high: z.number().nullable(), classes: Int, resamples: Int, valid: Int, note: z.string().nullable() }).nullable(),
});
const Roc = z.object({ rater: z.string(), category: z.string(), auc: z.number().nullable(), fpr: z.array(z.number()), tpr: z.array(z.number()) });
const Level = z.object({
  /** As in reading.agreement: 'label', 'top', 'under:<key>' (items whose reference is under <key>). */
  level: z.string(),
  categories: z.array(z.string()),
  n: Int,
  raters: z.array(Rater),
  roc: z.array(Roc),
});
export const StudyComparison = z.object({
  study: Int,
  group: z.string(),
  rule: z.enum(['unanimous', 'majority']),
  /** Items with a reference label (pending ones are left out until adjudicated). */
  items: Int,
  pending: Int,
  model: z.object({ name: z.string(), sha256: z.string() }).nullable(),
  folds: Int,
  notes: z.array(z.string()),
  levels: z.array(Level),
});
export type StudyComparison = z.infer<typeof StudyComparison>;

const cell = (v: string | number | null): string => {
  const s = v === null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const num = (v: number | null): string => (v === null ? '' : String(Math.round(v * 1e6) / 1e6));

/** One row per level, rater and category (plus an 'all' row with accuracy and macro AUC). */
export function comparisonCsv(c: StudyComparison): string {
  const head = ['level', 'rater', 'kind', 'category', 'n', 'positives', 'accuracy', 'accuracy_low', 'accuracy_high', 'sensitivity', 'sensitivity_low', 'sensitivity_high',
    'specificity', 'specificity_low', 'specificity_high', 'auc', 'auc_low', 'auc_high'];
  const rows = [head.join(',')];
  for (const l of c.levels) {
    for (const r of l.raters) {
      rows.push([l.level, r.name, r.kind, 'all', r.n, '', num(r.accuracy.value), num(r.accuracy.low), num(r.accuracy.high), '', '', '', '', '', '',
        num(r.macroAuc?.value ?? null), num(r.macroAuc?.low ?? null), num(r.macroAuc?.high ?? null)].map((v) => cell(v)).join(','));
      for (const k of r.classes) {
        rows.push([l.level, r.name, r.kind, k.category, r.n, k.positives, '', '', '', num(k.sensitivity.value), num(k.sensitivity.low), num(k.sensitivity.high),
          num(k.specificity.value), num(k.specificity.low), num(k.specificity.high), num(k.auc), '', ''].map((v) => cell(v)).join(','));
      }
    }
  }
  return `${rows.join('\n')}\n`;
}

/** Where the model errs against a study's reference: a shallow decision tree over item attributes (reading.errors). */
export const ErrorAnalysis = z.object({
  study: Int,
  group: z.string(),
  /** The sub-task (as reading.compare's levels) and the model source whose errors are explained. */
  level: z.string(),
  source: z.enum(['adapter', 'zero-shot']),
  rule: z.enum(['unanimous', 'majority']),
  n: Int,
  errors: Int,
  maxDepth: Int,
  minLeaf: Int,
  attributes: z.array(z.string()),
  /** The items the model gets wrong at this sub-task. */
  wrong: z.array(z.string()),
  /** Attributes by mutual information with the error (nats), highest first. */
  ranking: z.array(z.object({ attribute: z.string(), mutualInformation: z.number() })),
  /** Depth-first; node 0 is the root; children are [the rest, those with the value]. */
  nodes: z.array(z.object({
    id: Int, depth: Int, n: Int, errors: Int, errorRate: z.number(),
    condition: z.object({ attribute: z.string(), value: z.string(), equals: z.boolean() }).nullable(),
    children: z.array(Int),
    /** The node's items (UIDs at the group's level) and their studies' ids, to open them. */
    items: z.array(z.string()),
    studyIds: z.array(Int),
  })),
  notes: z.array(z.string()),
});
export type ErrorAnalysis = z.infer<typeof ErrorAnalysis>;
