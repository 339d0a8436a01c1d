// The one API contract between the renderer and main. Every call the renderer can make and every event main can
// push is declared here once, with runtime schemas; both hosts (Electron IPC, loopback HTTP/WebSocket) and the
// renderer client derive their types and channel names from this file and nowhere else.
import { z } from 'zod';
import { LEVELS, LabelSchema } from './label-schema.ts';
import { mapCalls } from './map-contract.ts';
import { JobProgress } from './job-contract.ts';
import { readerCalls } from './reader-contract.ts';
import { textCalls } from './text-contract.ts';
import { pacsCalls } from './pacs-contract.ts';
import { modelCalls } from './model-contract.ts';

export { LabelSchema } from './label-schema.ts';
export { ReadingStudy, StudyAgreement } from './reader-contract.ts';
export { PromptAuc, TextHit } from './text-contract.ts';
export { Coded, MapPoints, MapSummary } from './map-contract.ts';
export { InstalledModel, ModelComparison } from './model-contract.ts';

// ---- domain records (results) ----

/** The index counts a project and an import summary both report. */
export const IndexCounts = z.object({
  patients: z.number().int(),
  studies: z.number().int(),
  series: z.number().int(),
  instances: z.number().int(),
  imageInstances: z.number().int(),
  nonImageInstances: z.number().int(),
});

export const ProjectInfo = IndexCounts.extend({
  dir: z.string(),
  name: z.string(),
  schemaVersion: z.number().int(),
  /** Opened without write access (a read-only folder or disk): viewing works, labelling, imports and exports do not. */
  readOnly: z.boolean(),
  rejectedFiles: z.number().int(),
  interruptedImport: z.object({ jobId: z.number().int(), root: z.string() }).nullable(),
});
export type ProjectInfo = z.infer<typeof ProjectInfo>;

export const StudyRow = z.object({
  id: z.number().int(),
  studyUid: z.string(),
  patientName: z.string(),
  patientId: z.string(),
  patientBirthDate: z.string(),
  patientSex: z.string(),
  studyDate: z.string(),
  studyTime: z.string(),
  description: z.string(),
  accession: z.string(),
  modalities: z.string(),
  seriesCount: z.number().int(),
  instanceCount: z.number().int(),
});
export type StudyRow = z.infer<typeof StudyRow>;

/** A worklist row: the study, how far its labelling is, and one image to show small. */
export const WorklistRow = StudyRow.extend({
  /** Items of the study (the study, its series, its images) with a label decided in any group. */
  labelled: z.number().int(),
  /** Items flagged for a second opinion. */
  flagged: z.number().int(),
  /** Labelled items whose current label is an accepted suggestion (one by one or in bulk). */
  suggested: z.number().int(),
  /** The first image of the first image series, by instance id (the renderer draws it through the instance route). */
  thumbnail: z.object({ instanceId: z.number().int(), frames: z.number().int() }).nullable(),
});
export type WorklistRow = z.infer<typeof WorklistRow>;

export const InstanceRef = z.object({
  id: z.number().int(),
  instanceNumber: z.number().nullable(),
  frames: z.number().int(),
  isImage: z.boolean(),
});
export type InstanceRef = z.infer<typeof InstanceRef>;

export const SeriesRow = z.object({
  id: z.number().int(),
  seriesUid: z.string(),
  seriesNumber: z.number().nullable(),
  modality: z.string(),
  bodyPart: z.string(),
  description: z.string(),
  instanceCount: z.number().int(),
  imageCount: z.number().int(),
  frameCount: z.number().int(),
  rows: z.number().int().nullable(),
  columns: z.number().int().nullable(),
  transferSyntaxes: z.array(z.string()),
  sopClasses: z.array(z.string()),
  instances: z.array(InstanceRef),
});
export type SeriesRow = z.infer<typeof SeriesRow>;

export const TagRow = z.object({
  tag: z.string(),
  name: z.string(),
  vr: z.string(),
  value: z.string(),
  depth: z.number().int(),
});
export type TagRow = z.infer<typeof TagRow>;

/** One content item of a structured report, in document order; `depth` 0 is the root container. */
export const DocumentNode = z.object({
  depth: z.number().int(),
  relationship: z.string(),
  valueType: z.string(),
  concept: z.string(),
  value: z.string(),
});
export type DocumentNode = z.infer<typeof DocumentNode>;

/** A non-image object read as a document: what it is, its key attributes and, for an SR, its content tree. */
export const DocumentView = z.object({
  sopClassUid: z.string(),
  sopClassName: z.string(),
  title: z.string(),
  isReport: z.boolean(),
  attributes: z.array(z.object({ name: z.string(), value: z.string() })),
  content: z.array(DocumentNode),
  truncated: z.boolean(),
});
export type DocumentView = z.infer<typeof DocumentView>;

export const RejectedFile = z.object({ path: z.string(), reason: z.string() });
export type RejectedFile = z.infer<typeof RejectedFile>;

export const ImportSummary = IndexCounts.extend({
  rejected: z.array(RejectedFile),
  scannedFiles: z.number().int(),
  newFiles: z.number().int(),
  unchangedFiles: z.number().int(),
  nonDicomFiles: z.number().int(),
  cancelled: z.boolean(),
});
export type ImportSummary = z.infer<typeof ImportSummary>;

export { JobProgress } from './job-contract.ts';

export const EmbedStatus = z.object({
  model: z
    .object({ name: z.string(), version: z.string(), sha256: z.string(), dim: z.number().int(), dir: z.string(), zeroShotLabels: z.array(z.string()) })
    .nullable(),
  /** The execution provider the session runs on (null until a session exists). */
  provider: z.string().nullable(),
  /** Why the provider asked for is not the one in use (empty when it is). */
  providerFallback: z.string(),
  images: z.number().int(),
  embedded: z.number().int(),
  failed: z.number().int(),
  seriesVectors: z.number().int(),
  job: JobProgress.nullable(),
  paused: z.boolean(),
  interrupted: z.object({ jobId: z.number().int(), model: z.string() }).nullable(),
});
export type EmbedStatus = z.infer<typeof EmbedStatus>;

/** embed.status as the UI gets it: the service's status and whether the machine has a GPU at all. */
export const EmbedStatusView = EmbedStatus.extend({ gpu: z.enum(['none', 'present', 'unknown']) });
export type EmbedStatusView = z.infer<typeof EmbedStatusView>;

export const Neighbour = z.object({
  instanceId: z.number().int(),
  seriesId: z.number().int(),
  studyId: z.number().int(),
  score: z.number(),
  patientName: z.string(),
  studyDescription: z.string(),
  seriesDescription: z.string(),
});
export type Neighbour = z.infer<typeof Neighbour>;

/** Largest image the renderer may send for embedding; it is resized to the model's input anyway. */
export const MAX_PIXELS_SIDE = 512;

// ---- labels ----

export const SUGGESTION_SOURCES = ['zero-shot', 'knn', 'adapter'] as const;
export const QUEUES = ['uncertain', 'confident', 'errors', 'unlabelled', 'flagged'] as const;
export type QueueName = (typeof QUEUES)[number];

export const Suggestion = z.object({
  /** The suggested value: one most specific label (single-choice), or every label above 0.5 (multi-label). */
  labels: z.array(z.string()),
  /** The probability of the suggested label (single-choice), or the mean certainty of the decisions (multi-label). */
  probability: z.number(),
  source: z.enum(SUGGESTION_SOURCES),
  modelName: z.string(),
  modelSha256: z.string(),
  detail: z.string(),
  /** Zero-shot from the schema's prompts: the prompt text behind the suggested label(s), recorded when accepted. */
  prompt: z.string().optional(),
  /** Every label of the group with its probability (a parent's includes its children's), highest first. */
  ranked: z.array(z.object({ label: z.string(), probability: z.number() })),
});
export type Suggestion = z.infer<typeof Suggestion>;

export const ItemImages = z.array(z.object({ instanceId: z.number().int(), frames: z.number().int() }));

export const ItemView = z.object({
  level: z.enum(LEVELS),
  itemId: z.number().int(),
  itemUid: z.string(),
  studyId: z.number().int(),
  title: z.string(),
  images: ItemImages,
  flagged: z.boolean(),
  note: z.string(),
  groups: z.array(z.object({
    key: z.string(),
    /** null: not labelled yet; [] in a multi-label group: the reader decided none apply. */
    labels: z.array(z.string()).nullable(),
    rejected: z.array(z.string()),
    suggestion: Suggestion.nullable(),
    /** Blinded first read: a suggestion exists but stays hidden until the reader commits or reveals it. */
    hidden: z.boolean(),
  })),
});
export type ItemView = z.infer<typeof ItemView>;

export const QueueItem = z.object({
  level: z.enum(LEVELS),
  itemId: z.number().int(),
  studyId: z.number().int(),
  title: z.string(),
  /** Why this item is here, in words. */
  reason: z.string(),
  score: z.number().nullable(),
  images: ItemImages,
});
export type QueueItem = z.infer<typeof QueueItem>;

export const LabelEvent = z.object({
  id: z.number().int(),
  at: z.string(),
  annotator: z.string(),
  action: z.string(),
  level: z.enum(LEVELS),
  itemUid: z.string(),
  group: z.string(),
  field: z.string(),
  value: z.unknown(),
  previous: z.unknown(),
  source: z.string(),
  suggested: z.string(),
  suggestionSource: z.string(),
  modelSha256: z.string(),
  modelDetail: z.string(),
  score: z.number().nullable(),
  blinded: z.boolean(),
  reverts: z.number().int().nullable(),
  batch: z.number().int().nullable(),
});
export type LabelEvent = z.infer<typeof LabelEvent>;

export const LabelAck = z.object({ eventId: z.number().int(), at: z.string(), item: ItemView });
export type LabelAck = z.infer<typeof LabelAck>;

export const Profile = z.object({
  /** Who the label events name: a stable local id. */
  annotator: z.string(),
  name: z.string(),
  /** Blinded first read: hide suggestions until the reader has committed a label or asks for them. */
  blinded: z.boolean(),
  /** Go to the next item as soon as a label is set or accepted. */
  autoAdvance: z.boolean(),
});
export type Profile = z.infer<typeof Profile>;

const Accuracy = z.number().nullable();
/** Cross-validated accuracy is reported only from this many labels on (from one label it says nothing). */
export const MIN_VALIDATION_LABELS = 10;
/** The current source of suggestions on held-out labels: accuracy with its 95 % interval, confusion and recall. */
export const Validation = z.object({
  source: z.enum(SUGGESTION_SOURCES),
  labels: z.number().int(),
  accuracy: z.number(),
  low: z.number(),
  high: z.number(),
  /** Rows: the label given; columns: the label predicted (schema order); empty for multi-label groups. */
  confusion: z.array(z.array(z.number().int())),
  recall: z.array(z.number().nullable()),
  support: z.array(z.number().int()),
});
export type Validation = z.infer<typeof Validation>;
export const LabelStatus = z.object({
  model: z.object({ name: z.string(), sha256: z.string(), zeroShot: z.boolean() }).nullable(),
  /** Increases each time refreshed suggestions and queues are published. */
  version: z.number().int(),
  refreshing: z.boolean(),
  /** A blinded read: accuracies and the detail (which quote the model) are left out until it ends. */
  blinded: z.boolean(),
  message: z.string(),
  groups: z.array(z.object({
    key: z.string(),
    level: z.enum(LEVELS),
    items: z.number().int(),
    labelled: z.number().int(),
    source: z.enum(SUGGESTION_SOURCES).nullable(),
    accuracies: z.object({ zeroShot: Accuracy, knn: Accuracy, adapter: Accuracy }),
    /** Null below MIN_VALIDATION_LABELS labels and in a blinded read. */
    validation: Validation.nullable(),
    detail: z.string(),
    /** Labels with no labelled example yet, each with why that matters (kNN and the adapter cannot predict them). */
    warnings: z.array(z.string()),
  })),
});
export type LabelStatus = z.infer<typeof LabelStatus>;

export const LabelStats = z.object({
  /** A blinded read: what the model suggests or scores (suggested, agreement, the learning curve) is left out. */
  blinded: z.boolean(),
  flagged: z.number().int(),
  events: z.number().int(),
  groups: z.array(z.object({
    key: z.string(),
    name: z.string(),
    level: z.enum(LEVELS),
    items: z.number().int(),
    labelled: z.number().int(),
    unlabelled: z.number().int(),
    labels: z.array(z.object({
      label: z.string(),
      name: z.string(),
      /** Set by hand / accepted from a suggestion (one by one or in bulk) / imported. */
      manual: z.number().int(),
      accepted: z.number().int(),
      imported: z.number().int(),
      /** Labelled items that are also flagged for a second opinion. */
      flagged: z.number().int(),
      /** Unlabelled items whose current suggestion is this label; null in a blinded read. */
      suggested: z.number().int().nullable(),
      /** Of the items with this label decided while a suggestion existed, the share where it agreed. */
      agreement: z.number().nullable(),
      decidedWithSuggestion: z.number().int(),
    })),
    curve: z.array(z.object({ labels: z.number().int(), source: z.string(), adapter: Accuracy, zeroShot: Accuracy, knn: Accuracy })),
    /** As in labels.status: null below MIN_VALIDATION_LABELS labels and in a blinded read. */
    validation: Validation.nullable(),
  })),
});
export type LabelStats = z.infer<typeof LabelStats>;

// ---- export ----

export const EXPORT_FORMATS = ['csv', 'jsonl', 'sr'] as const;
export const EXPORT_STATUSES = ['accepted', 'flagged'] as const;
const IsoDay = z.string().regex(/^(\d{4}-\d{2}-\d{2})?$/, 'dates are YYYY-MM-DD');

export const ExportOptions = z.object({
  formats: z.array(z.enum(EXPORT_FORMATS)).min(1).default(['csv', 'jsonl']),
  /** Label groups to export (empty: all). */
  groups: z.array(z.string().min(1).max(64)).max(100).default([]),
  /** accepted: a person set or accepted the label; flagged: labelled, but flagged for a second opinion. */
  statuses: z.array(z.enum(EXPORT_STATUSES)).min(1).default(['accepted']),
  levels: z.array(z.enum(LEVELS)).default([]),
  /** Only labels decided in this range of days (inclusive, UTC); empty: no bound. */
  labelledFrom: IsoDay.default(''),
  labelledTo: IsoDay.default(''),
  /** Percentages of patients' items for train,test or train,val,test (empty: no split). */
  split: z.array(z.number().min(0).max(100)).max(3).default([]),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
  /** k-fold assignment over the patients outside the test split (0: none). */
  folds: z.number().int().min(0).max(50).default(0),
  /** The group whose labels the splits are stratified by (empty: the first exported group). */
  stratify: z.string().max(64).default(''),
  deidentify: z.boolean().default(false),
  /** Also write de-identified DICOM copies of the labelled images (needs deidentify). */
  dicomCopies: z.boolean().default(false),
  /** Also send each SR to this folder (a PACS import folder, say). */
  srFolder: z.string().max(4096).default(''),
}).strict();
export type ExportOptions = z.infer<typeof ExportOptions>;

const Balance = z.record(z.string(), z.record(z.string(), z.number().int()));
export const ExportPreview = z.object({
  rows: z.number().int(),
  items: z.number().int(),
  patients: z.number().int(),
  studies: z.number().int(),
  /** group → label → rows. */
  balance: Balance,
  splits: z.array(z.object({ name: z.string(), patients: z.number().int(), items: z.number().int(), rows: z.number().int(), balance: Balance })),
  warnings: z.array(z.string()),
});
export type ExportPreview = z.infer<typeof ExportPreview>;

export const ExportSummary = ExportPreview.extend({
  out: z.string(),
  files: z.array(z.object({ path: z.string(), bytes: z.number().int(), sha256: z.string() })),
  /** Items or images that could not be written (the rest of the export is complete), with why. */
  failures: z.array(z.object({ item: z.string(), reason: z.string() })),
  srSent: z.object({ folder: z.string(), files: z.number().int(), error: z.string() }).nullable(),
  cancelled: z.boolean(),
  seconds: z.number(),
});
export type ExportSummary = z.infer<typeof ExportSummary>;

export const LabelImportSummary = z.object({
  source: z.string(),
  rows: z.number().int(),
  imported: z.number().int(),
  /** Already holding the same labels. */
  unchanged: z.number().int(),
  /** Holding different labels (kept unless overwrite was asked for). */
  conflicts: z.number().int(),
  /** Rows that could not be imported, each with its line (or file) and why. */
  errors: z.array(z.object({ where: z.string(), reason: z.string() })),
  /** Whether the export was de-identified and mapped back through this project's key. */
  reidentified: z.boolean(),
});
export type LabelImportSummary = z.infer<typeof LabelImportSummary>;

export const RecentProject = z.object({ dir: z.string(), name: z.string(), openedAt: z.string() });
export type RecentProject = z.infer<typeof RecentProject>;

/** One folder's subfolders, for choosing a folder where the host has no native dialog (the browser host). */
export const FolderListing = z.object({
  path: z.string(),
  /** The folder above, or null at the filesystem root. */
  parent: z.string().nullable(),
  folders: z.array(z.object({ name: z.string(), path: z.string() })),
  /** More subfolders than the listing holds (narrow the folder first). */
  truncated: z.boolean(),
  /** Where a user usually starts: home, the project's folder, recent import roots. */
  places: z.array(z.object({ name: z.string(), path: z.string() })),
});
export type FolderListing = z.infer<typeof FolderListing>;

// ---- calls: name -> input schema, result schema ----

const Empty = z.object({}).strict();
const Id = z.number().int().positive();
const GroupKey = z.string().min(1).max(64);
const LabelKey = z.string().min(1).max(64);
const Item = { level: z.enum(LEVELS), itemId: Id };

export const WorklistQuery = z
  .object({
    search: z.string().max(200).default(''),
    modality: z.string().max(16).default(''),
    dateFrom: z.string().regex(/^(\d{8})?$/, 'dateFrom must be YYYYMMDD').default(''),
    dateTo: z.string().regex(/^(\d{8})?$/, 'dateTo must be YYYYMMDD').default(''),
    sort: z.enum(['patientName', 'patientId', 'studyDate', 'description', 'modalities', 'seriesCount', 'instanceCount']).default('studyDate'),
    direction: z.enum(['asc', 'desc']).default('desc'),
    limit: z.number().int().min(1).max(1000).default(200),
    offset: z.number().int().min(0).default(0),
  })
  .strict();
export type WorklistQuery = z.input<typeof WorklistQuery>;

export const calls = {
  // ---- reader studies (src/shared/reader-contract.ts) ----
  ...readerCalls,
  // ---- text search and the prompt workbench (src/shared/text-contract.ts) ----
  ...textCalls,
  // ---- PACS (src/shared/pacs-contract.ts) ----
  ...pacsCalls,
  // ---- the embedding map and bulk labels (src/shared/map-contract.ts) ----
  ...mapCalls,
  // ---- installed models, the active model, comparing models (src/shared/model-contract.ts) ----
  ...modelCalls,
  'project.info': { input: Empty, result: ProjectInfo },
  'project.recent': { input: Empty, result: z.array(RecentProject) },
  /**
   * Closes the open project and opens another (`create`: a new one in an empty or new folder). Every window of
   * this host then shows it (event project.changed, reason "switched").
   */
  'workspace.open': {
    input: z.object({ dir: z.string().min(1).max(4096), create: z.boolean().default(false) }).strict(),
    result: ProjectInfo,
  },
  /** Lists the subfolders of an absolute folder (empty: the home folder); files are never listed. */
  'folders.list': {
    input: z.object({ path: z.string().max(4096).default(''), hidden: z.boolean().default(false) }).strict(),
    result: FolderListing,
  },
  'import.start': {
    input: z.object({ folder: z.string().min(1).max(4096) }).strict(),
    result: z.object({ jobId: z.number().int() }),
  },
  'import.cancel': { input: z.object({ jobId: Id }).strict(), result: z.object({ cancelled: z.boolean() }) },
  'import.current': { input: Empty, result: JobProgress.nullable() },
  'import.report': {
    input: z.object({ limit: z.number().int().min(1).max(10000).default(1000) }).strict(),
    result: z.object({ total: z.number().int(), files: z.array(RejectedFile) }),
  },
  'worklist.query': {
    input: WorklistQuery,
    result: z.object({ total: z.number().int(), rows: z.array(WorklistRow), modalities: z.array(z.string()) }),
  },
  'study.get': {
    input: z.object({ studyId: Id }).strict(),
    result: z.object({ study: StudyRow, series: z.array(SeriesRow) }),
  },
  'instance.tags': { input: z.object({ instanceId: Id }).strict(), result: z.array(TagRow) },
  'instance.document': { input: z.object({ instanceId: Id }).strict(), result: DocumentView },
  'embed.status': { input: Empty, result: EmbedStatusView },
  'embed.start': {
    input: z
      .object({
        /** 'builtin' or the folder of a model package; omitted: the project's active model (models.setActive). */
        model: z.string().min(1).max(4096).optional(),
        provider: z.enum(['auto', 'cpu', 'cuda', 'dml', 'coreml']).default('auto'),
        batch: z.number().int().min(1).max(1024).default(32),
      })
      .strict(),
    result: z.object({ jobId: z.number().int() }),
  },
  'embed.pause': { input: z.object({ jobId: Id }).strict(), result: z.object({ ok: z.boolean() }) },
  'embed.resume': { input: z.object({ jobId: Id }).strict(), result: z.object({ ok: z.boolean() }) },
  'embed.cancel': { input: z.object({ jobId: Id }).strict(), result: z.object({ ok: z.boolean() }) },
  'embed.failures': {
    input: z.object({ limit: z.number().int().min(1).max(10000).default(1000) }).strict(),
    result: z.object({ total: z.number().int(), items: z.array(z.object({ instanceId: z.number().int(), path: z.string(), reason: z.string() })) }),
  },
  'embed.pixels': {
    input: z
      .object({
        width: z.number().int().min(1).max(MAX_PIXELS_SIDE),
        height: z.number().int().min(1).max(MAX_PIXELS_SIDE),
        /** 1 = grey, 3 = RGB, 4 = RGBA (canvas ImageData; alpha ignored). */
        channels: z.union([z.literal(1), z.literal(3), z.literal(4)]),
        /** The pixels after the clinician's window/level, 8 bits per channel, row-major, base64. */
        data: z.string().max(Math.ceil((MAX_PIXELS_SIDE * MAX_PIXELS_SIDE * 4) / 3) * 4 + 4).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'data must be base64'),
        /** How many similar stored images to return. */
        neighbours: z.number().int().min(0).max(100).default(12),
      })
      .strict(),
    result: z.object({
      model: z.string(),
      modelSha256: z.string(),
      provider: z.string(),
      dim: z.number().int(),
      embedding: z.array(z.number()),
      neighbours: z.array(Neighbour),
    }),
  },
  'labels.schema': {
    input: Empty,
    result: z.object({ schema: LabelSchema, version: z.number().int(), usage: z.record(z.string(), z.record(z.string(), z.number().int())) }),
  },
  'labels.setSchema': { input: z.object({ schema: z.unknown() }).strict(), result: z.object({ version: z.number().int() }) },
  'labels.profile': { input: Empty, result: Profile },
  'labels.setProfile': {
    input: z.object({ name: z.string().trim().min(1).max(100).optional(), blinded: z.boolean().optional(), autoAdvance: z.boolean().optional() }).strict(),
    result: Profile,
  },
  'labels.status': { input: Empty, result: LabelStatus },
  'labels.queue': {
    input: z.object({ group: GroupKey, queue: z.enum(QUEUES), offset: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(500).default(50) }).strict(),
    result: z.object({ total: z.number().int(), version: z.number().int(), items: z.array(QueueItem) }),
  },
  'labels.item': { input: z.object({ ...Item, reveal: z.boolean().default(false) }).strict(), result: ItemView },
  'labels.set': {
    input: z.object({
      ...Item,
      group: GroupKey,
      /** The chosen labels (parents are implied); exactly one in a single-choice group, any number (even none) in a multi-label one. */
      labels: z.array(LabelKey).max(100),
      /** Whether the suggestion was on screen when the reader decided (false in a blinded read). */
      revealed: z.boolean().default(true),
    }).strict(),
    result: LabelAck,
  },
  'labels.accept': {
    input: z.object({ ...Item, group: GroupKey, /** The suggestion as the reader saw it: refused if it has changed since. */ labels: z.array(LabelKey).max(100) }).strict(),
    result: LabelAck,
  },
  'labels.acceptMany': {
    input: z.object({ group: GroupKey, items: z.array(z.object({ ...Item, labels: z.array(LabelKey).max(100) }).strict()).min(1).max(500) }).strict(),
    result: z.object({
      accepted: z.number().int(),
      eventIds: z.array(z.number().int()),
      /** Items not accepted (their suggestion changed since it was shown, or they are already labelled), with why. */
      skipped: z.array(z.object({ itemId: z.number().int(), reason: z.string() })),
    }),
  },
  'labels.reject': { input: z.object({ ...Item, group: GroupKey, label: LabelKey }).strict(), result: LabelAck },
  'labels.clear': { input: z.object({ ...Item, group: GroupKey }).strict(), result: LabelAck },
  'labels.flag': { input: z.object({ ...Item, flagged: z.boolean() }).strict(), result: LabelAck },
  'labels.note': { input: z.object({ ...Item, note: z.string().max(5000) }).strict(), result: LabelAck },
  'labels.undo': { input: Empty, result: z.object({ event: LabelEvent.nullable(), item: ItemView.nullable() }) },
  'labels.redo': { input: Empty, result: z.object({ event: LabelEvent.nullable(), item: ItemView.nullable() }) },
  'labels.history': { input: z.object({ studyId: Id }).strict(), result: z.array(LabelEvent) },
  'labels.stats': { input: Empty, result: LabelStats },
  'export.preview': { input: ExportOptions, result: ExportPreview },
  'export.start': {
    input: z.object({ out: z.string().min(1).max(4096), options: ExportOptions.default(ExportOptions.parse({})) }).strict(),
    result: z.object({ jobId: z.number().int() }),
  },
  'export.cancel': { input: z.object({ jobId: Id }).strict(), result: z.object({ ok: z.boolean() }) },
  /** The running export's progress, and the last finished one's summary (or why it failed). */
  'export.status': { input: Empty, result: z.object({ job: JobProgress.nullable(), last: ExportSummary.nullable(), error: z.string() }) },
  'labels.import': {
    input: z.object({ path: z.string().min(1).max(4096), overwrite: z.boolean().default(false) }).strict(),
    result: LabelImportSummary,
  },
} as const;

export type CallName = keyof typeof calls;

/**
 * The inputs that name a file or folder on the workstation (dotted paths into the call's input). The desktop host
 * accepts them only inside folders the user chose in a native dialog (or the open project), so a compromised
 * renderer cannot name arbitrary paths; the browser host validates them like any other input.
 */
export const PATH_INPUTS: { readonly [N in CallName]?: readonly string[] } = {
  'import.start': ['folder'],
  'export.start': ['out', 'options.srFolder'],
  'labels.import': ['path'],
  'embed.start': ['model'],
  'models.add': ['folder'],
  'folders.list': ['path'],
  'workspace.open': ['dir'],
  'pacs.stow': ['folder'],
};
/** What a caller may send (defaults optional). */
export type CallInput<N extends CallName> = z.input<(typeof calls)[N]['input']>;
/** What a handler receives: the input after its schema parsed it (defaults filled in). */
export type CallParsed<N extends CallName> = z.output<(typeof calls)[N]['input']>;
export type CallResult<N extends CallName> = z.infer<(typeof calls)[N]['result']>;

/** One function per call: parsed input in, the result schema's type out. */
export type Handler<N extends CallName> = (input: CallParsed<N>) => CallResult<N> | Promise<CallResult<N>>;
/** Every call's handler: the compiler rejects a missing call or a handler of the wrong shape. */
export type Handlers = { [N in CallName]: Handler<N> };
/** The handlers of one area, the calls whose names start with `<area>.`. */
export type AreaHandlers<A extends string> = { [N in CallName as N extends `${A}.${string}` ? N : never]: Handler<N> };

// ---- events main pushes ----

export const events = {
  'job.progress': JobProgress,
  'project.changed': z.object({ reason: z.string() }),
  /** Labels changed or refreshed suggestions and queues were published (`version` as in labels.status). */
  'labels.changed': z.object({ version: z.number().int(), reason: z.string() }),
} as const;
export type EventName = keyof typeof events;
export type EventPayload<N extends EventName> = z.infer<(typeof events)[N]>;

// ---- errors cross the boundary as plain values ----

export const ErrorCode = z.enum([
  'bad-request',
  'unknown-call',
  'not-found',
  'busy',
  'unauthorized',
  /** The thing acted on changed since it was shown (a refreshed suggestion, a label someone else set). */
  'conflict',
  'internal',
  'io',
  /** An outside server (a PACS) could not be reached, failed, or answered with something broken. */
  'unavailable',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;
export const ApiError = z.object({ code: ErrorCode, message: z.string() });
export type ApiError = z.infer<typeof ApiError>;

export type CallResponse<T> = { ok: true; result: T } | { ok: false; error: ApiError };

/** Expected failures thrown by services; hosts turn them into `{ code, message }`. */
export class LightboxError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'LightboxError';
  }
}

// ---- transport names, in one place ----

export const channels = {
  ipcCall: 'lightbox:call',
  ipcEvent: 'lightbox:event',
  /** The Electron host's native file/folder dialog (a host capability, not a contract call). */
  ipcPickPath: 'lightbox:pick-path',
  httpCallPrefix: '/api/call/',
  httpEvents: '/api/events',
  httpInstancePrefix: '/api/instances/',
  imageScheme: 'lightbox-image',
} as const;

export function isCallName(name: string): name is CallName {
  return Object.prototype.hasOwnProperty.call(calls, name);
}

export function formatIssues(err: z.ZodError): string {
  return err.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(input)'}: ${i.message}`)
    .join('; ');
}

/** Validates a call at the main-side edge: unknown in, typed input out, or a bad-request error value. */
export function parseCall(
  name: string,
  input: unknown,
): { ok: true; name: CallName; input: unknown } | { ok: false; error: ApiError } {
  if (!isCallName(name)) return { ok: false, error: { code: 'unknown-call', message: `unknown call "${name}"` } };
  // Only a missing input means "none"; null is a client's mistake, not an empty object.
  const parsed = calls[name].input.safeParse(input === undefined ? {} : input);
  if (!parsed.success) {
    return { ok: false, error: { code: 'bad-request', message: `${name}: ${formatIssues(parsed.error)}` } };
  }
  return { ok: true, name, input: parsed.data };
}
