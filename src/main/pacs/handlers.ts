// PACS calls: parsed input in, the contract's result out.
import type { AreaHandlers } from '../../shared/contract.ts';
import type { PacsService } from './pacs-service.ts';

export function pacsHandlers(pacs: PacsService): AreaHandlers<'pacs'> {
  return {
    'pacs.servers': () => ({ servers: pacs.servers() }),
    'pacs.configure': ({ server }) => ({ servers: pacs.configure(server) }),
    'pacs.remove': ({ name }) => ({ servers: pacs.remove(name) }),
    'pacs.echo': ({ server }) => pacs.echo(server),
    'pacs.query': (q) => pacs.query(q),
    'pacs.retrieve': (req) => ({ jobId: pacs.start(req).jobId }),
    'pacs.status': () => pacs.status(),
    'pacs.cancel': ({ jobId }) => ({ cancelled: pacs.cancel(jobId) }),
    'pacs.stow': ({ server, folder }) => pacs.stow(server, folder),
  };
}
