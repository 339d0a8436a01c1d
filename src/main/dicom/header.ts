// Header-only reading of one DICOM file, treating it as hostile input: reads are bounded, every length is checked
// against the bytes actually present, and every failure becomes a reason naming the file's problem.
import fs from 'node:fs';
import zlib from 'node:zlib';
import dicomParser from 'dicom-parser';
import type { InstanceRecord } from '../project/project-store.ts';
import { text, us } from './attributes.ts';
import { LONG_VRS, scanElements } from './element-scan.ts';
import type { ElementSyntax } from './element-scan.ts';
import { indexDataSet } from './index-scan.ts';

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflatedLE: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
} as const;

export const UNCOMPRESSED = new Set<string>([TS.implicitLE, TS.explicitLE, TS.deflatedLE, TS.explicitBE]);

/** SOP classes that are not instances to index (a DICOMDIR is an index of other files). */
export const DIRECTORY_SOP_CLASS = '1.2.840.10008.1.3.10';

/** Header chunk sizes tried in turn; a header that does not end within the last is rejected. */
const CHUNKS = [16 * 1024, 512 * 1024, 16 * 1024 * 1024, 64 * 1024 * 1024];
export const MAX_FRAMES = 100_000;

const MB = 2 ** 20;

/**
 * What one instance may decode to, checked from its header before any pixel is decoded: 256 MB a frame (an 8192²
 * RGB frame is 192 MB; a WASM codec needs up to four times the frame while it works), 2 GB an instance (a
 * 1000-frame 800×600 RGB ultrasound cine is 1.4 GB; the viewer holds a whole instance when it plays one).
 */
export const MAX_FRAME_BYTES = 256 * MB;
export const MAX_INSTANCE_BYTES = 2048 * MB;

/**
 * Elements (with items and fragments) one data set may hold. dicom-parser keeps about 460 bytes per element, so
 * this bounds a parse near 230 MB; an enhanced multi-frame header of 5000 frames has about 120,000.
 */
export const MAX_ELEMENTS = 500_000;
const MAX_META_ELEMENTS = 1000;

/**
 * A deflated data set inflates no further than its header accounts for (the pixel data its image attributes
 * declare, plus this slack for what may follow the pixels), never past MAX_INFLATED_BYTES, and the header itself
 * is looked for within HEADER_INFLATE_BYTES, the same bound as for the headers of other files.
 */
export const MAX_INFLATED_BYTES = 1024 * MB;
const HEADER_INFLATE_BYTES = 64 * MB;
const INFLATE_SLACK = 16 * MB;
/** Compressed prefixes a deflated header is looked for in: each inflates to at most 1032 times its size. */
const DEFLATED_PREFIXES = [16 * 1024, 60 * 1024, Infinity];

export type HeaderResult =
  | { kind: 'dicom'; record: InstanceRecord }
  | { kind: 'not-dicom'; why: string }
  | { kind: 'rejected'; reason: string };

type DataSet = dicomParser.DataSet;

export interface ParsedFile {
  dataSet: DataSet;
  bytes: Uint8Array;
  transferSyntax: string;
  fileSize: number;
  pixelDataComplete: boolean;
}

const DICOM_EXTENSIONS = /\.(dcm|dicom|dic|ima)$/i;

function readChunk(fd: number, length: number): Uint8Array {
  const buf = Buffer.allocUnsafe(length);
  let off = 0;
  while (off < length) {
    const n = fs.readSync(fd, buf, off, length - off, off);
    if (n === 0) break;
    off += n;
  }
  return off === length ? buf : buf.subarray(0, off);
}

const sizeText = (bytes: number): string => (bytes >= MB ? `${Math.round(bytes / MB)} MB` : `${Math.ceil(bytes / 1024)} KB`);

/** Why an image of these dimensions may not be decoded, or null: the limits above, from header values only. */
export function decodedSizeRefusal(rows: number, columns: number, frames: number, samples: number, bitsAllocated: number): string | null {
  const frameBytes = bitsAllocated === 1 ? Math.ceil((rows * columns * samples) / 8) : rows * columns * samples * Math.ceil(bitsAllocated / 8);
  const shape = `${columns}×${rows}×${samples}×${bitsAllocated} bits`;
  if (frameBytes > MAX_FRAME_BYTES) return `a frame of ${shape} decodes to ${sizeText(frameBytes)}, over the ${sizeText(MAX_FRAME_BYTES)} limit per frame; refused`;
  if (frameBytes * frames > MAX_INSTANCE_BYTES) {
    return `${frames} frames of ${shape} decode to ${sizeText(frameBytes * frames)}, over the ${sizeText(MAX_INSTANCE_BYTES)} limit per instance; refused`;
  }
  return null;
}

function hasPart10Preamble(b: Uint8Array): boolean {
  return b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
}

/** A raw data set without preamble (old ACR-NEMA style files): starts with a group 0008 element, little endian. */
function rawDataSetSyntax(b: Uint8Array): string | null {
  if (b.length < 8 || b[0] !== 0x08 || b[1] !== 0x00) return null;
  const vr = String.fromCharCode(b[4] ?? 0, b[5] ?? 0);
  return /^[A-Z]{2}$/.test(vr) ? TS.explicitLE : TS.implicitLE;
}

function errorText(e: unknown): string {
  // dicom-parser throws either a string or an object { exception, dataSet } carrying the partial parse.
  const inner = typeof e === 'object' && e !== null && 'exception' in e ? (e as { exception: unknown }).exception : e;
  const s = inner instanceof Error ? inner.message : typeof inner === 'string' ? inner : JSON.stringify(inner);
  return s.replace(/^dicomParser\.\w+: ?/, '');
}

/** The file meta group (always explicit VR little endian): its transfer syntax and where the data set starts. */
function readMeta(b: Uint8Array): { ts: string; dataStart: number } | { refused: string } | { short: true } {
  let pos = 132;
  let ts = '';
  for (let n = 1; pos + 8 <= b.length; n++) {
    if ((b[pos]! | (b[pos + 1]! << 8)) !== 0x0002) return { ts, dataStart: pos };
    if (n > MAX_META_ELEMENTS) return { refused: `file meta information has more than ${MAX_META_ELEMENTS} elements; refused (it has a dozen in a real file)` };
    const long = LONG_VRS.has(String.fromCharCode(b[pos + 4]!, b[pos + 5]!));
    if (long && pos + 12 > b.length) break;
    const length = long ? b[pos + 8]! + (b[pos + 9]! << 8) + (b[pos + 10]! << 16) + b[pos + 11]! * 2 ** 24 : b[pos + 6]! + (b[pos + 7]! << 8);
    const header = long ? 12 : 8;
    if ((b[pos + 2]! | (b[pos + 3]! << 8)) === 0x0010) {
      ts = Buffer.from(b.buffer, b.byteOffset + pos + header, Math.max(0, Math.min(length, b.length - pos - header))).toString('latin1').replace(/[\0 ]+$/, '');
    }
    pos += header + length;
  }
  return { short: true };
}

/** Thrown from inside a parse (the inflater) to refuse the file; caught and turned into a reason. */
class Refused {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

/** Raw inflation bounded at `limit` bytes; `partial` for a prefix of the stream (output up to where it stops). */
function inflateCapped(compressed: Uint8Array, limit: number, partial: boolean, context: string): Buffer {
  try {
    return zlib.inflateRawSync(compressed, { maxOutputLength: limit, ...(partial ? { finishFlush: zlib.constants.Z_SYNC_FLUSH } : {}) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new Refused(`deflated data set inflates past ${sizeText(limit)} ${context}; refused`);
    throw new Refused(`deflated data set cannot be inflated (${(e as Error).message}); the file is damaged: copy it again from its source`);
  }
}

function joined(meta: Uint8Array, inflated: Uint8Array): Uint8Array {
  const out = new Uint8Array(meta.length + inflated.length);
  out.set(meta, 0);
  out.set(inflated, meta.length);
  return out;
}

type Outcome = { dataSet: DataSet; ts: string; inflatedWhole: boolean } | { refused: string } | { incomplete: string; final: string };

function syntaxOf(ts: string): ElementSyntax {
  return ts === TS.implicitLE ? 'implicit-le' : ts === TS.explicitBE ? 'explicit-be' : 'explicit-le';
}

/**
 * One parse of `source` (the file's bytes read so far, or its meta group followed by the inflated data set):
 * elements counted first, then dicom-parser. `whole` says `source` is everything there is.
 */
function parseSource(file: Uint8Array, source: Uint8Array, dataStart: number, ts: string, rawSyntax: string | null, whole: boolean, untilPixelData: boolean): Outcome {
  const deflated = source !== file;
  const scan = scanElements(source, dataStart, syntaxOf(ts), MAX_ELEMENTS, untilPixelData);
  if (scan.overAt !== undefined) {
    return { refused: `data set has more than ${MAX_ELEMENTS} elements (element ${MAX_ELEMENTS + 1} starts at ${deflated ? 'inflated ' : ''}byte ${scan.overAt}); refused: real headers have thousands, so the file is damaged or built to exhaust memory` };
  }
  // The header goes on past these bytes: read more before parsing any of it.
  if (scan.ranOut && !whole) return { incomplete: 'the header does not end in the bytes read', final: 'the header does not end in the bytes read' };
  let ds: DataSet | undefined;
  let failure: string | undefined;
  try {
    ds = dicomParser.parseDicom(file, {
      // Stop at pixel data unless the caller decodes it (encapsulated fragments are only indexed past it).
      ...(untilPixelData ? { untilTag: 'x7fe00010' } : {}),
      inflater: () => source,
      ...(rawSyntax ? { TransferSyntaxUID: rawSyntax } : {}),
    } as dicomParser.ParseDicomOptions);
  } catch (e) {
    failure = errorText(e);
    // dicom-parser attaches the partial data set to some errors; it is of no use to us here.
  }
  const overrun = ds ? firstOverrun(ds, ds.byteArray.length) : undefined;
  if (ds && failure === undefined && (ds.elements.x7fe00010 !== undefined || whole) && overrun === undefined) {
    return { dataSet: ds, ts: (ds.string('x00020010') ?? rawSyntax ?? TS.implicitLE).replace(/\0/g, '').trim(), inflatedWhole: deflated && whole };
  }
  const final = overrun
    ? deflated
      ? `deflated data set ends at inflated byte ${ds!.byteArray.length}, inside element ${overrun}; the file is damaged or incomplete: copy it again from its source`
      : `truncated at byte ${file.length}: element ${overrun} runs past the end of the file`
    : `malformed DICOM (${failure ?? 'data set could not be parsed'}); the file is damaged or incomplete: copy it again from its source`;
  return { incomplete: 'the header does not end in the bytes read', final };
}

/**
 * A deflated data set: its header is looked for in short compressed prefixes (so a bomb behind it is never
 * inflated just to read it), and when the pixels are wanted the whole is inflated no further than the header
 * accounts for.
 */
function parseDeflated(file: Uint8Array, dataStart: number, fileWhole: boolean, withPixelData: boolean): Outcome {
  const meta = file.subarray(0, dataStart);
  const compressed = file.subarray(dataStart);
  let head: Outcome = { incomplete: 'no data set', final: 'deflated data set is empty' };
  for (const n of DEFLATED_PREFIXES) {
    const take = Math.min(n, compressed.length);
    const all = take === compressed.length && fileWhole;
    const inflated = inflateCapped(compressed.subarray(0, take), HEADER_INFLATE_BYTES, !all, 'before its header ends');
    head = parseSource(file, joined(meta, inflated), dataStart, TS.deflatedLE, null, all, true);
    if ('dataSet' in head || 'refused' in head || take === compressed.length) break;
  }
  if (!withPixelData || !('dataSet' in head)) return head;
  if (!fileWhole) return { incomplete: 'deflated data set needs the whole file', final: 'deflated data set needs the whole file' };
  const limit = inflationLimit(head.dataSet, dataStart);
  if ('refused' in limit) return limit;
  const inflated = inflateCapped(compressed, limit.bytes, false, limit.context);
  return parseSource(file, joined(meta, inflated), dataStart, TS.deflatedLE, null, true, false);
}

/** How far a deflated data set may inflate, from its header (parsed up to the pixel data). */
function inflationLimit(ds: DataSet, dataStart: number): { bytes: number; context: string } | { refused: string } {
  const px = ds.elements.x7fe00010;
  if (!px) return { bytes: HEADER_INFLATE_BYTES, context: 'for a data set without pixel data' };
  const framesText = text(ds, 'x00280008');
  const frames = framesText ? Number(framesText) : 1;
  if (!Number.isInteger(frames) || frames < 1 || frames > MAX_FRAMES) return { refused: `NumberOfFrames (0028,0008) is "${framesText.slice(0, 20)}", not a whole number from 1 to ${MAX_FRAMES}` };
  const dims = [us(ds, 'x00280010') ?? 0, us(ds, 'x00280011') ?? 0, frames, us(ds, 'x00280002') ?? 1, us(ds, 'x00280100') ?? 16] as const;
  const refusal = decodedSizeRefusal(...dims);
  if (refusal) return { refused: refusal };
  const pixelBytes = dims[4] === 1 ? Math.ceil((dims[0] * dims[1] * dims[2] * dims[3]) / 8) : dims[0] * dims[1] * dims[2] * dims[3] * Math.ceil(dims[4] / 8);
  const accounted = px.dataOffset - dataStart + pixelBytes;
  return { bytes: Math.min(MAX_INFLATED_BYTES, accounted + INFLATE_SLACK), context: `(its header accounts for ${sizeText(accounted)})` };
}

/**
 * The inflated data set of a deflated Part 10 file, bounded as parseDicomFile bounds it, or why it is refused.
 */
export function inflateDeflatedFile(file: Uint8Array): { meta: Uint8Array; body: Uint8Array } | { refused: string } {
  if (!hasPart10Preamble(file)) return { refused: 'no DICM marker at byte 128; not a DICOM file' };
  const meta = readMeta(file);
  if ('refused' in meta) return meta;
  if ('short' in meta) return { refused: 'malformed DICOM (file meta information is cut short)' };
  try {
    const r = parseDeflated(file, meta.dataStart, true, true);
    if ('refused' in r) return r;
    if ('incomplete' in r) return { refused: r.final };
    return { meta: file.subarray(0, meta.dataStart), body: r.dataSet.byteArray.subarray(meta.dataStart) };
  } catch (e) {
    if (e instanceof Refused) return { refused: e.reason };
    throw e;
  }
}

/**
 * Parses a file's data set up to (and including the header of) its pixel data. The whole file is read only when
 * the header needs it (very long headers, non-image objects), and never past the largest chunk. Every data set is
 * walked before it is parsed, and refused when it holds more elements than MAX_ELEMENTS.
 */
export function parseDicomFile(filePath: string, opts: { wholeFile?: boolean; maxBytes?: number; withPixelData?: boolean; indexTags?: ReadonlySet<number> } = {}): ParsedFile | { notDicom: string } | { rejected: string } {
  let fd: number;
  try {
    fd = fs.openSync(filePath, 'r');
  } catch (e) {
    return { rejected: `cannot open (${(e as NodeJS.ErrnoException).code ?? errorText(e)}); check permissions` };
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return DICOM_EXTENSIONS.test(filePath) ? { rejected: 'file is empty (0 bytes)' } : { notDicom: 'empty' };
    const cap = opts.maxBytes ?? CHUNKS[CHUNKS.length - 1]!;
    if (opts.wholeFile && size > cap) return { rejected: `file is ${Math.round(size / 2 ** 20)} MB, over the ${Math.round(cap / 2 ** 20)} MB limit for reading whole files` };
    let chunk = opts.wholeFile ? size : Math.min(size, CHUNKS[0]!);
    let bytes = readChunk(fd, chunk);
    let rawSyntax: string | null = null;
    if (!hasPart10Preamble(bytes)) {
      rawSyntax = rawDataSetSyntax(bytes);
      if (!rawSyntax) {
        return DICOM_EXTENSIONS.test(filePath) && size < 132
          ? { rejected: `truncated: only ${size} bytes, too short for a DICOM preamble` }
          : DICOM_EXTENSIONS.test(filePath)
            ? { rejected: 'no DICM marker at byte 128 and not a raw DICOM data set; not a DICOM file' }
            : { notDicom: 'no DICM marker' };
      }
    }
    const withPixelData = opts.withPixelData === true;
    for (;;) {
      const whole = bytes.length >= size;
      const meta = rawSyntax ? { ts: rawSyntax, dataStart: 0 } : readMeta(bytes);
      let r: Outcome;
      if ('refused' in meta) r = meta;
      else if ('short' in meta) r = { incomplete: 'meta cut short', final: `malformed DICOM (file meta information is cut short at byte ${bytes.length}); the file is damaged or incomplete: copy it again from its source` };
      else {
        // The index needs only the top-level elements (index-scan.ts); a file that path cannot vouch for is parsed.
        const fast = opts.indexTags && meta.ts !== TS.deflatedLE ? indexDataSet(bytes, meta.dataStart, syntaxOf(meta.ts), MAX_ELEMENTS, whole, opts.indexTags) : null;
        if (fast) {
          const ts = meta.ts.replace(/\0/g, '').trim() || TS.implicitLE;
          return { dataSet: fast, bytes, transferSyntax: ts, fileSize: size, pixelDataComplete: pixelComplete(fd, fast, size, ts, false) };
        }
        try {
          r = meta.ts === TS.deflatedLE
            ? parseDeflated(bytes, meta.dataStart, whole, withPixelData)
            : parseSource(bytes, bytes, meta.dataStart, meta.ts, rawSyntax, whole, !withPixelData);
        } catch (e) {
          if (!(e instanceof Refused)) throw e;
          r = { refused: e.reason };
        }
      }
      if ('dataSet' in r) {
        const ds = r.dataSet;
        return { dataSet: ds, bytes: ds.byteArray, transferSyntax: r.ts, fileSize: size, pixelDataComplete: pixelComplete(fd, ds, size, r.ts, r.inflatedWhole) };
      }
      if ('refused' in r) return { rejected: r.refused };
      if (whole) return { rejected: r.final };
      const next = CHUNKS.find((c) => c > chunk);
      if (next === undefined) return { rejected: `header does not end within ${chunk / (1024 * 1024)} MB; refusing to read further` };
      chunk = Math.min(size, next);
      bytes = readChunk(fd, chunk);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function tagName(tag: string): string {
  return `(${tag.slice(1, 5).toUpperCase()},${tag.slice(5, 9).toUpperCase()})`;
}

/**
 * The first element (other than pixel data) whose value claims bytes the buffer does not have. `available` is
 * the parsed buffer's length: for a deflated file that is the inflated data set, not the file.
 */
function firstOverrun(ds: DataSet, available: number): string | undefined {
  for (const [tag, el] of Object.entries(ds.elements)) {
    if (tag === 'x7fe00010' || el.hadUndefinedLength) continue;
    if (el.dataOffset + el.length > available) return tagName(tag);
  }
  return undefined;
}

function pixelComplete(fd: number, ds: DataSet, size: number, ts: string, inflatedWhole: boolean): boolean {
  const px = ds.elements.x7fe00010;
  if (!px) return true;
  if (px.length !== 0xffffffff && !px.hadUndefinedLength) {
    // A deflated header is read from a prefix: its pixels are checked when the whole data set is inflated.
    if (ts === TS.deflatedLE) return !inflatedWhole || px.dataOffset + px.length <= ds.byteArray.length;
    return px.dataOffset + px.length <= size;
  }
  // Encapsulated: the sequence must be closed by a delimitation item near the end of the file.
  const tail = Math.min(size, 256);
  const buf = Buffer.alloc(tail);
  fs.readSync(fd, buf, 0, tail, size - tail);
  return buf.indexOf(Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0])) >= 0;
}
