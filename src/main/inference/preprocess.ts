// Preprocessing exactly as a model package's manifest describes it: intensities to 0..1 (VOI window, fixed
// window, percentiles or min/max; MONOCHROME1 inverted), colour to the model's channels, resize (stretch,
// letterbox or centre crop, antialiased when shrinking), then per-channel mean/std into the input tensor layout.
import type { DecodedFrame } from '../dicom/pixels.ts';
import { isColour, modalityValues, rgbValues } from '../dicom/pixel-values.ts';
import type { ImageEncoderSpec } from './model-package.ts';

/** An image with intensities in 0..1, interleaved channels. */
export interface Plane {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Float32Array;
}

type Intensity = ImageEncoderSpec['intensity'];
type Input = ImageEncoderSpec['input'];

function range(v: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

/** Percentiles from a 4096-bin histogram: exact to 1/4096 of the range, without sorting the image. */
export function percentiles(v: Float32Array, pLo: number, pHi: number): [number, number] {
  const [lo, hi] = range(v);
  if (!(hi > lo)) return [lo, hi];
  const bins = 4096;
  const hist = new Uint32Array(bins);
  const scale = (bins - 1) / (hi - lo);
  for (let i = 0; i < v.length; i++) hist[Math.floor((v[i]! - lo) * scale)]!++;
  const at = (p: number): number => {
    const target = (p / 100) * v.length;
    let acc = 0;
    for (let b = 0; b < bins; b++) {
      acc += hist[b]!;
      if (acc >= target) return lo + b / scale;
    }
    return hi;
  };
  return [at(pLo), at(pHi)];
}

function linear(v: Float32Array, lo: number, hi: number): void {
  const w = hi - lo;
  if (!(w > 0)) {
    v.fill(0);
    return;
  }
  for (let i = 0; i < v.length; i++) v[i] = Math.min(1, Math.max(0, (v[i]! - lo) / w));
}

/** PS3.3 C.11.2.1.2 window functions, output 0..1. */
function applyWindow(v: Float32Array, c: number, w: number, fn: string): void {
  if (fn === 'SIGMOID') {
    for (let i = 0; i < v.length; i++) v[i] = 1 / (1 + Math.exp((-4 * (v[i]! - c)) / w));
  } else if (fn === 'LINEAR_EXACT') {
    linear(v, c - w / 2, c + w / 2);
  } else {
    const w1 = Math.max(1, w - 1);
    for (let i = 0; i < v.length; i++) v[i] = Math.min(1, Math.max(0, (v[i]! - (c - 0.5)) / w1 + 0.5));
  }
}

/** Greyscale modality values to display-like intensities in 0..1, per the manifest. */
export function mapIntensity(f: DecodedFrame, spec: Intensity): Float32Array {
  const v = modalityValues(f);
  // A window from the file or the manifest when the mode asks for one and there is one; else a range of the image.
  const fixed = spec.mode === 'fixed-window' ? (spec.windows[f.modality] ?? spec.windows.default) : undefined;
  const window = spec.mode === 'voi-from-file' ? f.window : fixed ? { ...fixed, fn: 'LINEAR' } : null;
  const stretch = spec.mode === 'minmax' || spec.mode === 'percentile' ? spec.mode : spec.fallback;
  if (window) applyWindow(v, window.center, window.width, window.fn);
  else if (stretch === 'minmax') linear(v, ...range(v));
  else linear(v, ...percentiles(v, spec.percentiles[0], spec.percentiles[1]));
  if (spec.invertMonochrome1 && f.photometric === 'MONOCHROME1') for (let i = 0; i < v.length; i++) v[i] = 1 - v[i]!;
  return v;
}

/** A decoded frame as a 0..1 plane with the model's channel count. */
export function framePlane(f: DecodedFrame, spec: ImageEncoderSpec): Plane {
  if (isColour(f)) {
    return toChannels({ width: f.columns, height: f.rows, channels: 3, data: rgbValues(f) }, spec.input.channels);
  }
  return toChannels({ width: f.columns, height: f.rows, channels: 1, data: mapIntensity(f, spec.intensity) }, spec.input.channels);
}

/** Converts between greyscale and RGB (ITU-R BT.601 luma) when the model wants the other. */
export function toChannels(p: Plane, channels: 1 | 3): Plane {
  if (p.channels === channels) return p;
  const n = p.width * p.height;
  if (channels === 1) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = 0.299 * p.data[3 * i]! + 0.587 * p.data[3 * i + 1]! + 0.114 * p.data[3 * i + 2]!;
    return { ...p, channels: 1, data: out };
  }
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = p.data[i]!;
  return { ...p, channels: 3, data: out };
}

interface Taps {
  /** For each output index: first source index and weights (empty = padding). */
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  maxTaps: number;
}

const tapCache = new Map<string, Taps>();

/**
 * Resampling weights along one axis: output i covers source [(i - offset) / scale ...]; a triangle filter
 * widened by 1/scale when shrinking (antialiased, like PIL's bilinear), plain bilinear when enlarging.
 */
function taps(srcN: number, dstN: number, scale: number, offset: number): Taps {
  const k = `${srcN}:${dstN}:${scale}:${offset}`;
  const hit = tapCache.get(k);
  if (hit) return hit;
  const support = scale < 1 ? 1 / scale : 1;
  const maxTaps = Math.ceil(support) * 2 + 2;
  const start = new Int32Array(dstN);
  const count = new Int32Array(dstN);
  const weights = new Float32Array(dstN * maxTaps);
  for (let i = 0; i < dstN; i++) {
    const centre = (i + 0.5 - offset) / scale - 0.5;
    if (centre < -0.5 || centre > srcN - 0.5) continue; // outside the image: padding
    const lo = Math.max(0, Math.ceil(centre - support));
    const hi = Math.min(srcN - 1, Math.floor(centre + support));
    let sum = 0;
    let n = 0;
    for (let s = lo; s <= hi && n < maxTaps; s++, n++) {
      const w = Math.max(0, 1 - Math.abs(s - centre) / support);
      weights[i * maxTaps + n] = w;
      sum += w;
    }
    if (sum <= 0) {
      weights[i * maxTaps] = 1;
      start[i] = Math.min(srcN - 1, Math.max(0, Math.round(centre)));
      count[i] = 1;
      continue;
    }
    for (let t = 0; t < n; t++) weights[i * maxTaps + t]! /= sum;
    start[i] = lo;
    count[i] = n;
  }
  const out = { start, count, weights, maxTaps };
  if (tapCache.size > 256) tapCache.clear();
  tapCache.set(k, out);
  return out;
}

/** Resizes a plane to the input size by the manifest's mode; padding (letterbox) is 0. */
export function resizePlane(p: Plane, input: Pick<Input, 'width' | 'height' | 'resize'>): Plane {
  const W = input.width;
  const H = input.height;
  let sx = W / p.width;
  let sy = H / p.height;
  if (input.resize === 'letterbox') sx = sy = Math.min(sx, sy);
  else if (input.resize === 'center-crop') sx = sy = Math.max(sx, sy);
  const ox = (W - p.width * sx) / 2;
  const oy = (H - p.height * sy) / 2;
  const tx = taps(p.width, W, sx, ox);
  const ty = taps(p.height, H, sy, oy);
  const C = p.channels;
  const src = p.data;
  const { start: xs, count: xn, weights: xw, maxTaps: xm } = tx;
  // Horizontal pass: every source row to W columns (locals keep the inner loops tight).
  const mid = new Float32Array(p.height * W * C);
  const rowLen = p.width * C;
  for (let y = 0; y < p.height; y++) {
    const row = y * rowLen;
    const outRow = y * W * C;
    for (let x = 0; x < W; x++) {
      const n = xn[x]!;
      if (n === 0) continue;
      const s0 = row + xs[x]! * C;
      const w0 = x * xm;
      if (C === 1) {
        let acc = 0;
        for (let t = 0; t < n; t++) acc += xw[w0 + t]! * src[s0 + t]!;
        mid[outRow + x] = acc;
        continue;
      }
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let t = 0; t < n; t++) acc += xw[w0 + t]! * src[s0 + t * C + c]!;
        mid[outRow + x * C + c] = acc;
      }
    }
  }
  // Vertical pass: each output row is a weighted sum of whole intermediate rows.
  const out = new Float32Array(H * W * C);
  const { start: ys, count: yn, weights: yw, maxTaps: ym } = ty;
  const len = W * C;
  for (let y = 0; y < H; y++) {
    const n = yn[y]!;
    if (n === 0) continue;
    const dst = y * len;
    for (let t = 0; t < n; t++) {
      const w = yw[y * ym + t]!;
      const from = (ys[y]! + t) * len;
      for (let i = 0; i < len; i++) out[dst + i]! += w * mid[from + i]!;
    }
  }
  // Columns outside the image (letterbox) stay 0 in both passes.
  return { width: W, height: H, channels: C, data: out };
}

/** Number of float32 values one image occupies in the input tensor. */
export function imageSize(input: Input): number {
  return input.width * input.height * input.channels;
}

/** Writes a 0..1 plane of the input's size into `out` at image slot `index`, normalised, in the input layout. */
export function writeTensor(p: Plane, input: Input, out: Float32Array, index: number): void {
  const { width: W, height: H, channels: C } = input;
  const base = index * W * H * C;
  const n = W * H;
  for (let c = 0; c < C; c++) {
    const m = input.mean[c]!;
    const s = input.std[c]!;
    if (input.layout === 'NCHW') {
      const o = base + c * n;
      for (let i = 0; i < n; i++) out[o + i] = (p.data[i * C + c]! - m) / s;
    } else {
      for (let i = 0; i < n; i++) out[base + i * C + c] = (p.data[i * C + c]! - m) / s;
    }
  }
}

/** The whole preprocessing of one plane into tensor slot `index`. */
export function preprocessPlane(p: Plane, spec: ImageEncoderSpec, out: Float32Array, index: number): void {
  writeTensor(resizePlane(toChannels(p, spec.input.channels), spec.input), spec.input, out, index);
}

/** The whole preprocessing of one decoded frame into tensor slot `index`. */
export function preprocessFrame(f: DecodedFrame, spec: ImageEncoderSpec, out: Float32Array, index: number): void {
  preprocessPlane(framePlane(f, spec), spec, out, index);
}

/** Scales a vector to unit length in place (a zero vector stays zero). */
export function l2Normalize(v: Float32Array, offset = 0, dim = v.length): void {
  let s = 0;
  for (let i = 0; i < dim; i++) s += v[offset + i]! * v[offset + i]!;
  const k = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let i = 0; i < dim; i++) v[offset + i]! *= k;
}
