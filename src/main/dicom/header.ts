// Header-only reading of one DICOM file, treating it as hostile input: reads are bounded, every length is checked
// against the bytes actually present, and every failure becomes a reason naming the file's problem.
import fs from 'node:fs';
import zlib from 'node:zlib';
import dicomParser from 'dicom-parser';
import type { InstanceRecord } from '../project/project-store.ts';

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflatedLE: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
} as const;

export const UNCOMPRESSED = new Set<string>([TS.implicitLE, TS.explicitLE, TS.deflatedLE, TS.explicitBE]);

/** SOP classes that are not instances to index (a DICOMDIR is an index of other files). */
const DIRECTORY_SOP_CLASS = '1.2.840.10008.1.3.10';

/** Header chunk sizes tried in turn; a header that does not end within the last is rejected. */
const CHUNKS = [16 * 1024, 512 * 1024, 16 * 1024 * 1024, 64 * 1024 * 1024];
export const MAX_FRAMES = 100_000;
const MAX_PIXELS = 2 ** 32;

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

const inflater = (byteArray: Uint8Array, position: number): Uint8Array => {
  const inflated = zlib.inflateRawSync(byteArray.subarray(position), { maxOutputLength: 1024 * 1024 * 1024 });
  const out = new Uint8Array(position + inflated.length);
  out.set(byteArray.subarray(0, position), 0);
  out.set(inflated, position);
  return out;
};

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

/**
 * Parses a file's data set up to (and including the header of) its pixel data. The whole file is read only when
 * the header needs it (deflate, very long headers, non-image objects), and never past the largest chunk.
 */
export function parseDicomFile(filePath: string, opts: { wholeFile?: boolean; maxBytes?: number; withPixelData?: boolean } = {}): ParsedFile | { notDicom: string } | { rejected: string } {
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
    for (;;) {
      const whole = bytes.length >= size;
      let ds: DataSet | undefined;
      let failure: string | undefined;
      try {
        ds = dicomParser.parseDicom(bytes, {
          // Stop at pixel data unless the caller decodes it (encapsulated fragments are only indexed past it).
          ...(opts.withPixelData ? {} : { untilTag: 'x7fe00010' }),
          inflater,
          ...(rawSyntax ? { TransferSyntaxUID: rawSyntax } : {}),
        } as dicomParser.ParseDicomOptions);
      } catch (e) {
        failure = errorText(e);
        // dicom-parser attaches the partial data set to some errors; it is of no use to us here.
      }
      const ts = ds ? (ds.string('x00020010') ?? rawSyntax ?? TS.implicitLE).replace(/\0/g, '').trim() : '';
      if (ds && ts === TS.deflatedLE && !whole) failure = 'deflated data set needs the whole file';
      const pixel = ds?.elements.x7fe00010;
      // Offsets of a deflated file are into the inflated data set (ds.byteArray), not into the file.
      const overrun = ds ? firstOverrun(ds, ds.byteArray.length) : undefined;
      const complete = ds !== undefined && failure === undefined && (pixel !== undefined || whole) && overrun === undefined;
      if (complete && ds) {
        return { dataSet: ds, bytes: ds.byteArray, transferSyntax: ts, fileSize: size, pixelDataComplete: pixelComplete(fd, ds, size, ts) };
      }
      if (whole) {
        if (overrun && ts === TS.deflatedLE) return { rejected: `deflated data set ends at inflated byte ${ds!.byteArray.length}, inside element ${overrun}; the file is damaged or incomplete: copy it again from its source` };
        if (overrun) return { rejected: `truncated at byte ${size}: element ${overrun} runs past the end of the file` };
        return { rejected: `malformed DICOM (${failure ?? 'data set could not be parsed'}); the file is damaged or incomplete: copy it again from its source` };
      }
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

/** The first element (other than pixel data) whose value claims bytes the buffer does not have. */
function firstOverrun(ds: DataSet, available: number): string | undefined {
  for (const [tag, el] of Object.entries(ds.elements)) {
    if (tag === 'x7fe00010' || el.hadUndefinedLength) continue;
    if (el.dataOffset + el.length > available) return tagName(tag);
  }
  return undefined;
}

function pixelComplete(fd: number, ds: DataSet, size: number, ts: string): boolean {
  const px = ds.elements.x7fe00010;
  if (!px) return true;
  if (px.length !== 0xffffffff && !px.hadUndefinedLength) {
    if (ts === TS.deflatedLE) return true; // inflated size is checked against the frame size instead
    return px.dataOffset + px.length <= size;
  }
  // Encapsulated: the sequence must be closed by a delimitation item near the end of the file.
  const tail = Math.min(size, 256);
  const buf = Buffer.alloc(tail);
  fs.readSync(fd, buf, 0, tail, size - tail);
  return buf.indexOf(Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0])) >= 0;
}

// ---- attribute extraction ----

const decoders = new Map<string, InstanceType<typeof TextDecoder>>();
function decoderFor(charset: string): InstanceType<typeof TextDecoder> {
  // The first value of Specific Character Set names the default repertoire; UTF-8 and Latin-1 cover most archives.
  const label = /ISO_IR 192/.test(charset) ? 'utf-8' : /GB18030/.test(charset) ? 'gb18030' : /ISO_IR 100|^$/.test(charset) ? 'latin1' : 'latin1';
  let d = decoders.get(label);
  if (!d) decoders.set(label, (d = new TextDecoder(label)));
  return d;
}

export function text(ds: DataSet, tag: string, charset = ''): string {
  const el = ds.elements[tag];
  if (!el || el.length === 0 || el.length === 0xffffffff) return '';
  const end = Math.min(ds.byteArray.length, el.dataOffset + el.length);
  const bytes = ds.byteArray.subarray(el.dataOffset, end);
  return decoderFor(charset).decode(bytes).replace(/[\0 ]+$/, '').trim();
}

function uid(ds: DataSet, tag: string): string {
  return text(ds, tag).replace(/\0/g, '').trim();
}

/** The first value of a decimal/integer string element, or null. */
export function num(ds: DataSet, tag: string): number | null {
  const s = text(ds, tag);
  if (!s) return null;
  const n = Number(s.split('\\')[0]);
  return Number.isFinite(n) ? n : null;
}

/** An unsigned short element's first value, or null when absent or short. */
export function us(ds: DataSet, tag: string): number | null {
  const el = ds.elements[tag];
  if (!el || el.length < 2 || el.dataOffset + 2 > ds.byteArray.length) return null;
  return ds.uint16(tag) ?? null;
}

const UID_RE = /^[0-9]+(\.[0-9]+)*$/;

function personName(s: string): string {
  // Keep the alphabetic group only; ideographic/phonetic groups follow '='.
  return (s.split('=')[0] ?? '').trim();
}

/** Reads one file's header into an index record, or says why it is not one. */
export function readHeader(filePath: string): HeaderResult {
  const parsed = parseDicomFile(filePath);
  if ('notDicom' in parsed) return { kind: 'not-dicom', why: parsed.notDicom };
  if ('rejected' in parsed) return { kind: 'rejected', reason: parsed.rejected };
  const ds = parsed.dataSet;
  const charset = text(ds, 'x00080005');
  const sopClass = uid(ds, 'x00080016') || uid(ds, 'x00020002');
  if (sopClass === DIRECTORY_SOP_CLASS) return { kind: 'not-dicom', why: 'DICOMDIR' };
  const sopUid = uid(ds, 'x00080018') || uid(ds, 'x00020003');
  const studyUid = uid(ds, 'x0020000d');
  const seriesUid = uid(ds, 'x0020000e');
  const required: [string, string, string][] = [
    [sopUid, 'SOPInstanceUID', '(0008,0018)'],
    [studyUid, 'StudyInstanceUID', '(0020,000D)'],
    [seriesUid, 'SeriesInstanceUID', '(0020,000E)'],
  ];
  for (const [v, name, tag] of required) {
    if (!v) return { kind: 'rejected', reason: `missing ${name} ${tag}; the file cannot be placed in a study` };
    if (v.length > 64 || !UID_RE.test(v)) return { kind: 'rejected', reason: `${name} ${tag} is not a valid UID ("${v.slice(0, 70)}")` };
  }
  const ts = parsed.transferSyntax;
  const rows = us(ds, 'x00280010');
  const columns = us(ds, 'x00280011');
  const bitsAllocated = us(ds, 'x00280100');
  const samples = us(ds, 'x00280002') ?? 1;
  const framesText = text(ds, 'x00280008');
  let frames = 1;
  if (framesText) {
    frames = Number(framesText);
    if (!Number.isInteger(frames) || frames < 1 || frames > MAX_FRAMES) {
      return { kind: 'rejected', reason: `NumberOfFrames (0028,0008) is "${framesText.slice(0, 20)}", not a whole number from 1 to ${MAX_FRAMES}` };
    }
  }
  const pixel = ds.elements.x7fe00010;
  const isImage = pixel !== undefined && (rows ?? 0) > 0 && (columns ?? 0) > 0;
  if (pixel && !isImage) return { kind: 'rejected', reason: 'has pixel data but Rows (0028,0010) or Columns (0028,0011) is missing or zero' };
  if (isImage) {
    if (!parsed.pixelDataComplete) {
      return { kind: 'rejected', reason: `truncated at byte ${parsed.fileSize}: pixel data incomplete` };
    }
    if (!bitsAllocated || ![1, 8, 16, 32, 64].includes(bitsAllocated)) {
      return { kind: 'rejected', reason: `BitsAllocated (0028,0100) is ${bitsAllocated ?? 'missing'}; expected 1, 8, 16, 32 or 64` };
    }
    const pixels = rows! * columns! * frames * samples;
    if (pixels > MAX_PIXELS) return { kind: 'rejected', reason: `absurd dimensions ${rows}×${columns}×${frames} frames×${samples} samples` };
    if (UNCOMPRESSED.has(ts) && ts !== TS.deflatedLE && pixel.length !== 0xffffffff) {
      const needed = Math.ceil((pixels * bitsAllocated) / 8);
      if (pixel.length < needed) {
        return { kind: 'rejected', reason: `pixel data holds ${pixel.length} bytes but Rows×Columns×Frames×SamplesPerPixel×BitsAllocated needs ${needed}` };
      }
    }
  }
  const record: InstanceRecord = {
    patient: {
      patientId: text(ds, 'x00100020', charset),
      name: personName(text(ds, 'x00100010', charset)),
      birthDate: text(ds, 'x00100030'),
      sex: text(ds, 'x00100040'),
    },
    study: {
      studyUid,
      date: text(ds, 'x00080020'),
      time: text(ds, 'x00080030'),
      description: text(ds, 'x00081030', charset),
      accession: text(ds, 'x00080050', charset),
      studyId: text(ds, 'x00200010', charset),
    },
    series: {
      seriesUid,
      modality: text(ds, 'x00080060'),
      bodyPart: text(ds, 'x00180015', charset),
      description: text(ds, 'x0008103e', charset),
      seriesNumber: num(ds, 'x00200011'),
    },
    instance: {
      sopUid,
      sopClass,
      instanceNumber: num(ds, 'x00200013'),
      rows,
      columns,
      frames: isImage ? frames : 0,
      bitsAllocated,
      photometric: text(ds, 'x00280004'),
      transferSyntax: ts,
      isImage,
    },
  };
  return { kind: 'dicom', record };
}
