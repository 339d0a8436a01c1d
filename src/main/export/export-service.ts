// Export: the curated label set as CSV and JSONL (one row per labelled item and label group), DICOM SR (one per
// study), optional de-identified DICOM copies, a manifest with the SHA-256 of every file, and SHA256SUMS. The export
// is written into a temporary folder beside the destination and renamed into place when complete, so a failed or
// cancelled export leaves nothing half-written.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LightboxError } from '../../shared/contract.ts';
import type { ExportOptions, ExportPreview, ExportSummary, JobProgress } from '../../shared/contract.ts';
import { mostSpecific } from '../../shared/label-schema.ts';
import type { LabelGroup, LabelSchema, Level } from '../../shared/label-schema.ts';
import { APP } from '../../shared/version.ts';
import { uidFrom } from '../dicom/dicom-writer.ts';
import { checkFolder, checkNewFolder } from '../fs-guard.ts';
import { ExportRepository } from '../project/export-repo.ts';
import type { ItemMeta, LabelRow } from '../project/export-repo.ts';
import type { ProjectStore } from '../project/project-store.ts';
import { Pseudonymizer, writeDeidentifiedCopy, DEID_CODES, DEID_METHOD } from './deidentify.ts';
import { SPLIT_NAMES, assignGroups } from './splits.ts';
import type { SplitUnit } from './splits.ts';
import { buildSr } from './sr.ts';
import type { SrItem } from './sr.ts';

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
/** A row as written, plus its label lists (JSONL writes them as arrays; balance and splits count by class). */
export type ExportRow = Record<Column, string | number | null> & { labels_list: string[]; classes: string[] };

export const EXPORT_FORMAT = 'lightbox-export/1';

interface Collected {
  rows: ExportRow[];
  /** Per row: its patient key and item metadata (original identifiers, never written when de-identified). */
  patient: string[];
  meta: ItemMeta[];
  source: LabelRow[];
  warnings: string[];
  failures: { item: string; reason: string }[];
  pz: Pseudonymizer | null;
  /** The group the splits are stratified by ('' without splits). */
  stratifiedBy: string;
  /** Model hash → name and version, as the project knows them. */
  models: Map<string, { name: string; version: string }>;
}

const rel = (root: string, p: string): string => (p ? path.relative(root, p).split(path.sep).join('/') : '');
const short = (uid: string): string => crypto.createHash('sha256').update(uid).digest('hex').slice(0, 12);

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) || s.startsWith(' ') || s.endsWith(' ') ? `"${s.replaceAll('"', '""')}"` : s;
}

export class ExportService {
  readonly repo: ExportRepository;
  private readonly store: ProjectStore;
  private readonly schema: () => LabelSchema;
  private readonly annotator: () => string;
  private readonly onProgress: (p: JobProgress) => void;
  private running: { jobId: number; controller: AbortController; last: JobProgress | null; settled: Promise<void> } | null = null;
  private last: ExportSummary | null = null;
  private lastError = '';

  constructor(store: ProjectStore, schema: () => LabelSchema, annotator: () => string, onProgress: (p: JobProgress) => void = () => {}) {
    this.store = store;
    this.repo = new ExportRepository(store.db);
    this.schema = schema;
    this.annotator = annotator;
    this.onProgress = onProgress;
  }

  // ---------- rows ----------

  private groupsOf(o: ExportOptions): Map<string, LabelGroup> {
    const all = this.schema().groups;
    for (const k of o.groups) if (!all.some((g) => g.key === k)) throw new LightboxError('bad-request', `export: no label group "${k}" in the schema (${all.map((g) => g.key).join(', ') || 'none defined'})`);
    return new Map(all.filter((g) => o.groups.length === 0 || o.groups.includes(g.key)).map((g) => [g.key, g]));
  }

  private collect(o: ExportOptions): Collected {
    if (o.dicomCopies && !o.deidentify) throw new LightboxError('bad-request', 'export: DICOM copies are written de-identified only; turn on deidentify too');
    if (o.split.length === 1) throw new LightboxError('bad-request', 'export: a split needs two or three parts (train,test or train,val,test)');
    if (o.split.length && Math.abs(o.split.reduce((a, b) => a + b, 0) - 100) > 0.001) throw new LightboxError('bad-request', `export: split ${o.split.join(',')} must add up to 100`);
    if (o.folds === 1) throw new LightboxError('bad-request', 'export: folds must be 0 (none) or at least 2');
    const groups = this.groupsOf(o);
    const models = this.repo.models();
    const metas = new Map<Level, Map<string, ItemMeta>>();
    const metaOf = (level: Level): Map<string, ItemMeta> => {
      let m = metas.get(level);
      if (!m) { m = this.repo.itemMeta(level); metas.set(level, m); }
      return m;
    };
    const out: Collected = { rows: [], patient: [], meta: [], source: [], warnings: [], failures: [], pz: null, stratifiedBy: '', models };
    const from = o.labelledFrom;
    const to = o.labelledTo;
    const kept: { r: LabelRow; g: LabelGroup; m: ItemMeta }[] = [];
    const missing: LabelRow[] = [];
    for (const r of this.repo.labelRows()) {
      const g = groups.get(r.group);
      if (!g || (o.levels.length && !o.levels.includes(r.level))) continue;
      if (!o.statuses.includes(r.flagged ? 'flagged' : 'accepted')) continue;
      const day = r.at.slice(0, 10);
      if ((from && day < from) || (to && day > to)) continue;
      const m = metaOf(r.level).get(r.uid);
      if (!m) {
        missing.push(r);
        continue;
      }
      kept.push({ r, g, m });
    }
    const pz = o.deidentify ? new Pseudonymizer(this.repo, kept.map((k) => k.m.patientKey)) : null;
    out.pz = pz;
    for (const r of missing) {
      out.failures.push({ item: `${r.level} ${pz ? pz.uid(r.uid) : r.uid}`, reason: 'labelled, but no longer in the project (its files were removed); re-import its folder to export it' });
    }
    for (const { r, g, m } of kept) {
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
      out.rows.push({
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
        labels_list: r.labels,
        // The most specific labels, or '' for a multi-label "none": the classes balance and stratification count.
        classes: label.length ? label : [''],
      });
      out.patient.push(m.patientKey);
      out.meta.push(m);
      out.source.push(r);
    }
    this.split(out, o, groups);
    return out;
  }

  /** Fills split and fold: whole patients per part, stratified by the first exported group (or the one asked for). */
  private split(c: Collected, o: ExportOptions, groups: Map<string, LabelGroup>): void {
    if (!o.split.length && !o.folds) return;
    const strat = o.stratify || [...groups.keys()][0] || '';
    if (o.stratify && !groups.has(o.stratify)) throw new LightboxError('bad-request', `export: cannot stratify by "${o.stratify}": it is not among the exported groups`);
    c.stratifiedBy = strat;
    const units = new Map<string, SplitUnit>();
    c.rows.forEach((row, i) => {
      const key = c.patient[i]!;
      let u = units.get(key);
      if (!u) { u = { key, counts: new Map(), items: 0 }; units.set(key, u); }
      u.items++;
      if (row.group === strat) for (const l of row.classes) u.counts.set(l, (u.counts.get(l) ?? 0) + 1);
    });
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
      c.rows.forEach((row, i) => { row.fold = fold.get(c.patient[i]!) ?? null; });
    }
    if (names.length) c.rows.forEach((row, i) => { row.split = names[part.get(c.patient[i]!)!]!; });
    // Labels too rare to reach every part.
    if (names.length) {
      const labelPatients = new Map<string, Set<string>>();
      c.rows.forEach((row, i) => { if (row.group === strat) for (const l of row.classes) labelPatients.set(l, (labelPatients.get(l) ?? new Set()).add(c.patient[i]!)); });
      for (const [l, ps] of labelPatients) if (ps.size < names.length) c.warnings.push(`"${l || 'none'}" (${strat}) has ${ps.size} patient(s): not every split can have it`);
    }
  }

  private summarise(c: Collected): ExportPreview {
    const balance = (rows: ExportRow[]): Record<string, Record<string, number>> => {
      const b: Record<string, Record<string, number>> = {};
      for (const r of rows) {
        const g = (b[String(r.group)] ??= {});
        for (const l of r.classes) g[l || 'none'] = (g[l || 'none'] ?? 0) + 1;
      }
      return b;
    };
    const itemsOf = (idx: number[]): number => new Set(idx.map((i) => `${c.rows[i]!.level}|${c.source[i]!.uid}`)).size;
    const all = c.rows.map((_, i) => i);
    const byPart = new Map<string, number[]>();
    c.rows.forEach((r, i) => {
      if (!r.split) return;
      const list = byPart.get(String(r.split));
      if (list) list.push(i);
      else byPart.set(String(r.split), [i]);
    });
    const order = ['train', 'val', 'test'];
    return {
      rows: c.rows.length,
      items: itemsOf(all),
      patients: new Set(c.patient).size,
      studies: new Set(c.meta.map((m) => m.studyUid)).size,
      balance: balance(c.rows),
      splits: [...byPart].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0])).map(([name, idx]) => ({
        name, patients: new Set(idx.map((i) => c.patient[i]!)).size, items: itemsOf(idx), rows: idx.length, balance: balance(idx.map((i) => c.rows[i]!)),
      })),
      warnings: c.warnings,
    };
  }

  preview(o: ExportOptions): ExportPreview {
    return this.summarise(this.collect(o));
  }

  // ---------- writing ----------

  /** Runs an export as a job: progress events, cancellable; the summary when done. */
  start(out: string, o: ExportOptions): { jobId: number; done: Promise<ExportSummary> } {
    if (this.running) throw new LightboxError('busy', `export: job ${this.running.jobId} is still running; cancel it or wait`);
    const dest = checkDestination(out, o);
    const jobId = this.store.createJob('export', { out: dest, options: o });
    const controller = new AbortController();
    const first: JobProgress = { jobId, kind: 'export', phase: 'exporting', done: 0, total: 0, ratePerSecond: 0, etaSeconds: null, message: 'Exporting: reading the labels' };
    const run = { jobId, controller, last: first as JobProgress | null, settled: Promise.resolve() };
    this.running = run;
    this.onProgress(first);
    this.lastError = '';
    const done = this.write(dest, o, jobId, controller.signal, (p) => { run.last = p; this.onProgress(p); })
      .then((s) => { this.last = s; this.store.finishJob(jobId, s.cancelled ? 'cancelled' : 'done'); return s; },
        (e: unknown) => {
          this.lastError = e instanceof Error ? e.message : String(e);
          this.store.finishJob(jobId, 'failed', this.lastError);
          this.onProgress({ jobId, kind: 'export', phase: 'failed', done: 0, total: 0, ratePerSecond: 0, etaSeconds: null, message: `Export failed: ${this.lastError}` });
          throw e;
        })
      .finally(() => { if (this.running === run) this.running = null; });
    run.settled = done.then(() => {}, () => {});
    return { jobId, done };
  }

  cancel(jobId: number): boolean {
    if (!this.running || this.running.jobId !== jobId) return false;
    this.running.controller.abort();
    return true;
  }

  status(): { job: JobProgress | null; last: ExportSummary | null; error: string } {
    return { job: this.running?.last ?? null, last: this.last, error: this.lastError };
  }

  async stop(): Promise<void> {
    this.running?.controller.abort();
    await this.running?.settled;
  }

  private async write(dest: string, o: ExportOptions, jobId: number, signal: AbortSignal, progress: (p: JobProgress) => void): Promise<ExportSummary> {
    const t0 = performance.now();
    // export.start answers with the job id first; the work starts on the next turn.
    await yieldNow();
    const c = this.collect(o);
    const summary = this.summarise(c);
    await yieldNow();
    const studies = o.formats.includes('sr') ? groupByStudy(c) : new Map<string, number[]>();
    const copies = o.dicomCopies ? this.copyPlan(c) : [];
    const total = c.rows.length + studies.size + copies.length;
    let done = 0;
    let lastTick = 0;
    const tick = (n: number, what: string, force = false): void => {
      done += n;
      const now = performance.now();
      if (!force && now - lastTick < 200) return;
      lastTick = now;
      const rate = done / Math.max(1e-3, (now - t0) / 1000);
      progress({ jobId, kind: 'export', phase: 'exporting', done, total, ratePerSecond: rate, etaSeconds: rate > 0 ? (total - done) / rate : null, message: `Exporting: ${what} (${done} of ${total})` });
    };
    const tmp = partialDir(dest);
    fs.mkdirSync(tmp, { recursive: true });
    const files: string[] = [];
    const put = (name: string, data: string | Buffer): void => {
      const f = path.join(tmp, name);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, data);
      files.push(name);
    };
    try {
      const cols = COLUMNS.map(([k]) => k);
      if (o.formats.includes('csv')) {
        const lines = [cols.join(',')];
        for (const r of c.rows) lines.push(cols.map((k) => csvField(r[k])).join(','));
        put('labels.csv', `${lines.join('\r\n')}\r\n`);
        // The tables are built in one go (fast), but the host's other calls get a turn between the steps.
        await yieldNow();
      }
      if (o.formats.includes('jsonl')) {
        const lines: string[] = [];
        for (const r of c.rows) {
          const obj: Record<string, unknown> = {};
          for (const k of cols) obj[k] = k === 'label' ? r.classes.filter(Boolean) : k === 'labels' ? r.labels_list : r[k];
          lines.push(JSON.stringify(obj));
        }
        put('labels.jsonl', lines.length ? `${lines.join('\n')}\n` : '');
        await yieldNow();
      }
      tick(c.rows.length, 'label rows', true);
      const seriesUid = uidFrom(`lightbox-export:${jobId}:${dest}:${Date.now()}`);
      const now = new Date().toISOString();
      const schema = this.schema();
      for (const [studyUid, idx] of studies) {
        if (signal.aborted) break;
        try {
          put(`sr/${short(studyUid)}.dcm`, this.sr(c, idx, schema, { seriesUid, now, deidentified: !!c.pz }));
        } catch (e) {
          c.failures.push({ item: `study ${c.rows[idx[0]!]!.study_uid}`, reason: `SR not written: ${(e as Error).message}` });
        }
        tick(1, 'structured reports');
        await yieldNow();
      }
      for (const cp of copies) {
        if (signal.aborted) break;
        try {
          const f = path.join(tmp, cp.dest);
          fs.mkdirSync(path.dirname(f), { recursive: true });
          writeDeidentifiedCopy(cp.src, f, c.pz!, cp.patientKey);
          files.push(cp.dest);
        } catch (e) {
          // The source path names folders (often patient names or IDs): never write it into a de-identified export.
          const code = (e as NodeJS.ErrnoException).code;
          c.failures.push({ item: `image ${cp.sop}`, reason: code ? `its source file cannot be read (${code}); re-import its folder` : (e as Error).message });
        }
        tick(1, 'de-identified copies');
        if (done % 16 === 0) await yieldNow();
      }
      if (signal.aborted) {
        fs.rmSync(tmp, { recursive: true, force: true });
        progress({ jobId, kind: 'export', phase: 'cancelled', done, total, ratePerSecond: 0, etaSeconds: null, message: 'Export cancelled; nothing was written' });
        return { ...summary, out: dest, files: [], failures: c.failures, srSent: null, cancelled: true, seconds: (performance.now() - t0) / 1000 };
      }
      const hashed: { path: string; bytes: number; sha256: string }[] = [];
      for (const name of files.sort()) {
        const bytes = fs.readFileSync(path.join(tmp, name));
        hashed.push({ path: name, bytes: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex') });
        if (hashed.length % 64 === 0) await yieldNow();
      }
      const manifest = this.manifest(c, o, summary, hashed, schema, now);
      put('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
      const manifestBytes = fs.readFileSync(path.join(tmp, 'manifest.json'));
      const manifestSha = crypto.createHash('sha256').update(manifestBytes).digest('hex');
      const sums = [...hashed, { path: 'manifest.json', sha256: manifestSha }].map((f) => `${f.sha256}  ${f.path}`).join('\n');
      put('SHA256SUMS', `${sums}\n`);
      syncTree(tmp);
      if (fs.existsSync(dest)) fs.rmdirSync(dest); // checked empty before the job started
      fs.renameSync(tmp, dest);
      this.repo.logExport({ annotator: this.annotator(), out: dest, options: o, rows: c.rows.length, manifestSha256: manifestSha });
      const srSent = o.srFolder && studies.size ? sendSrs(dest, o.srFolder) : null;
      progress({ jobId, kind: 'export', phase: 'done', done: total, total, ratePerSecond: 0, etaSeconds: 0, message: `Exported ${c.rows.length} rows to ${dest}` });
      return {
        ...summary,
        out: dest,
        files: [...hashed, { path: 'manifest.json', bytes: manifestBytes.length, sha256: manifestSha }],
        failures: c.failures,
        srSent,
        cancelled: false,
        seconds: (performance.now() - t0) / 1000,
      };
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  /** Runs an export to completion (the CLI and tests); progress goes to the callback. */
  async run(out: string, o: ExportOptions, onProgress?: (p: JobProgress) => void, signal?: AbortSignal): Promise<ExportSummary> {
    const dest = checkDestination(out, o);
    return this.write(dest, o, 0, signal ?? new AbortController().signal, onProgress ?? (() => {}));
  }

  private copyPlan(c: Collected): { src: string; dest: string; sop: string; patientKey: string }[] {
    const seen = new Set<string>();
    const plan: { src: string; dest: string; sop: string; patientKey: string }[] = [];
    c.source.forEach((r, i) => {
      for (const im of this.repo.images(r.level, r.uid)) {
        if (seen.has(im.sopUid)) continue;
        seen.add(im.sopUid);
        const pz = c.pz!;
        const key = c.patient[i]!;
        const parts = ['dicom', pz.patient(key).pseudonym, short(pz.uid(c.meta[i]!.studyUid)), short(pz.uid(im.seriesUid)), `${short(pz.uid(im.sopUid))}.dcm`];
        plan.push({ src: im.path, dest: parts.join('/'), sop: pz.uid(im.sopUid), patientKey: key });
      }
    });
    return plan;
  }

  private sr(c: Collected, idx: number[], schema: LabelSchema, ids: { seriesUid: string; now: string; deidentified: boolean }): Buffer {
    const first = idx[0]!;
    const m = c.meta[first]!;
    const pz = c.pz;
    const map = (u: string): string => (pz ? pz.uid(u) : u);
    const images = new Map<string, { sopClass: string; sopUid: string; seriesUid: string }>();
    const items: SrItem[] = idx.map((i) => {
      const r = c.source[i]!;
      const g = schema.groups.find((x) => x.key === r.group)!;
      const ims = this.repo.images(r.level, r.uid).map((im) => ({ sopClass: im.sopClass, sopUid: map(im.sopUid), seriesUid: map(im.seriesUid) }));
      for (const im of ims) images.set(im.sopUid, im);
      const most = mostSpecific(g, r.labels);
      return {
        level: r.level,
        uid: map(r.uid),
        group: { key: g.key, name: g.name },
        labels: most.map((k) => ({ key: k, name: g.labels.find((l) => l.key === k)?.name ?? k })),
        annotator: r.annotator,
        at: r.at,
        ...(r.level === 'image' && ims[0] ? { image: ims[0] } : {}),
      };
    });
    const patient = pz
      ? { name: pz.patient(m.patientKey).pseudonym, id: pz.patient(m.patientKey).pseudonym, birthDate: '', sex: '' }
      : { name: m.patientName, id: m.patientId, birthDate: m.birthDate, sex: m.sex };
    const study = pz
      ? { uid: map(m.studyUid), date: pz.date(m.studyDate, m.patientKey), time: m.studyTime, accession: '', id: '' }
      : { uid: m.studyUid, date: m.studyDate, time: m.studyTime, accession: m.accession, id: m.studyId };
    return buildSr({ patient, study, images: [...images.values()], items, deidentified: ids.deidentified }, {
      seriesUid: ids.seriesUid,
      sopUid: uidFrom(`${ids.seriesUid}:${study.uid}`),
      trackingUid: (it) => uidFrom(`${ids.seriesUid}:${it.level}:${it.uid}:${it.group.key}`),
      now: ids.now,
    });
  }

  private manifest(c: Collected, o: ExportOptions, s: ExportPreview, files: { path: string; bytes: number; sha256: string }[], schema: LabelSchema, now: string): Record<string, unknown> {
    const models = new Map<string, { name: string; version: string; sha256: string; rows: number }>();
    for (const r of c.source) {
      if (!r.modelSha256) continue;
      const m = models.get(r.modelSha256) ?? { ...(c.models.get(r.modelSha256) ?? { name: '', version: '' }), sha256: r.modelSha256, rows: 0 };
      m.rows++;
      models.set(r.modelSha256, m);
    }
    const roots = new Map<string, number>();
    if (!c.pz) for (const m of c.meta) roots.set(m.root, (roots.get(m.root) ?? 0) + 1);
    return {
      format: EXPORT_FORMAT,
      app: APP,
      project: { name: c.pz ? '' : this.store.name() },
      exportedAt: now,
      exportedBy: this.annotator(),
      options: { ...o, srFolder: o.srFolder ? '(set)' : '' },
      schema: { ...schema, groups: schema.groups.filter((g) => !o.groups.length || o.groups.includes(g.key)) },
      columns: COLUMNS.map(([name, description]) => ({ name, description })),
      counts: { rows: s.rows, items: s.items, patients: s.patients, studies: s.studies, balance: s.balance },
      splits: o.split.length || o.folds ? {
        seed: o.seed, percentages: o.split, folds: o.folds, stratifiedBy: c.stratifiedBy,
        groupedBy: 'patient', parts: s.splits,
      } : null,
      models: [...models.values()],
      deidentification: c.pz ? {
        method: DEID_METHOD,
        codes: DEID_CODES,
        notes: 'UIDs replaced consistently (HMAC of a project secret, 2.25 root); patient IDs and names replaced by pseudonyms; dates shifted per patient; birth date, sex, accession number, study ID, notes and source paths left out. The key stays in the project.',
      } : null,
      sources: [...roots].map(([root, rows]) => ({ root, rows })),
      failures: c.failures,
      warnings: s.warnings,
      files,
    };
  }
}

function groupByStudy(c: Collected): Map<string, number[]> {
  const m = new Map<string, number[]>();
  c.meta.forEach((meta, i) => {
    const list = m.get(meta.studyUid);
    if (list) list.push(i);
    else m.set(meta.studyUid, [i]);
  });
  return m;
}

const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * The destination must be a new or empty folder inside a real one (an export never overwrites or merges), and the SR
 * folder a real folder: checked before the job starts, as a recursive mkdir into /proc never returns.
 */
function checkDestination(out: string, o: ExportOptions): string {
  if (o.srFolder) checkFolder('export: srFolder', o.srFolder);
  return checkNewFolder('export', out);
}

/** A fresh temporary folder beside the destination (same file system, so the final rename is atomic); leftovers of crashed exports are removed. */
function partialDir(dest: string): string {
  const parent = path.dirname(dest);
  const prefix = `.${path.basename(dest)}.partial-`;
  for (const name of fs.readdirSync(parent)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    let alive = false;
    try { process.kill(pid, 0); alive = pid !== process.pid; } catch { /* no such process: a crashed export */ }
    if (!alive) fs.rmSync(path.join(parent, name), { recursive: true, force: true });
  }
  return path.join(parent, `${prefix}${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
}

/** fsync every file and folder, so the rename publishes complete files even after a power cut. */
function syncTree(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) syncTree(p);
    else { const fd = fs.openSync(p, 'r'); fs.fsyncSync(fd); fs.closeSync(fd); }
  }
  const fd = fs.openSync(dir, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

/** Copies the SRs into another folder, each under a temporary name renamed when complete (a watcher never sees half a file). */
function sendSrs(exportDir: string, folder: string): { folder: string; files: number; error: string } {
  const target = path.resolve(folder);
  let n = 0;
  try {
    fs.mkdirSync(target, { recursive: true });
    for (const name of fs.readdirSync(path.join(exportDir, 'sr'))) {
      const tmp = path.join(target, `.${name}.partial`);
      fs.copyFileSync(path.join(exportDir, 'sr', name), tmp);
      fs.renameSync(tmp, path.join(target, name));
      n++;
    }
    return { folder: target, files: n, error: '' };
  } catch (e) {
    return { folder: target, files: n, error: `sending the SRs to ${target} failed after ${n} file(s): ${(e as Error).message}; the export itself is complete` };
  }
}
