// Reordering decoded samples into the one layout the rest of main uses: one value per pixel per sample, interleaved.
import type { StoredSamples } from './pixels.ts';

/** 1-bit samples (BitsAllocated 1), least significant bit first, as one byte per pixel. */
export function unpackBits(bytes: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = ((bytes[i >> 3] ?? 0) >> (i & 7)) & 1;
  return out;
}

export /** Y1 Y2 Cb Cr per pixel pair → Y Cb Cr for every pixel (each pair shares its chroma). */
function upsample422(s: StoredSamples, pixels: number): StoredSamples {
  const out = new (s.constructor as new (n: number) => StoredSamples)(pixels * 3);
  for (let p = 0; p < pixels / 2; p++) {
    const cb = s[4 * p + 2]!;
    const cr = s[4 * p + 3]!;
    out[6 * p] = s[4 * p]!;
    out[6 * p + 1] = cb;
    out[6 * p + 2] = cr;
    out[6 * p + 3] = s[4 * p + 1]!;
    out[6 * p + 4] = cb;
    out[6 * p + 5] = cr;
  }
  return out;
}

/** Colour-by-plane (PlanarConfiguration 1) → colour-by-pixel. */
export function interleave(planar: StoredSamples, pixels: number): StoredSamples {
  const out = new (planar.constructor as new (n: number) => StoredSamples)(planar.length);
  for (let i = 0; i < pixels; i++) {
    out[3 * i] = planar[i]!;
    out[3 * i + 1] = planar[pixels + i]!;
    out[3 * i + 2] = planar[2 * pixels + i]!;
  }
  return out;
}
