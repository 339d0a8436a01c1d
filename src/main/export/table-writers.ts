// The label tables: CSV (RFC 4180, CRLF, the documented columns in order) and JSONL (one object per row, label lists
// as arrays), both over the same rows.
import { COLUMNS } from './export-rows.ts';
import type { ExportRow } from './export-rows.ts';

const COLUMN_NAMES = COLUMNS.map(([k]) => k);

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  // Quoted when a reader would otherwise split or trim it.
  return /[",\r\n]/.test(s) || s.startsWith(' ') || s.endsWith(' ') ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvTable(rows: readonly ExportRow[]): string {
  const lines = [COLUMN_NAMES.join(',')];
  for (const r of rows) lines.push(COLUMN_NAMES.map((k) => csvField(r.cells[k])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function jsonlTable(rows: readonly ExportRow[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    const obj: Record<string, unknown> = {};
    for (const k of COLUMN_NAMES) obj[k] = k === 'label' ? r.classes.filter(Boolean) : k === 'labels' ? r.labels : r.cells[k];
    lines.push(JSON.stringify(obj));
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
