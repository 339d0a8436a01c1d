// Seeded mutations of valid DICOM files, and the hostile shapes seen in audits (decompression and header bombs),
// for the file fuzz harness. Byte-level on purpose: a parser must survive what no writer would produce.
import zlib from 'node:zlib';

export type Rng = () => number;

const int = (rng: Rng, n: number): number => Math.floor(rng() * n);

/** Offsets of a tag (group, element) written little-endian, in either VR encoding. */
function tagOffsets(buf: Buffer, group: number, element: number): number[] {
  const pat = Buffer.from([group & 0xff, group >> 8, element & 0xff, element >> 8]);
  const out: number[] = [];
  for (let i = buf.indexOf(pat, 128); i >= 0; i = buf.indexOf(pat, i + 1)) out.push(i);
  return out;
}

/** Explicit VR with a 2-byte length (US, IS, UI…) keeps the value at +8; implicit VR also has it at +8. */
function setUint16At(buf: Buffer, group: number, element: number, value: number): boolean {
  const at = tagOffsets(buf, group, element)[0];
  if (at === undefined || at + 10 > buf.length) return false;
  buf.writeUInt16LE(value & 0xffff, at + 8);
  return true;
}

function fillString(buf: Buffer, group: number, element: number, ch: string): boolean {
  const at = tagOffsets(buf, group, element)[0];
  if (at === undefined || at + 8 > buf.length) return false;
  const len = buf.readUInt16LE(at + 6);
  if (len === 0 || at + 8 + len > buf.length) return false;
  buf.fill(ch, at + 8, at + 8 + len);
  return true;
}

const SYNTAXES = [
  '1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.70',
  '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.5', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.4.201', '9.9.9',
];

export const MUTATIONS: Record<string, (src: Buffer, rng: Rng) => Buffer> = {
  truncate: (src, rng) => src.subarray(0, 132 + int(rng, Math.max(1, src.length - 132))),
  'bit-flips': (src, rng) => {
    const b = Buffer.from(src);
    for (let n = 1 + int(rng, 16); n > 0; n--) { const i = 132 + int(rng, b.length - 132); b[i]! ^= 1 << int(rng, 8); }
    return b;
  },
  'pixel-bit-flips': (src, rng) => {
    const b = Buffer.from(src);
    const from = Math.floor(b.length * 0.7);
    for (let n = 1 + int(rng, 64); n > 0; n--) { const i = from + int(rng, b.length - from); b[i]! ^= 1 << int(rng, 8); }
    return b;
  },
  'absurd-length': (src, rng) => {
    const b = Buffer.from(src);
    const i = 132 + int(rng, b.length - 136);
    b.writeUInt32LE(rng() < 0.5 ? 0xfffffff0 : int(rng, 0xffffffff), i);
    return b;
  },
  dimensions: (src, rng) => {
    const b = Buffer.from(src);
    const v = [0, 1, 0xffff, 0x4000, 3 + int(rng, 5000)][int(rng, 5)]!;
    setUint16At(b, 0x0028, rng() < 0.5 ? 0x0010 : 0x0011, v);
    return b;
  },
  frames: (src, rng) => {
    const b = Buffer.from(src);
    if (!fillString(b, 0x0028, 0x0008, rng() < 0.5 ? '9' : '0')) setUint16At(b, 0x0028, 0x0010, 0xffff);
    return b;
  },
  'bits-allocated': (src, rng) => {
    const b = Buffer.from(src);
    setUint16At(b, 0x0028, rng() < 0.5 ? 0x0100 : 0x0101, [0, 1, 7, 12, 32, 64, 255][int(rng, 7)]!);
    return b;
  },
  'samples-per-pixel': (src, rng) => {
    const b = Buffer.from(src);
    setUint16At(b, 0x0028, 0x0002, [0, 2, 3, 4, 0xffff][int(rng, 5)]!);
    return b;
  },
  'transfer-syntax': (src, rng) => {
    const b = Buffer.from(src);
    const at = tagOffsets(b, 0x0002, 0x0010)[0];
    if (at === undefined) return b;
    const len = b.readUInt16LE(at + 6);
    const uid = Buffer.alloc(len, 0);
    uid.write(SYNTAXES[int(rng, SYNTAXES.length)]!.slice(0, len));
    uid.copy(b, at + 8);
    return b;
  },
  fragments: (src, rng) => {
    const b = Buffer.from(src);
    const items = tagOffsets(b, 0xfffe, 0xe000);
    if (items.length === 0) return MUTATIONS['pixel-bit-flips']!(src, rng);
    const at = items[int(rng, items.length)]!;
    if (at + 8 <= b.length) b.writeUInt32LE([0, 1, 3, 0xffffffff, int(rng, 1 << 24)][int(rng, 5)]!, at + 4);
    return b;
  },
  'garbage-insert': (src, rng) => {
    const at = 132 + int(rng, src.length - 132);
    const junk = Buffer.alloc(1 + int(rng, 256));
    for (let i = 0; i < junk.length; i++) junk[i] = int(rng, 256);
    return Buffer.concat([src.subarray(0, at), junk, src.subarray(at)]);
  },
  'vr-garbage': (src, rng) => {
    const b = Buffer.from(src);
    // Overwrite what is probably a VR (two upper-case letters) with two random bytes.
    for (let tries = 0; tries < 200; tries++) {
      const i = 132 + int(rng, b.length - 134);
      if (b[i]! >= 65 && b[i]! <= 90 && b[i + 1]! >= 65 && b[i + 1]! <= 90) { b[i] = int(rng, 256); b[i + 1] = int(rng, 256); break; }
    }
    return b;
  },
};

/** An RLE (or any) image declaring a huge matrix: decoding must be refused from the header, not attempted. */
export function hugeDimensions(src: Buffer, side: number): Buffer {
  const b = Buffer.from(src);
  setUint16At(b, 0x0028, 0x0010, side);
  setUint16At(b, 0x0028, 0x0011, side);
  return b;
}

function explicitElement(group: number, element: number, vr: string, value: Buffer): Buffer {
  const long = ['OB', 'OW', 'UN', 'SQ', 'UT', 'OF'].includes(vr);
  const h = Buffer.alloc(long ? 12 : 8);
  h.writeUInt16LE(group, 0); h.writeUInt16LE(element, 2); h.write(vr, 4, 'latin1');
  if (long) h.writeUInt32LE(value.length, 8); else h.writeUInt16LE(value.length, 6);
  return Buffer.concat([h, value]);
}

/** The file meta group of `src` (preamble, DICM and group 0002) with its transfer syntax replaced. */
function metaOf(src: Buffer, syntax: string): Buffer {
  let i = 132;
  const parts: Buffer[] = [src.subarray(0, 132)];
  while (i + 8 <= src.length && src.readUInt16LE(i) === 0x0002) {
    const element = src.readUInt16LE(i + 2);
    const vr = src.toString('latin1', i + 4, i + 6);
    const long = ['OB', 'OW', 'UN', 'SQ', 'UT'].includes(vr);
    const len = long ? src.readUInt32LE(i + 8) : src.readUInt16LE(i + 6);
    const end = i + (long ? 12 : 8) + len;
    if (element === 0x0010) {
      const uid = Buffer.from(syntax.length % 2 ? `${syntax}\0` : syntax, 'latin1');
      parts.push(explicitElement(0x0002, 0x0010, 'UI', uid));
    } else if (element !== 0x0000) parts.push(src.subarray(i, end));
    i = end;
  }
  const body = Buffer.concat(parts.slice(1));
  const groupLength = explicitElement(0x0002, 0x0000, 'UL', Buffer.from(new Uint32Array([body.length]).buffer));
  return Buffer.concat([parts[0]!, groupLength, body]);
}

/** A small deflated file whose data set inflates to `inflatedMb` megabytes (a private OB element of zeros). */
export async function deflateBomb(src: Buffer, inflatedMb: number): Promise<Buffer> {
  const creator = explicitElement(0x0009, 0x0010, 'LO', Buffer.from('FUZZ BOMB '));
  const big = Buffer.alloc(12);
  big.writeUInt16LE(0x0009, 0); big.writeUInt16LE(0x1000, 2); big.write('OB', 4, 'latin1'); big.writeUInt32LE(inflatedMb * 1024 * 1024, 8);
  // Fed 1 MB at a time, so the inflated size is never held in memory here.
  const deflater = zlib.createDeflateRaw({ level: 9 });
  const parts: Buffer[] = [];
  deflater.on('data', (d: Buffer) => parts.push(d));
  const done = new Promise<void>((resolve, reject) => { deflater.on('end', resolve); deflater.on('error', reject); });
  const write = (b: Buffer): Promise<void> => new Promise((resolve) => { if (deflater.write(b)) resolve(); else deflater.once('drain', resolve); });
  await write(Buffer.concat([creator, big]));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < inflatedMb; i++) await write(zeros);
  deflater.end();
  await done;
  return Buffer.concat([metaOf(src, '1.2.840.10008.1.2.1.99'), ...parts]);
}

/** A header of `count` empty private elements after the meta group (explicit VR little endian). */
export function headerBomb(src: Buffer, count: number): Buffer {
  const meta = metaOf(src, '1.2.840.10008.1.2.1');
  const body = Buffer.alloc(count * 8);
  const creator = explicitElement(0x0011, 0x0010, 'LO', Buffer.from('FUZZ HEADER '));
  for (let i = 0; i < count; i++) {
    const o = i * 8;
    body.writeUInt16LE(0x0011, o); body.writeUInt16LE(0x1000 + (i % 0xff), o + 2); body.write('LO', o + 4, 'latin1'); body.writeUInt16LE(0, o + 6);
  }
  return Buffer.concat([meta, creator, body]);
}

/** Gives a copy its own SOP Instance UID (same length), so every fuzzed file is a distinct instance. */
export function uniquify(src: Buffer, index: number): Buffer {
  const b = Buffer.from(src);
  const at = tagOffsets(b, 0x0008, 0x0018)[0];
  if (at === undefined) return b;
  const len = b.readUInt16LE(at + 6);
  const value = b.toString('latin1', at + 8, at + 8 + len).replace(/\0+$/, '');
  // A UID of the same length under 2.25 whose last component is the index (no leading zero, never "..").
  const digits = value.length - 5;
  if (digits < 2) return b;
  b.write(`2.25.${String(index + 1).padStart(digits, '1').slice(-digits)}`, at + 8, 'latin1');
  return b;
}

/** Zeroes the content of every pixel-data fragment, keeping the encapsulation intact (a codestream with no markers). */
export function zeroCodestream(src: Buffer): Buffer | null {
  const b = Buffer.from(src);
  const pixel = b.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
  if (pixel < 0) return null;
  let zeroed = false;
  let i = b.indexOf(Buffer.from([0xfe, 0xff, 0x00, 0xe0]), pixel);
  // The first item is the offset table; zero the fragments after it.
  let first = true;
  while (i >= 0 && i + 8 <= b.length) {
    const len = b.readUInt32LE(i + 4);
    if (!first && len > 0 && i + 8 + len <= b.length) { b.fill(0, i + 8, i + 8 + len); zeroed = true; }
    first = false;
    i = b.indexOf(Buffer.from([0xfe, 0xff, 0x00, 0xe0]), i + 8 + len);
  }
  return zeroed ? b : null;
}
