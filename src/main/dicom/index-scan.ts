// The index's fast path: a file's top-level elements up to its pixel data, found by the same allocation-free walk
// that bounds element counts (element-scan.ts), put in a dicom-parser DataSet so every attribute reader works on
// it unchanged. dicom-parser itself builds an object for every element of every sequence; the index needs none of
// them. The walk is only trusted when it followed the whole header and every value lies inside the bytes read:
// anything else (a structure it cannot follow, a value past the bytes, too many elements) returns null and the
// file goes through dicom-parser, which gives the verdict and the reason exactly as before.
import dicomParser from 'dicom-parser';
import { scanElements } from './element-scan.ts';
import type { ElementSyntax, ScannedElement } from './element-scan.ts';

type DataSet = dicomParser.DataSet;
type DataSetConstructor = new (parser: dicomParser.ByteArrayParser, bytes: Uint8Array, elements: Record<string, ScannedElement>) => DataSet;

const PIXEL_DATA = 'x7fe00010';
const PIXEL_TAG = 0x7fe00010;

/**
 * The data set of `bytes` (a prefix of the file) as far as its pixel data, or null when the fast walk cannot vouch
 * for it (`whole`: `bytes` is the whole file). `dataStart` is where the data set begins (after the meta group, or 0 for a raw data set).
 * `only`: the tags to keep; it must hold pixel data's, whose presence says the header was read to its end.
 */
export function indexDataSet(bytes: Uint8Array, dataStart: number, syntax: ElementSyntax, maxElements: number, whole: boolean, only?: ReadonlySet<number>): DataSet | null {
  if (only && !only.has(PIXEL_TAG)) throw new Error('indexDataSet: `only` must include pixel data (7FE0,0010)');
  const elements: Record<string, ScannedElement> = {};
  // The meta group is always explicit VR little endian; a raw data set has none.
  if (dataStart > 0) {
    const meta = scanElements(bytes.subarray(0, dataStart), 132, 'explicit-le', maxElements, false, elements, only);
    if (!meta.complete) return null;
  }
  const scan = scanElements(bytes, dataStart, syntax, maxElements, true, elements, only);
  if (!scan.complete || scan.overAt !== undefined) return null;
  // Without pixel data the header ends only where the file does: a prefix proves nothing.
  if (elements[PIXEL_DATA] === undefined && !whole) return null;
  for (const [tag, el] of Object.entries(elements)) {
    if (tag === PIXEL_DATA) continue;
    if (el.length === 0xffffffff) continue; // a sequence of undefined length, walked to its delimiter above
    if (el.dataOffset + el.length > bytes.length) return null;
  }
  const parser = syntax === 'explicit-be' ? dicomParser.bigEndianByteArrayParser : dicomParser.littleEndianByteArrayParser;
  const Ctor = (dicomParser as unknown as { DataSet: DataSetConstructor }).DataSet;
  return new Ctor(parser, bytes, elements);
}
