// Re-import: Lightbox CSV/JSONL exports and SRs (a file or a folder of them) back into a project as labels with
// provenance "imported". A de-identified export maps back through the project's key when it was made by this project.
import fs from 'node:fs';
import path from 'node:path';
import { LightboxError } from '../../shared/contract.ts';
import type { LabelImportSummary } from '../../shared/contract.ts';
import { LEVELS } from '../../shared/label-schema.ts';
import type { Level } from '../../shared/label-schema.ts';
import type { ImportEntry, LabelService } from '../labels/index.ts';
import { MAX_LABEL_FILE_BYTES, checkReadable, readRegularFile } from '../fs-guard.ts';
import type { ExportRepository } from '../project/export-repo.ts';
import { Pseudonymizer } from './deidentify.ts';
import { parseSr } from './sr.ts';

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks. Returns rows with their first line number. */
export function parseCsv(text: string): { line: number; cells: string[] }[] {
  const out: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else { if (ch === '\n') line++; cell += ch; }
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') { cells.push(cell); cell = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      cells.push(cell);
      if (cells.length > 1 || cells[0] !== '') out.push({ line: start, cells });
      cells = []; cell = ''; line++; start = line;
    } else cell += ch;
  }
  if (cell !== '' || cells.length) { cells.push(cell); out.push({ line: start, cells }); }
  return out;
}

type Record_ = Record<string, unknown>;
const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : text(v).split(';')).map((s) => s.trim()).filter(Boolean);

/** One exported row → an import entry (without re-identification). */
function entryOf(r: Record_, where: string, file: string): ImportEntry {
  const level = text(r.level) as Level;
  if (!LEVELS.includes(level)) throw new Error(`level "${text(r.level)}" is not study, series or image`);
  const uid = text(level === 'image' ? r.sop_uid : level === 'series' ? r.series_uid : r.study_uid);
  if (!uid) throw new Error(`no ${level === 'image' ? 'sop_uid' : level === 'series' ? 'series_uid' : 'study_uid'} for a ${level} row`);
  const group = text(r.group);
  if (!group) throw new Error('no group');
  const status = text(r.status) || 'accepted';
  if (status !== 'accepted' && status !== 'flagged') throw new Error(`status "${status}" is not a label (accepted or flagged)`);
  const labels = r.labels !== undefined ? list(r.labels) : list(r.label);
  const score = r.score === '' || r.score === null || r.score === undefined ? null : Number(r.score);
  return {
    where, level, uid, group, labels,
    // A flagged row flags the item; an accepted one leaves an existing flag alone (an import never clears a
    // colleague's request for a second opinion).
    ...(status === 'flagged' ? { flagged: true } : {}),
    ...(r.note !== undefined ? { note: text(r.note) } : {}),
    detail: `imported from ${path.basename(file)}: ${text(r.source) || 'unknown source'} by ${text(r.annotator) || 'unknown'} at ${text(r.labelled_at) || 'unknown time'}`,
    suggestionSource: text(r.suggestion_source),
    modelSha256: text(r.model_sha256),
    score: Number.isFinite(score) ? score : null,
  };
}

function readTable(file: string, errors: LabelImportSummary['errors']): ImportEntry[] {
  const body = readRegularFile('import-labels', file, MAX_LABEL_FILE_BYTES).toString('utf8').replace(/^\uFEFF/, '');
  const entries: ImportEntry[] = [];
  const add = (r: Record_, where: string): void => {
    try { entries.push(entryOf(r, where, file)); } catch (e) { errors.push({ where, reason: (e as Error).message }); }
  };
  const name = path.basename(file);
  if (/\.jsonl$/i.test(file)) {
    body.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      let r: unknown;
      try { r = JSON.parse(line); } catch (e) { errors.push({ where: `${name}:${i + 1}`, reason: `not JSON (${(e as Error).message})` }); return; }
      if (!r || typeof r !== 'object' || Array.isArray(r)) { errors.push({ where: `${name}:${i + 1}`, reason: 'not a JSON object' }); return; }
      add(r as Record_, `${name}:${i + 1}`);
    });
    return entries;
  }
  const rows = parseCsv(body);
  const header = rows.shift();
  if (!header) return entries;
  for (const need of ['level', 'group']) {
    if (!header.cells.includes(need)) throw new LightboxError('bad-request', `import-labels: ${file} has no "${need}" column; is it a Lightbox export (labels.csv)?`);
  }
  for (const row of rows) {
    if (row.cells.length !== header.cells.length) {
      errors.push({ where: `${name}:${row.line}`, reason: `${row.cells.length} fields where the header has ${header.cells.length}` });
      continue;
    }
    add(Object.fromEntries(header.cells.map((h, i) => [h, row.cells[i]])), `${name}:${row.line}`);
  }
  return entries;
}

function readSrs(target: string, errors: LabelImportSummary['errors']): ImportEntry[] {
  const files = fs.statSync(target).isDirectory()
    ? fs.readdirSync(target, { recursive: true, withFileTypes: true }).filter((d) => d.isFile() && !d.name.startsWith('.')).map((d) => path.join(d.parentPath, d.name)).sort()
    : [target];
  const entries: ImportEntry[] = [];
  for (const f of files) {
    try {
      const sr = parseSr(readRegularFile('import-labels', f, MAX_LABEL_FILE_BYTES));
      for (const l of sr.labels) {
        entries.push({ where: path.basename(f), level: l.level, uid: l.uid, group: l.group, labels: l.labels, detail: `imported from SR ${path.basename(f)}: by ${l.annotator || 'unknown'} at ${l.at || 'unknown time'}` });
      }
    } catch (e) {
      errors.push({ where: f, reason: `not read as a Lightbox SR: ${(e as Error).message}` });
    }
  }
  return entries;
}

/** Reads labels from a CSV/JSONL export or an SR file or folder, and records them through the label service. */
export function importLabels(labels: LabelService, repo: ExportRepository, target: string, overwrite: boolean): LabelImportSummary {
  const file = checkReadable('import-labels', target, MAX_LABEL_FILE_BYTES).path;
  const errors: LabelImportSummary['errors'] = [];
  const entries = /\.(csv|jsonl)$/i.test(file) ? readTable(file, errors) : readSrs(file, errors);
  // UIDs the project does not hold may be this project's pseudonyms (a de-identified export): map them back.
  let reidentified = false;
  if (entries.some((e) => labels.repo.idOf(e.level, e.uid) === undefined)) {
    const back = Pseudonymizer.reverse(repo);
    for (const e of entries) {
      const orig = back.uids.get(e.uid);
      if (orig && labels.repo.idOf(e.level, e.uid) === undefined) { e.uid = orig; reidentified = true; }
    }
  }
  const r = labels.importLabels(entries, overwrite);
  return { source: file, rows: entries.length + errors.length, imported: r.imported, unchanged: r.unchanged, conflicts: r.conflicts, errors: [...errors, ...r.errors], reidentified };
}
