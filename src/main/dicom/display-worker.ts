// Decodes the frames the viewer draws, off the thread that answers the API: a large JPEG 2000 frame takes a
// noticeable time to decode, and a codec that never returns can be stopped by terminating this thread.
import { serveRpc, transferring } from '../inference/worker-rpc.ts';
import { displayFrame } from './display-frame.ts';
import type { DisplayProtocol } from './display-protocol.ts';

serveRpc<DisplayProtocol>('display-worker', {
  frame: async ({ file, frame }) => {
    const body = await displayFrame(file, frame);
    const out = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    // A Buffer may sit in a shared pool: copy it into its own buffer before moving it.
    const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : out.slice();
    return transferring(own, [own.buffer as ArrayBuffer]);
  },
});
