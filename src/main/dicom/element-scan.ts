// Counts the elements of a data set before dicom-parser parses it. dicom-parser keeps an object of about 460
// bytes per element (a 60 MB header of 7.8 million empty private elements took 3.6 GB), so a header is walked
// first, without allocating, and refused when it holds more elements than any real object does. The walk follows
// the rules dicom-parser parses by (explicit or implicit VR, sequences and items of defined or undefined length,
// encapsulated pixel data fragments); on anything it cannot follow it stops and leaves the verdict to the parser.

export type ElementSyntax = 'explicit-le' | 'implicit-le' | 'explicit-be';

/** VRs with a 4-byte length in explicit VR (PS3.5 7.1.2). */
export const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
/** The same VRs as their two bytes (first byte high), so the walk compares numbers instead of making strings. */
const vrCode = (vr: string): number => vr.charCodeAt(0) * 256 + vr.charCodeAt(1);
const LONG_VR_CODES = new Set([...LONG_VRS].map(vrCode));
const SQ = vrCode('SQ');
const UN = vrCode('UN');
const UNDEFINED = 0xffffffff;

export interface ScanResult {
  /** Elements, items and fragments seen. */
  count: number;
  /** Where the element that went over the limit starts, when it did. */
  overAt?: number;
  /** The walk reached the end of the buffer inside the data set (more bytes are needed to finish it). */
  ranOut?: boolean;
  /** The walk followed every element to the top-level pixel data (when asked to stop there) or to the end. */
  complete?: boolean;
}

/** A top-level element as dicom-parser describes one (its value's offset and length in the buffer). */
export interface ScannedElement { tag: string; vr?: string; length: number; dataOffset: number; hadUndefinedLength?: boolean }

const hex = (n: number): string => n.toString(16).padStart(8, '0');

interface Level {
  end: number;
  syntax: ElementSyntax;
  /** 'items': a sequence's contents (only item tags expected); 'elements': a data set or item. */
  kind: 'items' | 'elements';
  /** Encapsulated pixel data: its items are fragments, not data sets. */
  fragments?: boolean;
}

/**
 * Walks the data set starting at `start` until the end of `b` (or the top-level pixel data element when
 * `stopAtPixelData`), counting at most `limit` entries. `collect` receives the top-level elements (only the tags
 * in `only`, when given: the index reads a few dozen of a header's elements).
 */
export function scanElements(b: Uint8Array, start: number, syntax: ElementSyntax, limit: number, stopAtPixelData: boolean, collect?: Record<string, ScannedElement>, only?: ReadonlySet<number>): ScanResult {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const stack: Level[] = [{ end: b.length, syntax, kind: 'elements' }];
  let pos = start;
  let count = 0;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (pos + 8 > Math.min(top.end, b.length)) {
      if (top.end >= b.length) {
        const ranOut = stack.length > 1 || pos !== b.length; // cut short, or ends here
        return { count, ranOut, complete: !ranOut };
      }
      pos = top.end;
      stack.pop();
      continue;
    }
    const le = top.syntax !== 'explicit-be';
    // Item and delimitation tags are little endian in every little endian syntax, big endian in big endian.
    const group = view.getUint16(pos, le);
    const elem = view.getUint16(pos + 2, le);
    if (++count > limit) return { count, overAt: pos };
    if (group === 0xfffe) {
      const length = view.getUint32(pos + 4, le);
      pos += 8;
      if (elem === 0xe0dd || elem === 0xe00d) {
        // A delimiter closes the innermost undefined-length sequence or item.
        stack.pop();
        continue;
      }
      if (elem !== 0xe000) return { count };
      if (top.fragments) {
        if (length === UNDEFINED) return { count };
        pos += length;
      } else if (length === UNDEFINED) {
        stack.push({ end: top.end, syntax: top.syntax, kind: 'elements' });
      } else {
        stack.push({ end: Math.min(top.end, pos + length), syntax: top.syntax, kind: 'elements' });
      }
      continue;
    }
    if (top.kind === 'items') return { count }; // only items belong in a sequence
    const tag = group * 0x10000 + elem;
    let length: number;
    let header: number;
    let sequence = false;
    let implicitInside = false;
    if (top.syntax === 'implicit-le') {
      length = view.getUint32(pos + 4, true);
      header = 8;
      // dicom-parser treats an implicit element as a sequence when its value starts with an item tag.
      sequence = length === UNDEFINED || (pos + 12 <= b.length && view.getUint16(pos + 8, true) === 0xfffe && view.getUint16(pos + 10, true) === 0xe000);
    } else {
      const vr = b[pos + 4]! * 256 + b[pos + 5]!;
      if (LONG_VR_CODES.has(vr)) {
        if (pos + 12 > b.length) return { count, ranOut: true };
        length = view.getUint32(pos + 8, le);
        header = 12;
      } else {
        length = view.getUint16(pos + 6, le);
        header = 8;
      }
      sequence = vr === SQ || (length === UNDEFINED && vr === UN);
      // An undefined-length UN holds an implicit VR little endian sequence (PS3.5 6.2.2).
      implicitInside = vr === UN;
    }
    if (collect && stack.length === 1 && (!only || only.has(tag))) {
      const key = `x${hex(tag)}`;
      const el: ScannedElement = { tag: key, length, dataOffset: pos + header };
      if (top.syntax !== 'implicit-le') el.vr = String.fromCharCode(b[pos + 4]!, b[pos + 5]!);
      if (length === UNDEFINED) el.hadUndefinedLength = true;
      collect[key] = el;
    }
    if (tag === 0x7fe00010 && stack.length === 1) {
      if (stopAtPixelData) return { count, complete: true };
      if (length === UNDEFINED) {
        pos += header;
        stack.push({ end: b.length, syntax: top.syntax, kind: 'items', fragments: true });
        continue;
      }
    }
    pos += header;
    if (sequence) {
      const inner: ElementSyntax = implicitInside ? 'implicit-le' : top.syntax;
      stack.push({ end: length === UNDEFINED ? top.end : Math.min(top.end, pos + length), syntax: inner, kind: 'items' });
      continue;
    }
    if (length === UNDEFINED) return { count }; // an undefined-length value that is not a sequence: the parser decides
    pos += length;
  }
  return { count, complete: true };
}
