// The DICOM tag panel's data: a bounded, flattened dump of one file's header (nested sequences indented).
import dcmjs from 'dcmjs';
import dicomParser from 'dicom-parser';
import type { TagRow } from '../../shared/contract.ts';
import { LightboxError } from '../../shared/contract.ts';
import { text } from './attributes.ts';
import { parseDicomFile } from './header.ts';

const MAX_ROWS = 3000;
const MAX_DEPTH = 4;
const MAX_VALUE_CHARS = 256;

interface DictEntry { name: string; vr: string }
const dictionary = dcmjs.data.DicomMetaDictionary.dictionary as Record<string, DictEntry | undefined>;

function tagKey(tag: string): string {
  return `(${tag.slice(1, 5).toUpperCase()},${tag.slice(5, 9).toUpperCase()})`;
}

const STRING_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);

function numbers(ds: dicomParser.DataSet, tag: string, el: dicomParser.Element, size: number, read: (i: number) => number | undefined): string {
  const count = Math.floor(el.length / size);
  const shown = Math.min(count, 16);
  const out: string[] = [];
  for (let i = 0; i < shown; i++) out.push(String(read(i)));
  return out.join('\\') + (count > shown ? `\\… (${count} values)` : '');
}

function valueOf(ds: dicomParser.DataSet, tag: string, el: dicomParser.Element, vr: string, charset: string): string {
  if (el.items) return `(${el.items.length} item${el.items.length === 1 ? '' : 's'})`;
  if (el.dataOffset + el.length > ds.byteArray.length && el.length !== 0xffffffff) return '(value past end of data read)';
  switch (vr) {
    case 'US': return numbers(ds, tag, el, 2, (i) => ds.uint16(tag, i));
    case 'SS': return numbers(ds, tag, el, 2, (i) => ds.int16(tag, i));
    case 'UL': return numbers(ds, tag, el, 4, (i) => ds.uint32(tag, i));
    case 'SL': return numbers(ds, tag, el, 4, (i) => ds.int32(tag, i));
    case 'FL': return numbers(ds, tag, el, 4, (i) => ds.float(tag, i));
    case 'FD': return numbers(ds, tag, el, 8, (i) => ds.double(tag, i));
    case 'AT': return numbers(ds, tag, el, 4, (i) => ds.uint32(tag, i));
    default:
      if (STRING_VRS.has(vr)) {
        const s = text(ds, tag, charset);
        return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS)}…` : s;
      }
      return el.length === 0xffffffff || el.hadUndefinedLength ? '(encapsulated)' : `(${el.length} bytes)`;
  }
}

function dump(ds: dicomParser.DataSet, depth: number, charset: string, rows: TagRow[]): void {
  for (const [tag, el] of Object.entries(ds.elements)) {
    if (rows.length >= MAX_ROWS) return;
    const key = tagKey(tag);
    const entry = dictionary[key];
    const isPrivate = parseInt(tag.slice(1, 5), 16) % 2 === 1;
    const vr = el.vr ?? (el.items ? 'SQ' : entry?.vr && entry.vr.length === 2 ? entry.vr.toUpperCase() : 'UN');
    rows.push({
      tag: key,
      name: entry?.name ?? (isPrivate ? 'Private tag' : 'Unknown'),
      vr,
      value: valueOf(ds, tag, el, vr, charset),
      depth,
    });
    if (el.items && depth < MAX_DEPTH) {
      el.items.forEach((item, i) => {
        if (rows.length >= MAX_ROWS) return;
        rows.push({ tag: '(FFFE,E000)', name: `Item ${i + 1}`, vr: '', value: '', depth: depth + 1 });
        if (item.dataSet) dump(item.dataSet, depth + 2, charset, rows);
      });
    }
  }
}

/** Reads the header of an indexed file for display. */
export function readTags(filePath: string): TagRow[] {
  const parsed = parseDicomFile(filePath);
  if ('notDicom' in parsed || 'rejected' in parsed) {
    throw new LightboxError('io', `tags: ${filePath} can no longer be read (${'rejected' in parsed ? parsed.rejected : 'not DICOM'}); re-import the folder`);
  }
  const rows: TagRow[] = [];
  dump(parsed.dataSet, 0, text(parsed.dataSet, 'x00080005'), rows);
  return rows;
}
