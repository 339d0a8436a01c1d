// Export calls, and `labels.import` (which reads what an export wrote): parsed input in, the contract's result out.
import type { AreaHandlers, Handlers } from '../../shared/contract.ts';
import type { LabelService } from '../labels/index.ts';
import type { ExportService } from './index.ts';
import { importLabels } from './import-labels.ts';

export function exportHandlers(exports: ExportService, labels: LabelService): AreaHandlers<'export'> & Pick<Handlers, 'labels.import'> {
  return {
    'export.preview': (options) => exports.preview(options),
    'export.start': (input) => ({ jobId: exports.start(input).jobId }),
    'export.cancel': ({ jobId }) => ({ ok: exports.cancel(jobId) }),
    'export.status': () => exports.status(),
    'labels.import': ({ path, overwrite }) => importLabels(labels, exports.repo, path, overwrite),
  };
}
