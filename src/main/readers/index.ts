// Reader studies: readers, reading studies, agreement statistics.
export { readerHandlers } from './handlers.ts';
export { StudyService } from './study-service.ts';
export * from './agreement.ts';
