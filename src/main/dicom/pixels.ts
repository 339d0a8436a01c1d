// Pixel data for inference, decoded in main with the same codec family the viewer uses (Cornerstone's WASM builds
// of libjpeg-turbo, CharLS, OpenJPEG and OpenJPH, its JPEG lossless decoder and its 12-bit JPEG decoder), so what
// the model sees is what the clinician sees. Files are hostile input: every size is checked before it is trusted,
// and every failure names the file, the frame and what is wrong.
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import dicomParser from 'dicom-parser';
import { MAX_FRAMES, TS, UNCOMPRESSED, num, parseDicomFile, text, us } from './header.ts';

// Named so it does not collide with the `require` shim electron-vite adds to ESM bundles.
const nodeRequire = createRequire(import.meta.url);

type DataSet = dicomParser.DataSet;
export type StoredSamples = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array;

/** One decoded frame: stored values (interleaved samples) plus what is needed to turn them into intensities. */
export interface DecodedFrame {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  /** After decoding: a JPEG codec that converted YBR to RGB reports RGB here. */
  photometric: string;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
  samples: StoredSamples;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** First VOI window in the file, if any. */
  window: { center: number; width: number; fn: string } | null;
  modality: string;
  /** For PALETTE COLOR: the red, green and blue lookup tables scaled to 0..1. */
  palette: { first: number; red: Float32Array; green: Float32Array; blue: Float32Array } | null;
}

export interface PixelSource {
  dataSet: DataSet;
  transferSyntax: string;
  frames: number;
  file: string;
}

export class PixelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PixelError';
  }
}

/** Whole files up to this size are decoded; larger ones are refused with a reason rather than exhausting memory. */
const MAX_FILE_BYTES = 1024 * 1024 * 1024;

export const ENCAPSULATED_SYNTAXES: Record<string, string> = {
  '1.2.840.10008.1.2.5': 'RLE lossless',
  '1.2.840.10008.1.2.4.50': 'JPEG baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG extended (12-bit)',
  '1.2.840.10008.1.2.4.57': 'JPEG lossless (process 14)',
  '1.2.840.10008.1.2.4.70': 'JPEG lossless (SV1)',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS near-lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
};

/** Reads a whole file and parses it including pixel data. */
export function openPixelSource(file: string): PixelSource {
  const parsed = parseDicomFile(file, { wholeFile: true, maxBytes: MAX_FILE_BYTES, withPixelData: true });
  if ('notDicom' in parsed) throw new PixelError(`${file}: not a DICOM file (${parsed.notDicom})`);
  if ('rejected' in parsed) throw new PixelError(`${file}: ${parsed.rejected}`);
  const ds = parsed.dataSet;
  if (!ds.elements.x7fe00010) throw new PixelError(`${file}: no Pixel Data (7FE0,0010); not an image`);
  const framesText = text(ds, 'x00280008');
  const frames = framesText ? Number(framesText) : 1;
  if (!Number.isInteger(frames) || frames < 1 || frames > MAX_FRAMES) throw new PixelError(`${file}: NumberOfFrames (0028,0008) is "${framesText}"`);
  return { dataSet: ds, transferSyntax: parsed.transferSyntax, frames, file };
}

// ---- codecs, loaded once per thread ----

interface WasmDecoder {
  getEncodedBuffer(n: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean };
}
type CodecModule = Record<string, new () => WasmDecoder>;
type Factory = (opts: Record<string, unknown>) => Promise<CodecModule>;

const codecs = new Map<string, Promise<WasmDecoder>>();
// Emscripten prints through these; OpenJPEG writes [INFO] lines that must not reach the CLI's JSON on stdout.
const quiet = { print: () => {}, printErr: () => {} };

function wasmDecoder(pkg: string, className: string): Promise<WasmDecoder> {
  let d = codecs.get(pkg);
  if (!d) {
    const factory = nodeRequire(pkg) as Factory | { default: Factory };
    const make = typeof factory === 'function' ? factory : factory.default;
    d = make({ ...quiet }).then((m) => {
      const C = m[className];
      if (!C) throw new Error(`${pkg} has no ${className}`);
      return new C();
    });
    codecs.set(pkg, d);
  }
  return d;
}

interface JpegImageLike {
  parse(data: Uint8Array): void;
  colorTransform: boolean;
  getData(w: number, h: number): Uint8Array;
  getData16(w: number, h: number): Uint16Array;
}
let jpegImage: Promise<new () => JpegImageLike> | undefined;
/** The 12-bit JPEG decoder the viewer's loader uses for 1.2.840.10008.1.2.4.51 (not in the package's exports map). */
function jpegImageClass(): Promise<new () => JpegImageLike> {
  jpegImage ??= (async () => {
    const dir = path.dirname(nodeRequire.resolve('@cornerstonejs/dicom-image-loader/package.json'));
    const mod = (await import(pathToFileURL(path.join(dir, 'dist/esm/codecs/jpeg.js')).href)) as { default: new () => JpegImageLike };
    return mod.default;
  })();
  return jpegImage;
}

interface LosslessDecoder { decode(buf: ArrayBuffer, offset: number, length: number, bytesPerSample: number): ArrayBufferView }
let lossless: Promise<new () => LosslessDecoder> | undefined;
function losslessClass(): Promise<new () => LosslessDecoder> {
  lossless ??= import('@cornerstonejs/jpeg-lossless-decoder-js').then((m) => (m as unknown as { Decoder: new () => LosslessDecoder }).Decoder);
  return lossless;
}

// ---- frame extraction ----

function frameFragments(src: PixelSource, frameIndex: number): Uint8Array {
  const ds = src.dataSet;
  const el = ds.elements.x7fe00010!;
  const fragments = el.fragments ?? [];
  if (fragments.length === 0) throw new PixelError(`${src.file}: encapsulated pixel data has no fragments`);
  const bot = el.basicOffsetTable ?? [];
  if (bot.length > 0) {
    if (bot.length !== src.frames) throw new PixelError(`${src.file}: basic offset table lists ${bot.length} frames, NumberOfFrames says ${src.frames}`);
    return dicomParser.readEncapsulatedImageFrame(ds, el, frameIndex);
  }
  if (src.frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, fragments.length);
  if (fragments.length === src.frames) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, frameIndex, 1);
  // Several fragments per frame and no offset table: JPEG frames can be found by their start-of-image markers.
  const table = dicomParser.createJPEGBasicOffsetTable(ds, el);
  return dicomParser.readEncapsulatedImageFrame(ds, el, frameIndex, table);
}

function decodeRle(src: PixelSource, data: Uint8Array, rows: number, columns: number, samples: number, bytesPerSample: number): Uint8Array {
  // PS3.5 Annex G: a 64-byte header of segment offsets, one PackBits segment per byte plane (most significant first).
  if (data.length < 64) throw new PixelError(`${src.file}: RLE frame shorter than its 64-byte header`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const segments = view.getUint32(0, true);
  const expected = samples * bytesPerSample;
  if (segments !== expected) throw new PixelError(`${src.file}: RLE frame has ${segments} segments, expected ${expected}`);
  const pixels = rows * columns;
  const out = new Uint8Array(pixels * expected);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : data.length;
    if (start < 64 || start > end || end > data.length) throw new PixelError(`${src.file}: RLE segment ${s + 1} offset ${start} is outside the frame`);
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
    if (n < pixels) throw new PixelError(`${src.file}: RLE segment ${s + 1} decodes to ${n} of ${pixels} pixels`);
  }
  return out;
}

/** A fresh copy: Buffer#slice (what dicom-parser hands back in Node) is a view, not a copy. */
function copyBytes(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b);
}

function typed(bytes: Uint8Array, bitsAllocated: number, signed: boolean): StoredSamples {
  // Copy into an aligned buffer: the frame may start at an odd offset inside the file.
  const b = bytes.byteOffset % 4 === 0 ? bytes : copyBytes(bytes);
  const n = b.byteLength;
  if (bitsAllocated === 8) return signed ? new Int8Array(b.buffer, b.byteOffset, n) : new Uint8Array(b.buffer, b.byteOffset, n);
  if (bitsAllocated === 16) return signed ? new Int16Array(b.buffer, b.byteOffset, n >> 1) : new Uint16Array(b.buffer, b.byteOffset, n >> 1);
  if (bitsAllocated === 32) return signed ? new Int32Array(b.buffer, b.byteOffset, n >> 2) : new Uint32Array(b.buffer, b.byteOffset, n >> 2);
  throw new PixelError(`BitsAllocated ${bitsAllocated} is not supported for inference`);
}

function unpackBits(bytes: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = ((bytes[i >> 3] ?? 0) >> (i & 7)) & 1;
  return out;
}

function readPalette(ds: DataSet, file: string): DecodedFrame['palette'] {
  const lut = (c: 'x00281101' | 'x00281102' | 'x00281103', d: string): Float32Array => {
    const desc = ds.elements[c];
    const data = ds.elements[d];
    if (!desc || !data) throw new PixelError(`${file}: PALETTE COLOR without its lookup table ${c}`);
    const entries = ds.uint16(c, 0) || 65536;
    const bits = ds.uint16(c, 2) ?? 16;
    const max = 2 ** bits - 1;
    const out = new Float32Array(entries);
    const wide = data.length >= entries * 2;
    for (let i = 0; i < entries; i++) {
      const v = wide ? ds.byteArray[data.dataOffset + 2 * i]! | (ds.byteArray[data.dataOffset + 2 * i + 1]! << 8) : ds.byteArray[data.dataOffset + i]!;
      out[i] = Math.min(1, v / max);
    }
    return out;
  };
  // The descriptor's second value is the first stored value mapped; SS when the pixels are signed.
  const first = (ds.elements.x00281101?.vr === 'SS' ? ds.int16('x00281101', 1) : ds.uint16('x00281101', 1)) ?? 0;
  return { first, red: lut('x00281101', 'x00281201'), green: lut('x00281102', 'x00281202'), blue: lut('x00281103', 'x00281203') };
}

interface FrameLayout { rows: number; columns: number; samplesPerPixel: number; bitsAllocated: number; signed: boolean }

/** A native (uncompressed) frame: its bytes inside the pixel data element, byte-swapped for big endian. */
function nativeFrame(src: PixelSource, frameIndex: number, f: FrameLayout): StoredSamples {
  const { dataSet: ds, file } = src;
  const el = ds.elements.x7fe00010!;
  if (el.hadUndefinedLength) throw new PixelError(`${file}: native transfer syntax ${src.transferSyntax} but pixel data is encapsulated`);
  const samples = f.rows * f.columns * f.samplesPerPixel;
  const bytesPerSample = f.bitsAllocated >> 3;
  const needed = f.bitsAllocated === 1 ? Math.ceil((src.frames * samples) / 8) : src.frames * samples * bytesPerSample;
  if (el.length < needed || el.dataOffset + needed > ds.byteArray.length) {
    throw new PixelError(`${file}: pixel data holds ${el.length} bytes but ${src.frames} frame(s) of ${f.columns}×${f.rows}×${f.samplesPerPixel}×${f.bitsAllocated} bits need ${needed}`);
  }
  if (f.bitsAllocated === 1) {
    const bitStart = frameIndex * samples;
    return unpackBits(ds.byteArray.subarray(el.dataOffset, el.dataOffset + Math.ceil((bitStart + samples) / 8)), bitStart + samples).subarray(bitStart);
  }
  const start = el.dataOffset + frameIndex * samples * bytesPerSample;
  let raw = ds.byteArray.subarray(start, start + samples * bytesPerSample);
  if (src.transferSyntax === TS.explicitBE && bytesPerSample > 1) {
    raw = copyBytes(raw);
    for (let i = 0; i < raw.length; i += bytesPerSample) raw.subarray(i, i + bytesPerSample).reverse();
  }
  return typed(raw, f.bitsAllocated, f.signed);
}

/**
 * An encapsulated frame through its codec, always interleaved. `photometric` is what the samples now are:
 * libjpeg-turbo turns baseline YCbCr into RGB, and JPEG 2000 / HTJ2K undo their multi-component transform.
 */
async function encapsulatedFrame(src: PixelSource, frameIndex: number, f: FrameLayout, photometric: string): Promise<{ samples: StoredSamples; photometric: string }> {
  const { file, transferSyntax: t } = src;
  if (!(t in ENCAPSULATED_SYNTAXES)) throw new PixelError(`${file}: transfer syntax ${t} cannot be decoded; convert it with dcmconv or gdcmconv`);
  const data = frameFragments(src, frameIndex);
  if (t === '1.2.840.10008.1.2.5') {
    return { samples: typed(decodeRle(src, data, f.rows, f.columns, f.samplesPerPixel, Math.max(1, f.bitsAllocated >> 3)), f.bitsAllocated, f.signed), photometric };
  }
  if (t === '1.2.840.10008.1.2.4.57' || t === '1.2.840.10008.1.2.4.70') {
    const Decoder = await losslessClass();
    const copy = copyBytes(data);
    const out = new Decoder().decode(copy.buffer, 0, copy.length, f.bitsAllocated <= 8 ? 1 : 2);
    return { samples: typed(new Uint8Array(out.buffer, out.byteOffset, out.byteLength), f.bitsAllocated <= 8 ? 8 : 16, f.signed), photometric };
  }
  if (t === '1.2.840.10008.1.2.4.51') {
    const J = await jpegImageClass();
    const j = new J();
    j.parse(data);
    j.colorTransform = false;
    const samples = f.bitsAllocated <= 8 ? j.getData(f.columns, f.rows) : j.getData16(f.columns, f.rows);
    return { samples: f.signed && samples instanceof Uint16Array ? new Int16Array(samples.buffer, samples.byteOffset, samples.length) : samples, photometric };
  }
  const [pkg, cls] =
    t === '1.2.840.10008.1.2.4.50' ? ['@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', 'JPEGDecoder']
    : t === '1.2.840.10008.1.2.4.80' || t === '1.2.840.10008.1.2.4.81' ? ['@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder']
    : t === '1.2.840.10008.1.2.4.90' || t === '1.2.840.10008.1.2.4.91' ? ['@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder']
    : ['@cornerstonejs/codec-openjph/wasmjs', 'HTJ2KDecoder'];
  const decoder = await wasmDecoder(pkg, cls);
  decoder.getEncodedBuffer(data.length).set(data);
  try {
    decoder.decode();
  } catch (e) {
    throw new PixelError(`${file}: ${ENCAPSULATED_SYNTAXES[t]} frame ${frameIndex + 1} does not decode (${typeof e === 'number' ? `codec error ${e}` : String(e)})`);
  }
  const info = decoder.getFrameInfo();
  if (info.width !== f.columns || info.height !== f.rows) {
    throw new PixelError(`${file}: frame ${frameIndex + 1} decodes to ${info.width}×${info.height}, header says ${f.columns}×${f.rows}`);
  }
  const samples = typed(decoder.getDecodedBuffer().slice(), info.bitsPerSample > 8 ? 16 : 8, f.signed || info.isSigned === true);
  const converted = (t === '1.2.840.10008.1.2.4.50' && f.samplesPerPixel === 3) || photometric === 'YBR_RCT' || photometric === 'YBR_ICT';
  return { samples, photometric: converted ? 'RGB' : photometric };
}

/** Decodes one frame (0-based) of an opened file into stored sample values. */
export async function decodeFrame(src: PixelSource, frameIndex: number): Promise<DecodedFrame> {
  const { dataSet: ds, file } = src;
  if (frameIndex < 0 || frameIndex >= src.frames) throw new PixelError(`${file}: frame ${frameIndex + 1} is outside 1..${src.frames}`);
  const rows = us(ds, 'x00280010') ?? 0;
  const columns = us(ds, 'x00280011') ?? 0;
  const samplesPerPixel = us(ds, 'x00280002') ?? 1;
  const bitsAllocated = us(ds, 'x00280100') ?? 0;
  const bitsStored = us(ds, 'x00280101') ?? bitsAllocated;
  const signed = us(ds, 'x00280103') === 1;
  if (rows === 0 || columns === 0) throw new PixelError(`${file}: Rows (0028,0010) or Columns (0028,0011) is missing or zero`);
  if (![1, 3].includes(samplesPerPixel)) throw new PixelError(`${file}: SamplesPerPixel (0028,0002) is ${samplesPerPixel}; expected 1 or 3`);
  if (![1, 8, 16, 32].includes(bitsAllocated)) throw new PixelError(`${file}: BitsAllocated (0028,0100) is ${bitsAllocated}; expected 1, 8, 16 or 32`);
  const layout = { rows, columns, samplesPerPixel, bitsAllocated, signed };
  const stored = text(ds, 'x00280004').toUpperCase() || 'MONOCHROME2';
  const decoded = UNCOMPRESSED.has(src.transferSyntax)
    ? { samples: nativeFrame(src, frameIndex, layout), photometric: stored }
    : await encapsulatedFrame(src, frameIndex, layout, stored);
  const photometric = decoded.photometric;
  let samples = decoded.samples;

  const pixels = rows * columns;
  const expected = pixels * samplesPerPixel;
  if (samples.length < expected) throw new PixelError(`${file}: frame ${frameIndex + 1} decodes to ${samples.length} samples, expected ${expected}`);
  if (samples.length > expected) samples = samples.subarray(0, expected);
  // Native colour with PlanarConfiguration 1 is stored plane by plane; codecs already hand back interleaved samples.
  if (samplesPerPixel === 3 && UNCOMPRESSED.has(src.transferSyntax) && us(ds, 'x00280006') === 1) samples = interleave(samples, pixels);

  const wc = num(ds, 'x00281050');
  const ww = num(ds, 'x00281051');
  return {
    rows,
    columns,
    samplesPerPixel,
    photometric,
    bitsAllocated,
    bitsStored: Math.min(bitsStored || bitsAllocated, bitsAllocated),
    signed,
    samples,
    rescaleSlope: num(ds, 'x00281053') ?? 1,
    rescaleIntercept: num(ds, 'x00281052') ?? 0,
    window: wc !== null && ww !== null && ww > 0 ? { center: wc, width: ww, fn: text(ds, 'x00281056').toUpperCase() || 'LINEAR' } : null,
    modality: text(ds, 'x00080060').toUpperCase(),
    palette: photometric === 'PALETTE COLOR' ? readPalette(ds, file) : null,
  };
}

function interleave(planar: StoredSamples, pixels: number): StoredSamples {
  const out = new (planar.constructor as new (n: number) => StoredSamples)(planar.length);
  for (let i = 0; i < pixels; i++) {
    out[3 * i] = planar[i]!;
    out[3 * i + 1] = planar[pixels + i]!;
    out[3 * i + 2] = planar[2 * pixels + i]!;
  }
  return out;
}

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
