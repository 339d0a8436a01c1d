// Decodes files one after another in one thread (as an embedding job does, so codec state carried between files
// shows), posting a hash of each decoded frame or the error. The harness watches it for hangs.
import crypto from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { decodeFrame, openPixelSource } from '../../src/main/dicom/pixels.ts';

const { files, start } = workerData as { files: string[]; start: number };
for (let i = start; i < files.length; i++) {
  parentPort!.postMessage({ i, phase: 'begin' });
  try {
    const src = openPixelSource(files[i]!);
    const hashes: string[] = [];
    for (let f = 0; f < Math.min(src.frames, 2); f++) {
      const frame = await decodeFrame(src, f);
      const s = frame.samples;
      hashes.push(crypto.createHash('sha256').update(new Uint8Array(s.buffer, s.byteOffset, s.byteLength)).digest('hex'));
    }
    parentPort!.postMessage({ i, phase: 'end', ok: true, hashes });
  } catch (e) {
    parentPort!.postMessage({ i, phase: 'end', ok: false, message: e instanceof Error ? e.message : String(e) });
  }
}
