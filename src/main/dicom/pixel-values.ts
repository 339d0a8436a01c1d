// Decoded frames as numbers for preprocessing: greyscale as modality values, colour as RGB in 0..1.
import type { DecodedFrame } from './pixels.ts';

/**
 * Modality values of a greyscale frame: stored values masked to BitsStored (sign-extended when signed), then
 * the modality LUT (Rescale Slope/Intercept).
 */
export function modalityValues(f: DecodedFrame): Float32Array {
  const n = f.rows * f.columns;
  const s = f.samples;
  // Native conversion first (fast, and keeps the loops below monomorphic on Float32Array).
  const out = new Float32Array(s.length === n ? s : s.subarray(0, n));
  const bits = f.bitsStored;
  if (!(s instanceof Float32Array) && f.bitsAllocated > 1 && bits < f.bitsAllocated) {
    // Bits above BitsStored may hold overlays or garbage: mask them, and sign-extend signed values.
    const mask = 2 ** bits - 1;
    const signBit = 2 ** (bits - 1);
    for (let i = 0; i < n; i++) {
      let v = s[i]! & mask;
      if (f.signed && v >= signBit) v -= 2 * signBit;
      out[i] = v;
    }
  }
  const slope = f.rescaleSlope;
  const icpt = f.rescaleIntercept;
  if (slope !== 1 || icpt !== 0) for (let i = 0; i < n; i++) out[i] = out[i]! * slope + icpt;
  return out;
}

/** Colour frames as RGB in 0..1, interleaved; YBR_FULL(_422) converted and palettes applied. */
export function rgbValues(f: DecodedFrame): Float32Array {
  const n = f.rows * f.columns;
  const out = new Float32Array(n * 3);
  if (f.palette) {
    const p = f.palette;
    const last = p.red.length - 1;
    for (let i = 0; i < n; i++) {
      const k = Math.max(0, Math.min(last, (f.samples[i]! & 0xffff) - p.first));
      out[3 * i] = p.red[k]!;
      out[3 * i + 1] = p.green[k]!;
      out[3 * i + 2] = p.blue[k]!;
    }
    return out;
  }
  const max = 2 ** f.bitsStored - 1;
  const s = f.samples;
  const ybr = f.photometric.startsWith('YBR_FULL');
  for (let i = 0; i < n; i++) {
    let r = s[3 * i]! / max;
    let g = s[3 * i + 1]! / max;
    let b = s[3 * i + 2]! / max;
    if (ybr) {
      // PS3.3 C.7.6.3.1.2: YBR_FULL to RGB.
      const y = r;
      const cb = g - 0.5;
      const cr = b - 0.5;
      r = y + 1.402 * cr;
      g = y - 0.344136 * cb - 0.714136 * cr;
      b = y + 1.772 * cb;
    }
    out[3 * i] = Math.min(1, Math.max(0, r));
    out[3 * i + 1] = Math.min(1, Math.max(0, g));
    out[3 * i + 2] = Math.min(1, Math.max(0, b));
  }
  return out;
}

export function isColour(f: DecodedFrame): boolean {
  return f.samplesPerPixel === 3 || f.palette !== null;
}
