// The PACS area: DICOMweb (QIDO/WADO/STOW) and DIMSE clients, the C-STORE receiver, the retrieval cache.
export { PacsBrowser, PacsService, CACHE_FOLDER } from './pacs-service.ts';
export type { RetrieveTuning } from './pacs-service.ts';
export { pacsHandlers } from './handlers.ts';
export { DicomWebClient } from './dicomweb.ts';
export { DimseClient, StoreReceiver } from './dimse.ts';
export { PacsConfigStore } from './pacs-config.ts';
