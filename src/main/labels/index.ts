// The labelling area's public names: other areas, the hosts and the CLI import from here, never from its files.
export { labelHandlers } from './handlers.ts';
export { LabelService } from './label-service.ts';
export type { ImportEntry, ImportResult } from './label-actions.ts';
export type { LabelActions } from './label-actions.ts';
export type { LabelQueues } from './label-queues.ts';
export type { LabelStatistics } from './label-stats.ts';
export type { ItemViews } from './item-views.ts';
export type { BulkLabels } from './bulk-label.ts';
export type { ProfileStore } from './profile-store.ts';
export type { SchemaService } from './schema-service.ts';
export type { SuggestionRefresher } from './suggestion-refresher.ts';
export { blindedOrderReason, confidentReason, flaggedReason, labelErrorReason, NOT_LABELLED_REASON, uncertainReason } from './queue-reasons.ts';
export { PromptWorkbench, promptHandlers, rocAuc } from './prompt-workbench.ts';
export { modelPredictions } from './model-predictions.ts';
export type { ModelPredictions } from './model-predictions.ts';
export { compareModels } from './model-comparison.ts';
