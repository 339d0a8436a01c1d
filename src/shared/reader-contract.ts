// The reader-study calls of the contract (readers.*, reading.*), kept in their own block: named local readers, the
// current reader, reading studies with blinded per-reader reads, and agreement between readers.
import { z } from 'zod';
import { ErrorAnalysis, StudyComparison } from './reader-compare.ts';

const Name = z.string().trim().min(1, 'name must not be empty').max(100);
const StudyId = z.number().int().min(1);
const ReaderList = z.object({ readers: z.array(z.object({ name: z.string(), createdAt: z.string() })), current: z.string().nullable() });

const ReaderProgress = z.object({ reader: z.string(), done: z.number().int(), total: z.number().int() });
export const ReadingStudy = z.object({
  id: z.number().int(),
  name: z.string(),
  group: z.string(),
  items: z.number().int(),
  readers: z.array(z.string()),
  seed: z.number().int(),
  repeatShare: z.number(),
  /** Readers see nothing of the model (suggestions, scores, model-ranked queues) for the study's items until it is unblinded. */
  blindedToModel: z.boolean(),
  createdBy: z.string(),
  createdAt: z.string(),
  unblinded: z.boolean(),
  progress: z.array(ReaderProgress),
});
export type ReadingStudy = z.infer<typeof ReadingStudy>;

const Read = z.object({ reader: z.string(), position: z.number().int(), itemUid: z.string(), repeat: z.boolean(), labels: z.array(z.string()), at: z.string() });

const CI = z.object({ low: z.number().nullable(), high: z.number().nullable(), resamples: z.number().int(), valid: z.number().int(), seed: z.number().int() });
const StatCI = z.object({ value: z.number().nullable(), n: z.number().int(), note: z.string().nullable(), ci: CI });
const PairAgreement = z.object({
  a: z.string(), b: z.string(),
  percent: StatCI, kappa: StatCI, kappaLinear: StatCI, kappaQuadratic: StatCI,
  /** Rows: reader a's category, columns: reader b's (order of `categories`). */
  confusion: z.array(z.array(z.number().int())),
});
const LevelAgreement = z.object({
  /** 'label': the most specific label; 'top': the top of the hierarchy (e.g. normal vs abnormal); 'under:<key>': the subtypes among items every reader put under <key>. */
  level: z.string(),
  categories: z.array(z.string()),
  fleiss: StatCI.extend({ readers: z.number().int() }),
  alpha: StatCI,
  pairs: z.array(PairAgreement),
  /** Agreement of each reader with themselves on the repeated items (first read vs repeat). */
  intra: z.array(z.object({ reader: z.string(), percent: StatCI, kappa: StatCI })),
});
export const StudyAgreement = z.object({ study: z.number().int(), group: z.string(), items: z.number().int(), levels: z.array(LevelAgreement) });
export type StudyAgreement = z.infer<typeof StudyAgreement>;

export const readerCalls = {
  'readers.list': { input: z.object({}).strict(), result: ReaderList },
  'readers.create': { input: z.object({ name: Name }).strict(), result: ReaderList },
  /** The current reader: every study read is recorded under this name. */
  'readers.select': { input: z.object({ name: Name }).strict(), result: ReaderList },
  'reading.create': {
    input: z.object({
      name: Name,
      /** A single-choice label group of the project's schema. */
      group: z.string().min(1).max(64),
      /** Item UIDs at the group's level (study UIDs for a study-level group). */
      items: z.array(z.string().min(1).max(128)).min(1).max(100_000),
      readers: z.array(Name).min(1).max(50),
      seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
      /** Share of items shown a second time, after all first reads, for intra-reader agreement. */
      repeatShare: z.number().min(0).max(1).default(0),
      blindedToModel: z.boolean().default(true),
    }).strict(),
    result: ReadingStudy,
  },
  'reading.list': { input: z.object({}).strict(), result: z.array(ReadingStudy) },
  'reading.status': { input: z.object({ study: StudyId }).strict(), result: ReadingStudy },
  /** The current reader's next unread position in their own (seeded, randomised) order; null when done. No one else's reads. */
  'reading.next': {
    input: z.object({ study: StudyId }).strict(),
    result: z.object({ position: z.number().int(), itemUid: z.string(), done: z.number().int(), total: z.number().int() }).nullable(),
  },
  /**
   * What the current reader reads at a position of their order: the item's images and their own read so far —
   * never a suggestion, a score or another reader's read, whatever the study's options.
   */
  'reading.item': {
    input: z.object({ study: StudyId, position: z.number().int().min(0) }).strict(),
    result: z.object({
      position: z.number().int(), itemUid: z.string(), repeat: z.boolean(),
      level: z.enum(['study', 'series', 'image']), itemId: z.number().int(), studyId: z.number().int(), title: z.string(),
      images: z.array(z.object({ instanceId: z.number().int(), frames: z.number().int() })),
      /** This reader's read at this position, or null. */
      label: z.string().nullable(),
      done: z.number().int(), total: z.number().int(),
    }),
  },
  /** Records the current reader's read at a position of their order (a later read of the same position replaces it). */
  'reading.read': {
    input: z.object({ study: StudyId, position: z.number().int().min(0), label: z.string().min(1).max(64) }).strict(),
    result: z.object({ event: z.number().int(), done: z.number().int(), total: z.number().int() }),
  },
  /** Reads of the study: before unblinding only the current reader's own. */
  'reading.reads': { input: z.object({ study: StudyId }).strict(), result: z.object({ unblinded: z.boolean(), reads: z.array(Read) }) },
  'reading.unblind': { input: z.object({ study: StudyId }).strict(), result: ReadingStudy },
  'reading.agreement': {
    input: z.object({ study: StudyId, resamples: z.number().int().min(1).max(10_000).default(1000), seed: z.number().int().min(0).default(1) }).strict(),
    result: StudyAgreement,
  },
  /**
   * The reference standard (unblinded studies): per item the reference label and its basis. `rule` decides the
   * items readers did not all agree on: 'unanimous' sends every disagreement to adjudication; 'majority' takes a
   * strict majority of the first reads and sends ties. Adjudicated items keep their adjudication.
   */
  'reading.reference': {
    input: z.object({ study: StudyId, rule: z.enum(['unanimous', 'majority']).default('majority') }).strict(),
    result: z.object({
      items: z.array(z.object({
        itemUid: z.string(),
        reads: z.array(z.object({ reader: z.string(), label: z.string() })),
        label: z.string().nullable(),
        basis: z.enum(['unanimous', 'majority', 'adjudicated', 'pending']),
        adjudicator: z.string().nullable(),
      })),
      /** Items waiting for an adjudicator (basis 'pending'), reads side by side. */
      queue: z.array(z.string()),
    }),
  },
  /**
   * One item of an unblinded study for the adjudicator: its images, every reader's reads of it side by side (first
   * reads and repeats) and its reference label so far. Refused while the study is blinded.
   */
  'reading.case': {
    input: z.object({ study: StudyId, itemUid: z.string().min(1).max(128) }).strict(),
    result: z.object({
      itemUid: z.string(), level: z.enum(['study', 'series', 'image']), itemId: z.number().int(), studyId: z.number().int(), title: z.string(),
      images: z.array(z.object({ instanceId: z.number().int(), frames: z.number().int() })),
      reads: z.array(z.object({ reader: z.string(), label: z.string().nullable(), repeat: z.string().nullable() })),
      adjudication: z.object({ label: z.string(), adjudicator: z.string(), at: z.string() }).nullable(),
    }),
  },
  /**
   * The model against the readers on the reference standard (unblinded studies), per sub-task of the hierarchy:
   * accuracy, sensitivity and specificity per class with 95 % CIs for each reader and for the model (out-of-fold
   * adapter predictions and zero-shot), the model's macro AUC with a bootstrap CI, and its ROC curves.
   */
  'reading.compare': {
    input: z.object({
      study: StudyId,
      rule: z.enum(['unanimous', 'majority']).default('majority'),
      resamples: z.number().int().min(1).max(10_000).default(1000),
      seed: z.number().int().min(0).default(1),
      folds: z.number().int().min(2).max(20).default(5),
    }).strict(),
    result: StudyComparison,
  },
  /**
   * Where the model errs against the reference (unblinded studies): a decision tree (depth maxDepth, at least
   * minLeaf items a leaf) over item attributes and the project's labels of the item's other groups, predicting the
   * model's disagreement with the reference at one sub-task; and the attributes ranked by mutual information.
   */
  'reading.errors': {
    input: z.object({
      study: StudyId,
      rule: z.enum(['unanimous', 'majority']).default('majority'),
      source: z.enum(['adapter', 'zero-shot']).default('adapter'),
      level: z.string().min(1).max(80).default('label'),
      maxDepth: z.number().int().min(1).max(6).default(3),
      minLeaf: z.number().int().min(1).max(10_000).default(5),
      folds: z.number().int().min(2).max(20).default(5),
    }).strict(),
    result: ErrorAnalysis,
  },
  /** The current reader decides an item's reference label (unblinded studies only). */
  'reading.adjudicate': {
    input: z.object({ study: StudyId, itemUid: z.string().min(1).max(128), label: z.string().min(1).max(64) }).strict(),
    result: z.object({ event: z.number().int() }),
  },
} as const;
