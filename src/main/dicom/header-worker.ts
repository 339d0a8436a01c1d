// A header worker: reads a batch of files' headers into index outcomes, off the thread that answers the API (a
// 32 MB header once froze the API for 21 s) and beside the thread that writes them, so reading and writing overlap.
import { serveRpc } from '../inference/worker-rpc.ts';
import { outcomeFor } from './header-outcome.ts';
import type { HeaderProtocol } from './header-pool.ts';

serveRpc<HeaderProtocol>('header-worker', {
  read: ({ files }) => files.map(outcomeFor),
});
