// A preprocessing worker: reads, decodes and preprocesses a batch of frames into one input tensor, so decoding
// overlaps inference and never runs on the thread that answers the UI. A frame that fails leaves its slot empty
// and is reported with its reason; it never fails the batch.
import { decodeFrame, openPixelSource } from '../dicom/pixels.ts';
import type { PrepProtocol, PrepResult, PrepTask } from './inference-protocol.ts';
import type { ImageEncoderSpec } from './model-package.ts';
import { imageSize, preprocessFrame } from './preprocess.ts';
import { serveRpc, transferring } from './worker-rpc.ts';

async function prep(spec: ImageEncoderSpec, tasks: PrepTask[]): Promise<PrepResult> {
  const t0 = performance.now();
  const size = imageSize(spec.input);
  const out = new Float32Array(tasks.length * size);
  const failures: PrepResult['failures'] = [];
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]!;
    try {
      const src = openPixelSource(t.file);
      preprocessFrame(await decodeFrame(src, Math.min(t.frame, src.frames - 1)), spec, out, i);
    } catch (e) {
      failures.push({ index: i, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return { data: out.buffer, failures, ms: performance.now() - t0 };
}

serveRpc<PrepProtocol>('prep-worker', {
  prep: async ({ spec, tasks }) => {
    const r = await prep(spec, tasks);
    return transferring(r, [r.data]);
  },
});
