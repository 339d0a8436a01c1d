// Reader studies: readers, reading studies, agreement statistics.
export { readerHandlers } from './handlers.ts';
export { StudyService } from './study-service.ts';
export { gateModelViews } from './model-gate.ts';
export * from './agreement.ts';
