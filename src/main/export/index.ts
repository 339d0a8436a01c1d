// Export: the service, and the names other areas and tests use (the documented columns, the format tag).
export { ExportService } from './export-service.ts';
export { exportHandlers } from './handlers.ts';
export { COLUMNS } from './export-rows.ts';
export type { Column, ExportRow } from './export-rows.ts';
export { EXPORT_FORMAT } from './manifest.ts';
