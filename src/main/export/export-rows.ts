// Row collection: the project's current labels, filtered by the export's options, as one record per labelled item
// and label group (with split and fold filled in), and the counts a preview or a manifest reports.
import crypto from 'node:crypto';
import path from 'node:path';
import { LightboxError } from '../../shared/contract.ts';
import type { ExportOptions, ExportPreview } from '../../shared/contract.ts';
import { mostSpecific } from '../../shared/label-schema.ts';
import type { LabelGroup, LabelSchema, Level } from '../../shared/label-schema.ts';
import type { ExportRepository, ImageRef, ItemMeta, LabelRow } from '../project/export-repo.ts';
import { Pseudonymizer } from './deidentify.ts';
import { SPLIT_NAMES, assignGroups } from './splits.ts';
import type { SplitUnit } from './splits.ts';

/** The documented columns, in file order (the README's table is this list). */
export const COLUMNS = [
  ['level', 'study, series or image: what the row labels'],
  ['patient_id', 'Patient ID (a pseudonym when de-identified)'],
  ['study_uid', 'Study Instance UID'],
  ['series_uid', 'Series Instance UID (series and image rows)'],
  ['sop_uid', 'SOP Instance UID (image rows)'],
  ['path', 'the item\'s file (an image, or a series or study held in one file) or the deepest folder holding all its files, relative to root; with de-identified copies, relative to the export'],
  ['root', 'the source folder the path is relative to (empty when de-identified)'],
  ['modality', 'modality (a study lists each of its series\' modalities)'],
  ['study_date', 'study date YYYYMMDD (shifted per patient when de-identified)'],
  ['group', 'label group key'],
  ['label', 'the most specific label(s), ";"-separated (empty: the reader decided none apply)'],
  ['labels', 'the labels with their parents, ";"-separated'],
  ['status', 'accepted, or flagged (labelled, but flagged for a second opinion)'],
  ['annotator', 'who decided the current value'],
  ['annotators', 'everyone who set a value for this item and group, ";"-separated'],
  ['first_labelled_at', 'when the first value was set (ISO 8601, UTC)'],
  ['labelled_at', 'when the current value was decided (ISO 8601, UTC)'],
  ['source', 'manual, suggestion (accepted one by one), bulk (accepted in bulk) or imported'],
  ['suggestion_source', 'zero-shot, knn or adapter: what made the suggestion that was accepted or shown'],
  ['model_name', 'embedding model behind that suggestion'],
  ['model_sha256', 'its package hash'],
  ['score', 'the suggestion\'s probability when the value was decided'],
  ['note', 'the reader\'s note on the item (left out when de-identified: free text)'],
  ['event_id', 'the audit-trail event that decided the value'],
  ['split', 'train, val or test (with a split)'],
  ['fold', 'k-fold index (with folds; empty for test rows)'],
] as const;
export type Column = (typeof COLUMNS)[number][0];

/** One exported row: its cells as written, and what the writers and counts need besides. */
export interface ExportRow {
  cells: Record<Column, string | number | null>;
  /** The labels with their parents (JSONL writes them as an array). */
  labels: string[];
  /** The most specific labels, or '' for a multi-label "none": the classes balance and stratification count. */
  classes: string[];
  /** The patient the row belongs to (splits keep a patient's rows together); never written when de-identified. */
  patientKey: string;
  /** The item's original identifiers (never written when de-identified). */
  meta: ItemMeta;
  source: LabelRow;
}

export interface Collected {
  rows: ExportRow[];
  warnings: string[];
  failures: { item: string; reason: string }[];
  pz: Pseudonymizer | null;
  /** The group the splits are stratified by ('' without splits). */
  stratifiedBy: string;
  /** Model hash → name and version, as the project knows them. */
  models: Map<string, { name: string; version: string }>;
}

const rel = (root: string, p: string): string => (p ? path.relative(root, p).split(path.sep).join('/') : '');
/** A short, stable file name for a UID (UIDs may be 64 characters). */
export const short = (uid: string): string => crypto.createHash('sha256').update(uid).digest('hex').slice(0, 12);

function groupsOf(schema: LabelSchema, o: ExportOptions): Map<string, LabelGroup> {
  const all = schema.groups;
  for (const k of o.groups) if (!all.some((g) => g.key === k)) throw new LightboxError('bad-request', `export: no label group "${k}" in the schema (${all.map((g) => g.key).join(', ') || 'none defined'})`);
  return new Map(all.filter((g) => o.groups.length === 0 || o.groups.includes(g.key)).map((g) => [g.key, g]));
}

function checkOptions(o: ExportOptions): void {
  if (o.dicomCopies && !o.deidentify) throw new LightboxError('bad-request', 'export: DICOM copies are written de-identified only; turn on deidentify too');
  if (o.split.length === 1) throw new LightboxError('bad-request', 'export: a split needs two or three parts (train,test or train,val,test)');
  if (o.split.length && Math.abs(o.split.reduce((a, b) => a + b, 0) - 100) > 0.001) throw new LightboxError('bad-request', `export: split ${o.split.join(',')} must add up to 100`);
  if (o.folds === 1) throw new LightboxError('bad-request', 'export: folds must be 0 (none) or at least 2');
}

/** The rows an export with these options writes, split as asked. */
export function collectRows(repo: ExportRepository, schema: LabelSchema, o: ExportOptions): Collected {
  checkOptions(o);
  const groups = groupsOf(schema, o);
  const models = repo.models();
  const metas = new Map<Level, Map<string, ItemMeta>>();
  const metaOf = (level: Level): Map<string, ItemMeta> => {
    let m = metas.get(level);
    if (!m) { m = repo.itemMeta(level); metas.set(level, m); }
    return m;
  };
  const kept: { r: LabelRow; g: LabelGroup; m: ItemMeta }[] = [];
  const missing: LabelRow[] = [];
  for (const r of repo.labelRows()) {
    const g = groups.get(r.group);
    if (!g || (o.levels.length && !o.levels.includes(r.level))) continue;
    if (!o.statuses.includes(r.flagged ? 'flagged' : 'accepted')) continue;
    const day = r.at.slice(0, 10);
    if ((o.labelledFrom && day < o.labelledFrom) || (o.labelledTo && day > o.labelledTo)) continue;
    const m = metaOf(r.level).get(r.uid);
    if (m) kept.push({ r, g, m });
    else missing.push(r);
  }
  const pz = o.deidentify ? new Pseudonymizer(repo, kept.map((k) => k.m.patientKey)) : null;
  const out: Collected = { rows: [], warnings: [], failures: [], pz, stratifiedBy: '', models };
  for (const r of missing) {
    out.failures.push({ item: `${r.level} ${pz ? pz.uid(r.uid) : r.uid}`, reason: 'labelled, but no longer in the project (its files were removed); re-import its folder to export it' });
  }
  for (const { r, g, m } of kept) out.rows.push(rowOf(r, g, m, pz, o, models));
  split(out, o, groups);
  return out;
}

function rowOf(r: LabelRow, g: LabelGroup, m: ItemMeta, pz: Pseudonymizer | null, o: ExportOptions, models: Collected['models']): ExportRow {
  const label = mostSpecific(g, r.labels);
  const model = models.get(r.modelSha256);
  const pid = pz ? pz.patient(m.patientKey).pseudonym : m.patientId;
  const studyUid = pz ? pz.uid(m.studyUid) : m.studyUid;
  const seriesUid = pz ? pz.uid(m.seriesUid) : m.seriesUid;
  const sopUid = pz ? pz.uid(m.sopUid) : m.sopUid;
  let itemPath = rel(m.root, m.path);
  if (pz) {
    const parts = ['dicom', pid, short(studyUid), ...(seriesUid ? [short(seriesUid)] : []), ...(sopUid ? [`${short(sopUid)}.dcm`] : [])];
    itemPath = o.dicomCopies ? parts.join('/') : '';
  }
  return {
    cells: {
      level: r.level,
      patient_id: pid,
      study_uid: studyUid,
      series_uid: seriesUid,
      sop_uid: sopUid,
      path: itemPath,
      root: pz ? '' : m.root,
      modality: m.modality.replaceAll(',', ';'),
      study_date: pz ? pz.date(m.studyDate, m.patientKey) : m.studyDate,
      group: g.key,
      label: label.join(';'),
      labels: r.labels.join(';'),
      status: r.flagged ? 'flagged' : 'accepted',
      annotator: r.annotator,
      annotators: r.annotators.join(';'),
      first_labelled_at: r.firstAt,
      labelled_at: r.at,
      source: r.source,
      suggestion_source: r.suggestionSource,
      model_name: model ? `${model.name} ${model.version}` : '',
      model_sha256: r.modelSha256,
      score: r.score === null ? null : Math.round(r.score * 1e6) / 1e6,
      note: pz ? '' : r.note,
      event_id: r.eventId,
      split: '',
      fold: null,
    },
    labels: r.labels,
    classes: label.length ? label : [''],
    patientKey: m.patientKey,
    meta: m,
    source: r,
  };
}

/** Fills split and fold: whole patients per part, stratified by the first exported group (or the one asked for). */
function split(c: Collected, o: ExportOptions, groups: Map<string, LabelGroup>): void {
  if (!o.split.length && !o.folds) return;
  const strat = o.stratify || [...groups.keys()][0] || '';
  if (o.stratify && !groups.has(o.stratify)) throw new LightboxError('bad-request', `export: cannot stratify by "${o.stratify}": it is not among the exported groups`);
  c.stratifiedBy = strat;
  const units = new Map<string, SplitUnit>();
  for (const row of c.rows) {
    const key = row.patientKey;
    let u = units.get(key);
    if (!u) { u = { key, counts: new Map(), items: 0 }; units.set(key, u); }
    u.items++;
    if (row.cells.group === strat) for (const l of row.classes) u.counts.set(l, (u.counts.get(l) ?? 0) + 1);
  }
  const list = [...units.values()];
  let part = new Map<string, number>();
  let names: readonly string[] = [];
  if (o.split.length) {
    names = SPLIT_NAMES[o.split.length]!;
    const sum = o.split.reduce((a, b) => a + b, 0);
    part = assignGroups(list, o.split.map((p) => p / sum), o.seed);
  }
  if (o.folds >= 2) {
    const testIndex = names.indexOf('test');
    const pool = list.filter((u) => part.get(u.key) !== testIndex || testIndex < 0);
    const fold = assignGroups(pool, Array.from({ length: o.folds }, () => 1 / o.folds), o.seed + 1);
    for (const row of c.rows) row.cells.fold = fold.get(row.patientKey) ?? null;
  }
  if (!names.length) return;
  for (const row of c.rows) row.cells.split = names[part.get(row.patientKey)!]!;
  // Labels too rare to reach every part.
  const labelPatients = new Map<string, Set<string>>();
  for (const row of c.rows) if (row.cells.group === strat) for (const l of row.classes) labelPatients.set(l, (labelPatients.get(l) ?? new Set()).add(row.patientKey));
  for (const [l, ps] of labelPatients) if (ps.size < names.length) c.warnings.push(`"${l || 'none'}" (${strat}) has ${ps.size} patient(s): not every split can have it`);
}

/** The counts a preview shows and a manifest records: rows, items, patients, studies, balance, per split. */
export function summarise(c: Collected): ExportPreview {
  const balance = (rows: ExportRow[]): Record<string, Record<string, number>> => {
    const b: Record<string, Record<string, number>> = {};
    for (const r of rows) {
      const g = (b[String(r.cells.group)] ??= {});
      for (const l of r.classes) g[l || 'none'] = (g[l || 'none'] ?? 0) + 1;
    }
    return b;
  };
  const itemsOf = (rows: ExportRow[]): number => new Set(rows.map((r) => `${r.source.level}|${r.source.uid}`)).size;
  const byPart = new Map<string, ExportRow[]>();
  for (const r of c.rows) {
    if (!r.cells.split) continue;
    const list = byPart.get(String(r.cells.split));
    if (list) list.push(r);
    else byPart.set(String(r.cells.split), [r]);
  }
  const order = ['train', 'val', 'test'];
  return {
    rows: c.rows.length,
    items: itemsOf(c.rows),
    patients: new Set(c.rows.map((r) => r.patientKey)).size,
    studies: new Set(c.rows.map((r) => r.meta.studyUid)).size,
    balance: balance(c.rows),
    splits: [...byPart].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0])).map(([name, rows]) => ({
      name, patients: new Set(rows.map((r) => r.patientKey)).size, items: itemsOf(rows), rows: rows.length, balance: balance(rows),
    })),
    warnings: c.warnings,
  };
}

/** The rows of each study, in row order (one SR per study). */
export function rowsByStudy(c: Collected): Map<string, ExportRow[]> {
  const m = new Map<string, ExportRow[]>();
  for (const r of c.rows) {
    const list = m.get(r.meta.studyUid);
    if (list) list.push(r);
    else m.set(r.meta.studyUid, [r]);
  }
  return m;
}

export interface CopyPlanItem { src: string; dest: string; sop: string; patientKey: string }

/** Each image under the exported rows once, with the path its de-identified copy takes in the export. */
export function copyPlan(repo: ExportRepository, c: Collected, pz: Pseudonymizer): CopyPlanItem[] {
  const seen = new Set<string>();
  const plan: CopyPlanItem[] = [];
  for (const row of c.rows) {
    for (const im of repo.images(row.source.level, row.source.uid) as ImageRef[]) {
      if (seen.has(im.sopUid)) continue;
      seen.add(im.sopUid);
      const parts = ['dicom', pz.patient(row.patientKey).pseudonym, short(pz.uid(row.meta.studyUid)), short(pz.uid(im.seriesUid)), `${short(pz.uid(im.sopUid))}.dcm`];
      plan.push({ src: im.path, dest: parts.join('/'), sop: pz.uid(im.sopUid), patientKey: row.patientKey });
    }
  }
  return plan;
}
