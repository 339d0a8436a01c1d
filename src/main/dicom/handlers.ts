// Calls that index folders and read instances: parsed input in, the contract's result out.
import type { AreaHandlers } from '../../shared/contract.ts';
import type { ProjectStore } from '../project/project-store.ts';
import type { ImportService } from './import-service.ts';
import { readDocument } from './document.ts';
import { readTags } from './tags.ts';

export function dicomHandlers(store: ProjectStore, imports: ImportService): AreaHandlers<'import' | 'instance'> {
  return {
    'import.start': async (input) => ({ jobId: (await imports.start(input)).jobId }),
    'import.cancel': ({ jobId }) => ({ cancelled: imports.cancel(jobId) }),
    'import.current': () => imports.current(),
    'import.report': ({ limit }) => store.rejectedFiles(limit),
    'instance.tags': ({ instanceId }) => readTags(store.instanceFile(instanceId).path),
    'instance.document': ({ instanceId }) => readDocument(store.instanceFile(instanceId).path),
  };
}
