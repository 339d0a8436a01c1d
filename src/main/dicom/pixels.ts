// Pixel data for inference, decoded in main with the same codec family the viewer uses (Cornerstone's WASM builds
// of libjpeg-turbo, CharLS, OpenJPEG and OpenJPH, its JPEG lossless decoder and its 12-bit JPEG decoder), so what
// the model sees is what the clinician sees. Files are hostile input: every size is checked before it is trusted,
// and every failure names the file, the frame and what is wrong.
import dicomParser from 'dicom-parser';
import { LightboxError } from '../../shared/contract.ts';
import { decodeWithWasm, jpegImageClass, losslessClass } from './codec-wasm.ts';
import { checkJ2kCodestream, checkJpegStream, jpegColourMarkers, jpegHoldsYcc, libjpegAssumesYcc } from './codestream.ts';
import type { FrameExpectation } from './codestream.ts';
import { num, text, us } from './attributes.ts';
import { decodeRle } from './rle.ts';
import { interleave, unpackBits, upsample422 } from './sample-order.ts';
import { MAX_FRAMES, TS, UNCOMPRESSED, decodedSizeRefusal, parseDicomFile } from './header.ts';

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

/** An expected decoding failure (a damaged, hostile or unsupported file): its message names the file and frame. */
export class PixelError extends LightboxError {
  constructor(message: string) {
    super('io', message);
    this.name = 'PixelError';
  }
}

const fileError = (file: string, what: string): PixelError => new PixelError(`decode: ${file}: ${what}`);
const frameError = (file: string, frameIndex: number, what: string): PixelError => new PixelError(`decode: ${file} frame ${frameIndex + 1}: ${what}`);

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
  if ('notDicom' in parsed) throw fileError(file, `not a DICOM file (${parsed.notDicom})`);
  if ('rejected' in parsed) throw fileError(file, parsed.rejected);
  const ds = parsed.dataSet;
  if (!ds.elements.x7fe00010) throw fileError(file, 'no Pixel Data (7FE0,0010); not an image');
  const framesText = text(ds, 'x00280008');
  const frames = framesText ? Number(framesText) : 1;
  if (!Number.isInteger(frames) || frames < 1 || frames > MAX_FRAMES) throw fileError(file, `NumberOfFrames (0028,0008) is "${framesText.slice(0, 20)}", not a whole number from 1 to ${MAX_FRAMES}`);
  // Bounded before anything is decoded: the header alone says how large the pixels will be.
  const tooLarge = decodedSizeRefusal(us(ds, 'x00280010') ?? 0, us(ds, 'x00280011') ?? 0, frames, us(ds, 'x00280002') ?? 1, us(ds, 'x00280100') ?? 0);
  if (tooLarge) throw fileError(file, tooLarge);
  return { dataSet: ds, transferSyntax: parsed.transferSyntax, frames, file };
}

// ---- codecs: modules loaded once per thread, a fresh decoder for every frame ----

/** The embind decoder classes of Cornerstone's codec builds (CharLS, OpenJPEG, OpenJPH, libjpeg-turbo). */
// ---- frame extraction ----

function frameFragments(src: PixelSource, frameIndex: number): Uint8Array {
  const ds = src.dataSet;
  const el = ds.elements.x7fe00010!;
  const fragments = el.fragments ?? [];
  if (fragments.length === 0) throw fileError(src.file, 'encapsulated pixel data has no fragments');
  const bot = el.basicOffsetTable ?? [];
  if (bot.length > 0) {
    if (bot.length !== src.frames) throw fileError(src.file, `basic offset table lists ${bot.length} frames, NumberOfFrames says ${src.frames}`);
    return dicomParser.readEncapsulatedImageFrame(ds, el, frameIndex);
  }
  if (src.frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, fragments.length);
  if (fragments.length === src.frames) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, frameIndex, 1);
  // Several fragments per frame and no offset table: JPEG frames can be found by their start-of-image markers.
  const table = dicomParser.createJPEGBasicOffsetTable(ds, el);
  return dicomParser.readEncapsulatedImageFrame(ds, el, frameIndex, table);
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
  throw new Error(`typed: BitsAllocated ${bitsAllocated} reached the sample view (decodeFrame admits 1, 8, 16 and 32)`);
}

function readPalette(ds: DataSet, file: string): DecodedFrame['palette'] {
  const lut = (c: 'x00281101' | 'x00281102' | 'x00281103', d: string): Float32Array => {
    const desc = ds.elements[c];
    const data = ds.elements[d];
    if (!desc || !data) throw fileError(file, `PALETTE COLOR without its lookup table ${c}`);
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

export interface FrameLayout { rows: number; columns: number; samplesPerPixel: number; bitsAllocated: number; signed: boolean }

/** A native (uncompressed) frame: its bytes inside the pixel data element, byte-swapped for big endian. */
function nativeFrame(src: PixelSource, frameIndex: number, f: FrameLayout): StoredSamples {
  const { dataSet: ds, file } = src;
  const el = ds.elements.x7fe00010!;
  if (el.hadUndefinedLength) throw fileError(file, `native transfer syntax ${src.transferSyntax} but pixel data is encapsulated`);
  // Native YBR_FULL_422 holds Y1 Y2 Cb Cr for each pair of pixels in a row: two samples per pixel, not three.
  const subsampled = f.samplesPerPixel === 3 && text(ds, 'x00280004').trim().toUpperCase() === 'YBR_FULL_422';
  if (subsampled && f.columns % 2 !== 0) throw fileError(file, `YBR_FULL_422 needs an even number of Columns (0028,0011), not ${f.columns}`);
  const samples = f.rows * f.columns * (subsampled ? 2 : f.samplesPerPixel);
  const bytesPerSample = f.bitsAllocated >> 3;
  const needed = f.bitsAllocated === 1 ? Math.ceil((src.frames * samples) / 8) : src.frames * samples * bytesPerSample;
  if (el.length < needed || el.dataOffset + needed > ds.byteArray.length) {
    throw fileError(file, `pixel data holds ${el.length} bytes but ${src.frames} frame(s) of ${f.columns}×${f.rows}×${f.samplesPerPixel}×${f.bitsAllocated} bits need ${needed}`);
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
  const values = typed(raw, f.bitsAllocated, f.signed);
  return subsampled ? upsample422(values, f.rows * f.columns) : values;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : typeof e === 'string' ? e : JSON.stringify(e));

type Family = 'baseline' | 'extended' | 'lossless' | 'jpeg-ls' | 'j2k' | 'htj2k';

function familyOf(t: string): Family {
  if (t === '1.2.840.10008.1.2.4.50') return 'baseline';
  if (t === '1.2.840.10008.1.2.4.51') return 'extended';
  if (t === '1.2.840.10008.1.2.4.57' || t === '1.2.840.10008.1.2.4.70') return 'lossless';
  if (t === '1.2.840.10008.1.2.4.80' || t === '1.2.840.10008.1.2.4.81') return 'jpeg-ls';
  if (t === '1.2.840.10008.1.2.4.90' || t === '1.2.840.10008.1.2.4.91') return 'j2k';
  return 'htj2k';
}

const WASM: Partial<Record<Family, { pkg: string; cls: string; library: string; stream: string }>> = {
  baseline: { pkg: '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', cls: 'JPEGDecoder', library: 'libjpeg-turbo', stream: 'JPEG stream' },
  'jpeg-ls': { pkg: '@cornerstonejs/codec-charls/decodewasmjs', cls: 'JpegLSDecoder', library: 'CharLS', stream: 'JPEG-LS stream' },
  j2k: { pkg: '@cornerstonejs/codec-openjpeg/decodewasmjs', cls: 'J2KDecoder', library: 'OpenJPEG', stream: 'JPEG 2000 codestream' },
  htj2k: { pkg: '@cornerstonejs/codec-openjph/wasmjs', cls: 'HTJ2KDecoder', library: 'OpenJPH', stream: 'HTJ2K codestream' },
};

/** A decoder's output must be exactly the frame the header describes, or it is not this frame. */
function checkDecodedLength(length: number, bytesPerSample: number, f: FrameLayout, fail: (why: string) => PixelError): void {
  const want = f.rows * f.columns * f.samplesPerPixel * bytesPerSample;
  if (length !== want) {
    throw fail(`decodes to ${length} bytes, but ${f.columns}×${f.rows}×${f.samplesPerPixel} samples of ${bytesPerSample} byte(s) are ${want}`);
  }
}

/**
 * An encapsulated frame through its codec, always interleaved. `photometric` is what the samples now are:
 * libjpeg-turbo turns baseline YCbCr into RGB, and JPEG 2000 / HTJ2K undo their multi-component transform.
 * The stream's own headers are checked against the DICOM header first (codestream.ts), and what the codec
 * returns is checked again: dimensions, components, bit depth and byte length.
 */
async function encapsulatedFrame(src: PixelSource, frameIndex: number, f: FrameLayout, photometric: string): Promise<{ samples: StoredSamples; photometric: string }> {
  const { file, transferSyntax: t } = src;
  if (!(t in ENCAPSULATED_SYNTAXES)) throw fileError(file, `transfer syntax ${t} cannot be decoded; convert it with dcmconv or gdcmconv`);
  const fail = (why: string): PixelError => frameError(file, frameIndex, why);
  let data: Uint8Array;
  try {
    data = frameFragments(src, frameIndex);
  } catch (e) {
    if (e instanceof PixelError) throw e;
    throw fail(`its fragments cannot be read (${errorText(e)}); the file is damaged`);
  }
  if (t === '1.2.840.10008.1.2.5') {
    return { samples: typed(decodeRle(data, f, fail), f.bitsAllocated, f.signed), photometric };
  }
  const family = familyOf(t);
  const expect: FrameExpectation = { rows: f.rows, columns: f.columns, samplesPerPixel: f.samplesPerPixel, bitsAllocated: f.bitsAllocated };
  const wrong = family === 'j2k' || family === 'htj2k'
    ? checkJ2kCodestream(data, family === 'j2k' ? 'JPEG 2000' : 'HTJ2K', expect)
    : checkJpegStream(data, family, expect);
  if (wrong) throw fail(wrong);
  if (family === 'lossless') {
    const Decoder = await losslessClass();
    const copy = copyBytes(data);
    const bytesPerSample = f.bitsAllocated <= 8 ? 1 : 2;
    let out: ArrayBufferView;
    try {
      out = new Decoder().decode(copy.buffer, 0, copy.length, bytesPerSample);
    } catch (e) {
      throw fail(`the JPEG lossless decoder rejected the stream: ${errorText(e)}`);
    }
    checkDecodedLength(out.byteLength, bytesPerSample, f, fail);
    return { samples: typed(new Uint8Array(out.buffer, out.byteOffset, out.byteLength), bytesPerSample * 8, f.signed), photometric };
  }
  if (family === 'extended') return { samples: await jpegImageDecode(data, f, fail, false), photometric };
  let colour = photometric;
  if (family === 'baseline' && f.samplesPerPixel === 3) {
    // libjpeg guesses the colour model from the markers; where the stream holds untransformed RGB that it would
    // convert anyway (no markers, ids other than 1,2,3), decode without any colour transform instead.
    const markers = jpegColourMarkers(data);
    const ycc = jpegHoldsYcc(markers, photometric);
    const libjpegConverts = libjpegAssumesYcc(markers);
    if (libjpegConverts && !ycc) return { samples: await jpegImageDecode(data, f, fail, false), photometric: 'RGB' };
    colour = !libjpegConverts && ycc ? 'YBR_FULL' : 'RGB';
  }
  const w = WASM[family]!;
  const { info, bytes } = await decodeWithWasm(w.pkg, w.cls, `${w.library} rejected the ${w.stream}`, `${w.library} could not decode the ${w.stream}`, data, fail);
  if (info.width !== f.columns || info.height !== f.rows) throw fail(`${w.library} decoded ${info.width}×${info.height}, but the header says ${f.columns}×${f.rows}`);
  if (info.componentCount !== f.samplesPerPixel) throw fail(`${w.library} decoded ${info.componentCount} components, but SamplesPerPixel is ${f.samplesPerPixel}`);
  if (info.bitsPerSample < 1 || info.bitsPerSample > f.bitsAllocated) throw fail(`${w.library} decoded ${info.bitsPerSample}-bit samples, but BitsAllocated is ${f.bitsAllocated}`);
  const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
  checkDecodedLength(bytes.length, bytesPerSample, f, fail);
  const samples = typed(bytes, bytesPerSample * 8, f.signed || info.isSigned === true);
  if (family === 'baseline' && f.samplesPerPixel === 3) return { samples, photometric: colour };
  const converted = photometric === 'YBR_RCT' || photometric === 'YBR_ICT';
  return { samples, photometric: converted ? 'RGB' : photometric };
}

/** pdf.js's JPEG decoder (12-bit extended, and baseline without a colour transform): stored values as they are. */
async function jpegImageDecode(data: Uint8Array, f: FrameLayout, fail: (why: string) => PixelError, colorTransform: boolean): Promise<StoredSamples> {
  const J = await jpegImageClass();
  const j = new J();
  let samples: Uint8Array | Uint16Array;
  try {
    j.parse(data);
    j.colorTransform = colorTransform;
    samples = f.bitsAllocated <= 8 ? j.getData(f.columns, f.rows) : j.getData16(f.columns, f.rows);
  } catch (e) {
    throw fail(`the JPEG decoder (pdf.js) rejected the stream: ${errorText(e)}`);
  }
  checkDecodedLength(samples.byteLength, samples.BYTES_PER_ELEMENT, f, fail);
  if (samples instanceof Uint16Array) removeLevelShiftBias(samples, jpegColourMarkers(data).precision);
  return f.signed && samples instanceof Uint16Array ? new Int16Array(samples.buffer, samples.byteOffset, samples.length) : samples;
}

/**
 * pdf.js's decoder (as shipped in @cornerstonejs/dicom-image-loader, codecs/jpeg.js) adds the level shift and
 * rounding of 8-bit data scaled to the precision: `(q + 2056 / bitConversion) >> 4` with bitConversion
 * 255/(2^P − 1), where 2^(P−1)·16 + 8 is right. For 12-bit data that is 15.06 grey levels too bright (seen on the
 * NEMA NM1_JPLY file, pydicom's JPEG-lossy.dcm: every pixel 15 above GDCM's and dcmtk's decoding). The bias is
 * taken off again, leaving the rounding difference of two IDCTs (≤ 1) except within 15 levels of saturation.
 */
function removeLevelShiftBias(samples: Uint16Array, precision: number): void {
  if (precision <= 8) return;
  const max = 2 ** precision - 1;
  const bias = Math.round((2056 * max) / 255 / 16 - (2 ** (precision - 1) * 16 + 8) / 16);
  if (bias <= 0) return;
  for (let i = 0; i < samples.length; i++) samples[i] = Math.max(0, samples[i]! - bias);
}

/** Decodes one frame (0-based) of an opened file into stored sample values. */
export async function decodeFrame(src: PixelSource, frameIndex: number): Promise<DecodedFrame> {
  const { dataSet: ds, file } = src;
  if (frameIndex < 0 || frameIndex >= src.frames) throw fileError(file, `frame ${frameIndex + 1} is outside 1..${src.frames}`);
  const rows = us(ds, 'x00280010') ?? 0;
  const columns = us(ds, 'x00280011') ?? 0;
  const samplesPerPixel = us(ds, 'x00280002') ?? 1;
  const bitsAllocated = us(ds, 'x00280100') ?? 0;
  const bitsStored = us(ds, 'x00280101') ?? bitsAllocated;
  const signed = us(ds, 'x00280103') === 1;
  if (rows === 0 || columns === 0) throw fileError(file, `Rows (0028,0010) or Columns (0028,0011) is missing or zero`);
  if (![1, 3].includes(samplesPerPixel)) throw fileError(file, `SamplesPerPixel (0028,0002) is ${samplesPerPixel}; expected 1 or 3`);
  if (![1, 8, 16, 32].includes(bitsAllocated)) throw fileError(file, `BitsAllocated (0028,0100) is ${bitsAllocated}; expected 1, 8, 16 or 32`);
  const layout = { rows, columns, samplesPerPixel, bitsAllocated, signed };
  const stored = text(ds, 'x00280004').toUpperCase() || 'MONOCHROME2';
  const decoded = UNCOMPRESSED.has(src.transferSyntax)
    ? { samples: nativeFrame(src, frameIndex, layout), photometric: stored }
    : await encapsulatedFrame(src, frameIndex, layout, stored);
  const photometric = decoded.photometric;
  let samples = decoded.samples;

  const pixels = rows * columns;
  const expected = pixels * samplesPerPixel;
  if (samples.length < expected) throw frameError(file, frameIndex, `decodes to ${samples.length} samples, expected ${expected}`);
  if (samples.length > expected) samples = samples.subarray(0, expected);
  // Native colour with PlanarConfiguration 1 is stored plane by plane; codecs already hand back interleaved samples.
  if (samplesPerPixel === 3 && UNCOMPRESSED.has(src.transferSyntax) && us(ds, 'x00280006') === 1 && stored !== 'YBR_FULL_422') samples = interleave(samples, pixels);

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
