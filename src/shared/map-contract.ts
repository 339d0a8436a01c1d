// The embedding map's calls (map.*) and labelling a selection of it in one step (labels.bulk*), kept in their own
// block of the contract: a 2-D projection of the current model's embeddings per level, computed as a job and
// cached per model, and the points with what the renderer needs to colour them.
import { z } from 'zod';
import { LEVELS } from './label-schema.ts';

const Id = z.number().int().positive();
const GroupKey = z.string().min(1).max(64);
const LabelKey = z.string().min(1).max(64);

/** Most points one selection may label at once. */
export const MAX_BULK_ITEMS = 20_000;

export const MapSummary = z.object({
  level: z.enum(LEVELS),
  items: z.number().int(),
  /** Items the layout was fitted on (the rest were placed by their nearest fitted neighbours). */
  sample: z.number().int(),
  /** Whether this job fitted the layout (false: it placed every item on a saved fit, after a resume or for new items). */
  fitted: z.boolean(),
  /** Whether a fit saved by an earlier, unfinished job was taken up. */
  resumed: z.boolean(),
  seconds: z.number(),
  cancelled: z.boolean(),
});
export type MapSummary = z.infer<typeof MapSummary>;

/** A value per point, coded against a dictionary: `values[index[i]]`, or nothing where index is -1. */
export const Coded = z.object({ values: z.array(z.string()), index: z.array(z.number().int()) });
export type Coded = z.infer<typeof Coded>;

export const MapPoints = z.object({
  level: z.enum(LEVELS),
  /** false: no layout for this level and model yet (run map.start). */
  ready: z.boolean(),
  model: z.object({ name: z.string(), sha256: z.string() }).nullable(),
  createdAt: z.string(),
  /** Embedded items the layout does not hold yet (map.start places them without refitting). */
  unplaced: z.number().int(),
  /** A blinded read: suggestions, confidence and disagreement are left out. */
  blinded: z.boolean(),
  ids: z.array(z.number().int()),
  x: z.array(z.number()),
  y: z.array(z.number()),
  studyIds: z.array(z.number().int()),
  /** The image shown for each point (hover thumbnail, the viewer's first image). */
  instanceIds: z.array(z.number().int()),
  /** Label groups at this level or above it (a study's label colours its series and images). */
  groups: z.array(z.object({
    key: z.string(),
    name: z.string(),
    level: z.enum(LEVELS),
    /** Label key → name, for the legend. */
    names: z.record(z.string(), z.string()),
    /** The label decided (most specific; multi-label groups: the labels joined by '+', 'none' when none apply). */
    label: Coded,
    suggestion: Coded,
    /** The suggestion's probability per point (-1: none). */
    confidence: z.array(z.number()),
  })),
  /** Indexed DICOM attributes per point: modality, body part, study year, patient sex. */
  attributes: z.record(z.string(), Coded),
});
export type MapPoints = z.infer<typeof MapPoints>;

const RunningMap = z.object({ jobId: z.number().int(), level: z.string(), phase: z.string(), done: z.number().int(), total: z.number().int(), message: z.string() });

/** An item a bulk label would change, with why it deserves a look first. */
export const BulkTarget = z.object({
  itemId: z.number().int(),
  studyId: z.number().int(),
  instanceId: z.number().int().nullable(),
  /** Its current label (null: unlabelled). */
  labels: z.array(z.string()).nullable(),
  /** What the model suggests for it now (null: no suggestion, or a blinded read). */
  suggestion: z.array(z.string()).nullable(),
  /** It already carries another label than the one chosen. */
  otherLabel: z.boolean(),
  /** The model suggests another label than the one chosen. */
  disagrees: z.boolean(),
});
export type BulkTarget = z.infer<typeof BulkTarget>;

/** A review queue of the embeddings: each item with why it is there, and the item it was compared with. */
const ReviewQueue = z.object({
  level: z.enum(LEVELS),
  /** false: no nearest-neighbour graph for this level yet (map.start computes it with the map). */
  ready: z.boolean(),
  /** Whether the neighbours were found by exact search (small projects) or an HNSW index. */
  exact: z.boolean(),
  total: z.number().int(),
  items: z.array(z.object({
    itemId: z.number().int(),
    studyId: z.number().int(),
    instanceId: z.number().int().nullable(),
    /** Duplicates: the cosine similarity; outliers: the mean cosine distance to the nearest neighbours. */
    score: z.number(),
    reason: z.string(),
    other: z.object({ itemId: z.number().int(), studyId: z.number().int(), instanceId: z.number().int().nullable() }).nullable(),
  })),
});

export const mapCalls = {
  /** Computes (or refreshes) the map of a level: a job (job.progress kind "map"). `refit`: fit the layout anew. */
  'map.start': {
    input: z.object({
      level: z.enum(LEVELS).default('image'),
      refit: z.boolean().default(false),
      /** Items the UMAP layout is fitted on; the rest are placed by their nearest fitted neighbours. */
      sampleSize: z.number().int().min(10).max(20_000).default(3000),
    }).strict(),
    result: z.object({ jobId: z.number().int() }),
  },
  'map.cancel': { input: z.object({ jobId: Id }).strict(), result: z.object({ ok: z.boolean() }) },
  'map.status': {
    input: z.object({}).strict(),
    result: z.object({
      running: RunningMap.nullable(),
      interrupted: z.object({ jobId: z.number().int(), level: z.string() }).nullable(),
      levels: z.array(z.object({ level: z.enum(LEVELS), ready: z.boolean(), points: z.number().int(), createdAt: z.string() })),
      last: MapSummary.nullable(),
      error: z.string(),
    }),
  },
  /** Near-duplicate pairs (cosine ≥ threshold), most similar first; different patient IDs are called out (split leakage). */
  'review.duplicates': {
    input: z.object({ level: z.enum(LEVELS).default('image'), threshold: z.number().min(0.5).max(1).default(0.998), limit: z.number().int().min(1).max(5000).default(200) }).strict(),
    result: ReviewQueue,
  },
  /** Items far from their nearest neighbours (robust z-score of the mean distance ≥ zMin), most isolated first. */
  'review.outliers': {
    input: z.object({ level: z.enum(LEVELS).default('image'), zMin: z.number().min(0).max(100).default(3.5), limit: z.number().int().min(1).max(5000).default(200) }).strict(),
    result: ReviewQueue,
  },
  'map.points': { input: z.object({ level: z.enum(LEVELS).default('image') }).strict(), result: MapPoints },
  /**
   * What labelling a selection of map points would do: the points (items of `level`) become the items of the
   * group's level that hold them, and each is checked against its current label and the model's suggestion.
   */
  'labels.bulkPreview': {
    input: z.object({ group: GroupKey, labels: z.array(LabelKey).max(100), level: z.enum(LEVELS), itemIds: z.array(Id).min(1).max(MAX_BULK_ITEMS) }).strict(),
    result: z.object({
      group: z.string(),
      level: z.enum(LEVELS),
      /** The items that would be labelled (the group's level). */
      targets: z.array(BulkTarget),
      /** Already holding exactly the chosen labels (nothing to write). */
      unchanged: z.number().int(),
      otherLabel: z.number().int(),
      disagree: z.number().int(),
    }),
  },
  /** Labels items of the group's level in ONE undoable step; every item is an event with source "bulk". */
  'labels.bulkSet': {
    input: z.object({ group: GroupKey, labels: z.array(LabelKey).max(100), itemIds: z.array(Id).min(1).max(MAX_BULK_ITEMS) }).strict(),
    result: z.object({ written: z.number().int(), unchanged: z.number().int(), eventIds: z.array(z.number().int()), batch: z.number().int().nullable() }),
  },
} as const;
