// What the viewer draws: one frame decoded by main's decoder — the same pixels the model embeds — and handed to the
// renderer as a single-frame, uncompressed DICOM that Cornerstone draws without its own codecs.
//
// Why not let Cornerstone's loader decode the original file: on real-world files it drew wrong pixels without an
// error (a 12-bit JPEG frame with a previous image's leftovers, a JPEG 2000 whose Pixel Representation disagrees with
// its codestream drawn with air white, 16-bit RGB RLE as white bars, multi-frame RLE failing every frame after the
// first, YBR_FULL_422 refused). Main's decoder handles those and is checked against GDCM and dcmtk in the tests;
// what it cannot decode becomes an error naming the file and the reason, which the viewport shows.
import fs from 'node:fs';
import type { DataSet } from 'dicom-parser';
import { text, uid } from './attributes.ts';
import { encodeDicom } from './dicom-writer.ts';
import type { NaturalDataset } from './dicom-writer.ts';
import { isColour, rgbValues } from './pixel-values.ts';
import { PixelError, decodeFrame, openPixelSource } from './pixels.ts';
import type { DecodedFrame, PixelSource } from './pixels.ts';

/** Parsed sources of the last few files drawn: scrolling a multi-frame file must not parse it again per frame. */
const SOURCES = new Map<string, { mtimeMs: number; size: number; src: PixelSource }>();
const MAX_SOURCES = 4;

function source(file: string): PixelSource {
  const st = fs.statSync(file);
  const hit = SOURCES.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) {
    SOURCES.delete(file);
    SOURCES.set(file, hit);
    return hit.src;
  }
  const src = openPixelSource(file);
  SOURCES.set(file, { mtimeMs: st.mtimeMs, size: st.size, src });
  while (SOURCES.size > MAX_SOURCES) SOURCES.delete(SOURCES.keys().next().value!);
  return src;
}

/** Drops the cached parse of a file (re-import, tests). */
export function forgetDisplaySources(): void {
  SOURCES.clear();
}

/** Numbers of a multi-valued DS/IS attribute ("0.5\\0.5"), or null when absent or not numbers. */
function numbers(ds: DataSet, tag: string, count: number): number[] | null {
  const parts = text(ds, tag).split('\\').map((s) => Number(s.trim()));
  return parts.length >= count && parts.slice(0, count).every((n) => Number.isFinite(n)) ? parts.slice(0, count) : null;
}

/** Pixel spacing from the image, the imager, or an enhanced object's shared Pixel Measures. */
function pixelSpacing(ds: DataSet): number[] | null {
  const own = numbers(ds, 'x00280030', 2) ?? numbers(ds, 'x00181164', 2);
  if (own) return own;
  const shared = ds.elements.x52009229?.items?.[0]?.dataSet;
  const measures = shared?.elements.x00289110?.items?.[0]?.dataSet;
  return measures ? numbers(measures, 'x00280030', 2) : null;
}

/** Stored greyscale values masked to BitsStored and sign-extended: bits above it may hold overlays or garbage. */
function greyValues(f: DecodedFrame): Int32Array {
  const n = f.rows * f.columns;
  const out = new Int32Array(n);
  const s = f.samples;
  const bits = f.bitsStored;
  const mask = bits >= 32 ? -1 : 2 ** bits - 1;
  const signBit = 2 ** (bits - 1);
  const masking = f.bitsAllocated > 1 && bits < f.bitsAllocated;
  for (let i = 0; i < n; i++) {
    let v = s[i]!;
    if (masking) {
      v = (v & mask) >>> 0;
      if (f.signed && v >= signBit) v -= 2 * signBit;
    }
    out[i] = v;
  }
  return out;
}

function pixelAttributes(f: DecodedFrame, file: string): NaturalDataset {
  const base = { Rows: f.rows, Columns: f.columns };
  if (isColour(f)) {
    // Colour as 8-bit RGB: YBR converted and palettes applied by the same code that prepares the model's input.
    const rgb = rgbValues(f);
    const bytes = new Uint8Array(rgb.length);
    for (let i = 0; i < rgb.length; i++) bytes[i] = Math.round(rgb[i]! * 255);
    return { ...base, SamplesPerPixel: 3, PhotometricInterpretation: 'RGB', PlanarConfiguration: 0, BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelRepresentation: 0, PixelData: bytes.buffer, _vrMap: { PixelData: 'OB' } };
  }
  if (f.samples instanceof Float32Array) throw new PixelError(`decode: ${file}: float pixel data cannot be drawn yet; the image can still be embedded`);
  const photometric = f.photometric === 'MONOCHROME1' ? 'MONOCHROME1' : 'MONOCHROME2';
  const values = greyValues(f);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const grey = { ...base, SamplesPerPixel: 1, PhotometricInterpretation: photometric };
  if (lo >= 0 && hi <= 255 && f.bitsAllocated <= 8) {
    return { ...grey, BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelRepresentation: 0, PixelData: Uint8Array.from(values).buffer, _vrMap: { PixelData: 'OB' } };
  }
  if (lo >= -32768 && hi <= 65535 && !(lo < 0 && hi > 32767)) {
    const signed = lo < 0;
    const px = signed ? Int16Array.from(values) : Uint16Array.from(values);
    return { ...grey, BitsAllocated: 16, BitsStored: 16, HighBit: 15, PixelRepresentation: signed ? 1 : 0, PixelData: px.buffer, _vrMap: { PixelData: 'OW' } };
  }
  const signed = lo < 0;
  const px = signed ? values : Uint32Array.from(values);
  return { ...grey, BitsAllocated: 32, BitsStored: 32, HighBit: 31, PixelRepresentation: signed ? 1 : 0, PixelData: px.buffer, _vrMap: { PixelData: 'OW' } };
}

/**
 * One frame (1-based) of a file as a single-frame explicit VR little endian DICOM with the decoded pixels, the
 * modality LUT and first window of the original, and the attributes the viewer reads (modality, spacing, geometry).
 * Throws PixelError (naming the file and frame) when main's decoder cannot decode it.
 */
export async function displayFrame(file: string, frame: number): Promise<Buffer> {
  const src = source(file);
  if (!Number.isInteger(frame) || frame < 1 || frame > src.frames) throw new PixelError(`decode: ${file}: frame ${frame} is outside 1..${src.frames}`);
  const f = await decodeFrame(src, frame - 1);
  const ds = src.dataSet;
  const out: NaturalDataset = {
    SOPClassUID: uid(ds, 'x00080016') || '1.2.840.10008.5.1.4.1.1.7',
    SOPInstanceUID: uid(ds, 'x00080018') || '2.25.0',
    StudyInstanceUID: uid(ds, 'x0020000d') || undefined,
    SeriesInstanceUID: uid(ds, 'x0020000e') || undefined,
    Modality: f.modality || 'OT',
    InstanceNumber: text(ds, 'x00200013') || undefined,
    ...pixelAttributes(f, file),
  };
  if (!isColour(f)) {
    if (f.rescaleSlope !== 1 || f.rescaleIntercept !== 0) {
      out.RescaleSlope = String(f.rescaleSlope);
      out.RescaleIntercept = String(f.rescaleIntercept);
      const type = text(ds, 'x00281054');
      if (type) out.RescaleType = type;
    }
    if (f.window) {
      out.WindowCenter = String(f.window.center);
      out.WindowWidth = String(f.window.width);
      if (f.window.fn !== 'LINEAR') out.VOILUTFunction = f.window.fn;
    }
  }
  const spacing = pixelSpacing(ds);
  if (spacing && spacing.every((v) => v > 0)) out.PixelSpacing = spacing.map(String);
  const position = numbers(ds, 'x00200032', 3);
  const orientation = numbers(ds, 'x00200037', 6);
  if (position && orientation) {
    out.ImagePositionPatient = position.map(String);
    out.ImageOrientationPatient = orientation.map(String);
    const frameOfReference = uid(ds, 'x00200052');
    if (frameOfReference) out.FrameOfReferenceUID = frameOfReference;
  }
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return encodeDicom(out);
}

