// The model calls of the contract (models.*): the installed model packages, adding one from a folder, the project's
// active model, and how each embedded model does on the project's own labels.
import { z } from 'zod';
import { LEVELS } from './label-schema.ts';

export const InstalledModel = z.object({
  /**
   * What models.setActive takes: 'builtin', or the package's folder name among the installed packages (an active
   * package used from another folder, by `lightbox embed --model <dir>`, is listed with that folder).
   */
  id: z.string(),
  name: z.string(),
  version: z.string(),
  licence: z.string(),
  description: z.string(),
  dim: z.number().int(),
  /** The package has a text tower: zero-shot from the schema's prompts and text search. */
  textEncoder: z.boolean(),
  /** The package has a precomputed zero-shot head (label embeddings made offline). */
  zeroShotHead: z.boolean(),
  dir: z.string(),
  /** The model hash embeddings are keyed by. */
  sha256: z.string(),
  active: z.boolean(),
  /** Images of this project with a vector from this model. */
  embedded: z.number().int(),
  /** The execution provider its session runs on; null while it has no session. */
  provider: z.string().nullable(),
  providerFallback: z.string(),
  /** Why the package cannot be used (it failed verification); empty when it is fine. */
  error: z.string(),
});
export type InstalledModel = z.infer<typeof InstalledModel>;

/** An accuracy over `n` labelled items, with its 95 % Wilson interval. */
export const Accuracy = z.object({ accuracy: z.number(), low: z.number(), high: z.number(), n: z.number().int() });
export type Accuracy = z.infer<typeof Accuracy>;

export const ModelComparison = z.object({
  folds: z.number().int(),
  groups: z.array(z.object({ key: z.string(), name: z.string(), level: z.enum(LEVELS), kind: z.enum(['single', 'multi']), labelled: z.number().int() })),
  models: z.array(InstalledModel.pick({ sha256: true, name: true, version: true, dim: true, embedded: true, active: true, textEncoder: true }).extend({
    /** Why figures are missing for the whole model (its package is gone or changed), or empty. */
    note: z.string(),
    groups: z.array(z.object({
      key: z.string(),
      /** Labelled items of the group that have this model's vectors. */
      labelled: z.number().int(),
      /** k-fold cross-validated accuracy of the logistic adapter on the labels (multi-label: the share of the group's labels decided right per item, as the label status counts it). */
      adapter: Accuracy.nullable(),
      /** Zero-shot from the model's text side (the prompts, else the package's head), untrained and uncalibrated, over the same items. */
      zeroShot: Accuracy.nullable(),
      zeroShotSource: z.enum(['prompts', 'head']).nullable(),
      notes: z.array(z.string()),
    })),
  })),
});
export type ModelComparison = z.infer<typeof ModelComparison>;

const MODEL_ID_RULE = "must be 'builtin' or an installed package's folder name (models.list)";
const ModelId = z.string().min(1).max(255).regex(/^[A-Za-z0-9._-]+$/, MODEL_ID_RULE).refine((s) => s !== '.' && s !== '..', MODEL_ID_RULE);

export const modelCalls = {
  /** The installed model packages (the built-in one first), each verified, with which one the project uses. */
  'models.list': {
    input: z.object({}).strict(),
    result: z.object({ active: z.string(), models: z.array(InstalledModel) }),
  },
  /** Verifies the package in `folder` and copies it into the installed packages (Lightbox's home, models/). */
  'models.add': {
    input: z.object({ folder: z.string().min(1).max(4096) }).strict(),
    result: z.object({ model: InstalledModel, alreadyInstalled: z.boolean() }),
  },
  /** Makes an installed package the project's model: suggestions, text search, the map and `lightbox embed` use it. */
  'models.setActive': {
    input: z.object({ id: ModelId }).strict(),
    result: z.object({ active: z.string(), model: InstalledModel }),
  },
  /**
   * For every model with vectors in this project and every label group: the adapter's k-fold cross-validated
   * accuracy on the labels given so far, and zero-shot accuracy on the same items.
   */
  'models.compare': {
    input: z.object({ folds: z.number().int().min(2).max(20).default(5) }).strict(),
    result: ModelComparison,
  },
} as const;
