// Attribute values out of a parsed data set: text in the file's character set, numbers, UIDs, person names.
import type dicomParser from 'dicom-parser';

type DataSet = dicomParser.DataSet;

const decoders = new Map<string, InstanceType<typeof TextDecoder>>();
const byCharset = new Map<string, InstanceType<typeof TextDecoder>>();

function decoderFor(charset: string): InstanceType<typeof TextDecoder> {
  const known = byCharset.get(charset);
  if (known) return known;
  // A hostile file can name any charset: only the first few distinct ones are remembered.
  const d = decoderForLabel(charset);
  if (byCharset.size < 64) byCharset.set(charset, d);
  return d;
}

function decoderForLabel(charset: string): InstanceType<typeof TextDecoder> {
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

export function uid(ds: DataSet, tag: string): string {
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

export const UID_RE = /^[0-9]+(\.[0-9]+)*$/;

export function personName(s: string): string {
  // Keep the alphabetic group only; ideographic/phonetic groups follow '='.
  return (s.split('=')[0] ?? '').trim();
}
