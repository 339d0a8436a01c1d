// Export: the curated label set as CSV and JSONL (one row per labelled item and label group), DICOM SR (one per
// study), optional de-identified DICOM copies, a manifest with the SHA-256 of every file, and SHA256SUMS, written
// as a job of the runner into an atomic folder (it appears complete or not at all). The rows come from
// export-rows.ts, each format from its writer.
import fs from 'node:fs';
import path from 'node:path';
import type { CallParsed, ExportOptions, ExportPreview, ExportSummary, JobProgress } from '../../shared/contract.ts';
import type { LabelSchema } from '../../shared/label-schema.ts';
import { uidFrom } from '../dicom/dicom-writer.ts';
import { checkFolder, checkNewFolder } from '../fs-guard.ts';
import type { JobContext, JobEnd, JobRunner } from '../jobs/index.ts';
import { ExportRepository } from '../project/export-repo.ts';
import type { ProjectStore } from '../project/project-store.ts';
import { AtomicFolder } from './atomic-folder.ts';
import { writeDeidentifiedCopy } from './deidentify.ts';
import { collectRows, copyPlan, rowsByStudy, short, summarise } from './export-rows.ts';
import { buildManifest, sha256, sha256Sums } from './manifest.ts';
import type { HashedFile } from './manifest.ts';
import { studyReport } from './sr-reports.ts';
import { csvTable, jsonlTable } from './table-writers.ts';

const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

export class ExportService {
  readonly repo: ExportRepository;
  private readonly store: ProjectStore;
  private readonly schema: () => LabelSchema;
  private readonly annotator: () => string;
  private readonly jobs: JobRunner;
  private last: ExportSummary | null = null;
  private lastError = '';

  constructor(store: ProjectStore, schema: () => LabelSchema, annotator: () => string, jobs: JobRunner) {
    this.store = store;
    this.repo = new ExportRepository(store.db);
    this.schema = schema;
    this.annotator = annotator;
    this.jobs = jobs;
  }

  preview(o: ExportOptions): ExportPreview {
    return summarise(collectRows(this.repo, this.schema(), o));
  }

  /** Runs an export as a job: progress events, cancellable; `done` resolves with the summary (cancelled ones too). */
  start({ out, options }: CallParsed<'export.start'>): { jobId: number; done: Promise<ExportSummary> } {
    // Checked before the job starts: a recursive mkdir into /proc never returns.
    if (options.srFolder) checkFolder('export: srFolder', options.srFolder);
    const dest = checkNewFolder('export', out);
    this.lastError = '';
    return this.jobs.start({
      kind: 'export',
      params: { out: dest, options },
      // Exports are not resumed: a crashed one left only a .partial folder, which the next export beside it removes.
      resumes: () => false,
      initial: { phase: 'exporting', done: 0, total: 0, message: 'Exporting: reading the labels' },
      run: async (job) => {
        try {
          const end = await this.write(dest, options, job);
          this.last = end.result;
          return end;
        } catch (e) {
          this.lastError = e instanceof Error ? e.message : String(e);
          throw e;
        }
      },
    });
  }

  cancel(jobId: number): boolean {
    return this.jobs.cancel('export', jobId);
  }

  status(): { job: JobProgress | null; last: ExportSummary | null; error: string } {
    return { job: this.jobs.current('export'), last: this.last, error: this.lastError };
  }

  private async write(dest: string, o: ExportOptions, job: JobContext): Promise<JobEnd<ExportSummary>> {
    const t0 = performance.now();
    const progress = (done: number, total: number, message: string, force = false): void => job.progress({ phase: 'exporting', done, total, message }, force);
    const c = collectRows(this.repo, this.schema(), o);
    const summary = summarise(c);
    await yieldNow();
    const studies = o.formats.includes('sr') ? rowsByStudy(c) : new Map();
    const copies = o.dicomCopies && c.pz ? copyPlan(this.repo, c, c.pz) : [];
    const total = c.rows.length + studies.size + copies.length;
    let done = 0;
    const tick = (n: number, what: string, force = false): void => {
      done += n;
      progress(done, total, `Exporting: ${what} (${done} of ${total})`, force);
    };
    const folder = AtomicFolder.begin(dest);
    const signal = job.signal;
    try {
      if (o.formats.includes('csv')) {
        folder.put('labels.csv', csvTable(c.rows));
        // The tables are built in one go (fast), but the host's other calls get a turn between the steps.
        await yieldNow();
      }
      if (o.formats.includes('jsonl')) {
        folder.put('labels.jsonl', jsonlTable(c.rows));
        await yieldNow();
      }
      tick(c.rows.length, 'label rows', true);
      const ids = { seriesUid: uidFrom(`lightbox-export:${job.jobId}:${dest}:${Date.now()}`), now: new Date().toISOString(), deidentified: !!c.pz };
      const schema = this.schema();
      for (const [studyUid, rows] of studies) {
        if (signal.aborted) break;
        try {
          folder.put(`sr/${short(studyUid)}.dcm`, studyReport(this.repo, rows, schema, c.pz, ids));
        } catch (e) {
          c.failures.push({ item: `study ${rows[0]!.cells.study_uid}`, reason: `SR not written: ${(e as Error).message}` });
        }
        tick(1, 'structured reports');
        await yieldNow();
      }
      for (const cp of copies) {
        if (signal.aborted) break;
        try {
          writeDeidentifiedCopy(cp.src, folder.pathOf(cp.dest), c.pz!, cp.patientKey);
          folder.added(cp.dest);
        } catch (e) {
          // The source path names folders (often patient names or IDs): never write it into a de-identified export.
          const code = (e as NodeJS.ErrnoException).code;
          c.failures.push({ item: `image ${cp.sop}`, reason: code ? `its source file cannot be read (${code}); re-import its folder` : (e as Error).message });
        }
        tick(1, 'de-identified copies');
        if (done % 16 === 0) await yieldNow();
      }
      if (signal.aborted) {
        folder.discard();
        return {
          result: { ...summary, out: dest, files: [], failures: c.failures, srSent: null, cancelled: true, seconds: (performance.now() - t0) / 1000 },
          cancelled: true,
          message: 'Export cancelled; nothing was written',
        };
      }
      const hashed: HashedFile[] = [];
      for (const name of folder.files()) {
        const bytes = folder.read(name);
        hashed.push({ path: name, bytes: bytes.length, sha256: sha256(bytes) });
        if (hashed.length % 64 === 0) await yieldNow();
      }
      const manifest = buildManifest({ collected: c, options: o, summary, schema, projectName: this.store.name(), exportedBy: this.annotator(), now: ids.now }, hashed);
      const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
      folder.put('manifest.json', manifestBytes);
      const manifestFile = { path: 'manifest.json', bytes: manifestBytes.length, sha256: sha256(manifestBytes) };
      folder.put('SHA256SUMS', sha256Sums([...hashed, manifestFile]));
      folder.publish();
      this.repo.logExport({ annotator: this.annotator(), out: dest, options: o, rows: c.rows.length, manifestSha256: manifestFile.sha256 });
      const srSent = o.srFolder && studies.size ? sendSrs(dest, o.srFolder) : null;
      return {
        result: { ...summary, out: dest, files: [...hashed, manifestFile], failures: c.failures, srSent, cancelled: false, seconds: (performance.now() - t0) / 1000 },
        cancelled: false,
        message: `Exported ${c.rows.length} rows to ${dest}`,
      };
    } catch (e) {
      folder.discard();
      throw e;
    }
  }
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
