// RLE Lossless (PS3.5 Annex G) frames: checked segment by segment before anything is decoded, since the offsets
// come from a file that may be hostile.
import type { FrameLayout } from './pixels.ts';

export function decodeRle(data: Uint8Array, f: Pick<FrameLayout, 'rows' | 'columns' | 'samplesPerPixel' | 'bitsAllocated'>, fail: (why: string) => Error): Uint8Array {
  // PS3.5 Annex G: a 64-byte header of segment offsets, one PackBits segment per byte plane (most significant first).
  if (data.length < 64) throw fail(`RLE frame is ${data.length} bytes, shorter than its 64-byte header`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const segments = view.getUint32(0, true);
  const bytesPerSample = Math.max(1, f.bitsAllocated >> 3);
  const expected = f.samplesPerPixel * bytesPerSample;
  if (segments > 15) throw fail(`RLE header lists ${segments} segments; at most 15 are allowed`);
  if (segments !== expected) throw fail(`RLE frame has ${segments} segments, expected ${expected} (SamplesPerPixel × BitsAllocated / 8)`);
  // Every offset is checked against the frame before anything is decoded.
  const starts: number[] = [];
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    if (start < 64) throw fail(`RLE segment ${s + 1} starts at byte ${start}, inside the 64-byte header`);
    if (start >= data.length) throw fail(`RLE segment ${s + 1} starts at byte ${start}, past the end of the ${data.length}-byte frame`);
    if (s > 0 && start <= starts[s - 1]!) throw fail(`RLE segment ${s + 1} starts at byte ${start}, not after segment ${s} (at byte ${starts[s - 1]})`);
    starts.push(start);
  }
  const pixels = f.rows * f.columns;
  const out = new Uint8Array(pixels * expected);
  for (let s = 0; s < segments; s++) {
    const start = starts[s]!;
    const end = starts[s + 1] ?? data.length;
    const sample = Math.floor(s / bytesPerSample);
    const byte = bytesPerSample - 1 - (s % bytesPerSample); // little-endian position of this plane's byte
    const stride = expected;
    let o = sample * bytesPerSample + byte;
    let n = 0;
    let i = start;
    while (i < end && n < pixels) {
      const h = (data[i++]! << 24) >> 24;
      if (h >= 0) {
        for (let k = 0; k <= h && i < end && n < pixels; k++, n++, o += stride) out[o] = data[i++]!;
      } else if (h !== -128) {
        const v = data[i++] ?? 0;
        for (let k = 0; k < 1 - h && n < pixels; k++, n++, o += stride) out[o] = v;
      }
    }
    if (n < pixels) throw fail(`RLE segment ${s + 1} decodes to ${n} of ${pixels} pixels`);
  }
  return out;
}
