// The project store: the only code that touches the SQLite driver. A project is a folder holding lightbox.db
// (WAL) plus derived files; source DICOM files are never written.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { JobRepository } from './job-repo.ts';
import { migrations, schemaVersion } from './schema.ts';
import { DB_FILE, cannotWrite, explainStoreError } from './store-errors.ts';
import { LightboxError } from '../../shared/contract.ts';
import type {
  ProjectInfo,
  RejectedFile,
  SeriesRow,
  StudyRow,
  WorklistQuery,
  WorklistRow,
} from '../../shared/contract.ts';
import { queryWorklist, readStudy } from './worklist-queries.ts';

export { DB_FILE, explainStoreError } from './store-errors.ts';

export interface PatientAttrs { patientId: string; name: string; birthDate: string; sex: string }
export interface StudyAttrs { studyUid: string; date: string; time: string; description: string; accession: string; studyId: string }
export interface SeriesAttrs { seriesUid: string; modality: string; bodyPart: string; description: string; seriesNumber: number | null }
export interface InstanceAttrs {
  sopUid: string;
  sopClass: string;
  instanceNumber: number | null;
  rows: number | null;
  columns: number | null;
  frames: number;
  bitsAllocated: number | null;
  photometric: string;
  transferSyntax: string;
  isImage: boolean;
}
export interface InstanceRecord { patient: PatientAttrs; study: StudyAttrs; series: SeriesAttrs; instance: InstanceAttrs }

/** `isNew`: the project holds no file at this path (its import knows), so writing it needs no lookup. */
export interface FileStat { path: string; root: string; size: number; mtimeMs: number; isNew?: boolean }
export type FileOutcome =
  | (FileStat & { status: 'imported'; record: InstanceRecord })
  | (FileStat & { status: 'rejected'; reason: string })
  | (FileStat & { status: 'not-dicom' });

/** A file seen before: what the last scan saw, and its rejection reason ('' unless it was rejected). */
export interface KnownFile { size: number; mtimeMs: number; rejected: string }

export interface InstanceFile { path: string; size: number; transferSyntax: string; isImage: boolean }

// A read-only project whose database cannot be opened in place is viewed from a copy in memory, up to this size.
const MAX_READ_ONLY_COPY = 1024 ** 3;

function patientKey(p: PatientAttrs): string {
  // PatientID is the identity inside one source; fall back to name+birth date when a file carries no ID.
  return p.patientId ? `id:${p.patientId}` : `name:${p.name}|${p.birthDate}`;
}

export class ProjectStore {
  readonly dir: string;
  readonly db: Database.Database;
  /** Opened without write access (a read-only folder, disk or snapshot): viewing works; every write is refused. */
  readonly readOnly: boolean;
  private closed = false;
  private jobRepo: JobRepository | null = null;

  private constructor(dir: string, db: Database.Database, readOnly = false) {
    this.dir = dir;
    this.db = db;
    this.readOnly = readOnly;
  }

  /**
   * Opens (creating when asked) the project in `dir`. Runs pending migrations. A project this user may not write
   * opens read-only for viewing; a locked, full or damaged one fails with a message naming the folder and the fix.
   */
  static open(dir: string, opts: { create?: boolean } = {}): ProjectStore {
    const abs = path.resolve(dir);
    const file = path.join(abs, DB_FILE);
    let db: Database.Database | undefined;
    try {
      if (!fs.existsSync(file)) {
        if (!opts.create) {
          throw new LightboxError('not-found', `project: ${abs} has no ${DB_FILE}; create it with "lightbox import <folder> --project ${abs}" or "lightbox demo --project ${abs}"`);
        }
        fs.mkdirSync(abs, { recursive: true });
      }
      db = new Database(file);
      // First, so that even switching a new database to WAL waits for another process opening it.
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      // FULL makes every commit durable (fsync) before we report it as saved.
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      const store = new ProjectStore(abs, db);
      store.migrate();
      // A job still marked running whose process died is recorded as interrupted, so it can be resumed; one whose
      // process is alive (another window, a CLI run) is left alone.
      store.jobs.markAbandoned();
      return store;
    } catch (e) {
      db?.close();
      if (cannotWrite(e, abs, file)) return ProjectStore.openReadOnly(abs, file);
      throw explainStoreError(e, abs) ?? e;
    }
  }

  private static openReadOnly(abs: string, file: string): ProjectStore {
    let db: Database.Database | undefined;
    try {
      try {
        db = new Database(file, { readonly: true, fileMustExist: true });
        db.pragma('busy_timeout = 5000');
        db.pragma('user_version');
      } catch (e) {
        db?.close();
        db = undefined;
        if (!(e instanceof Database.SqliteError && /^SQLITE_(CANTOPEN|READONLY)/.test(e.code))) throw e;
        // A WAL database that nobody has open has no -shm file, and SQLite cannot create one in a read-only folder
        // (better-sqlite3 is built without URI names, so "immutable=1" is not available). With no -wal file either,
        // every commit is in the database file, and a private in-memory copy of it reads the same.
        if (fs.existsSync(`${file}-wal`)) {
          throw new LightboxError('io', `project: ${abs} is read-only and its last changes are still in ${DB_FILE}-wal; open it once with write access (or copy the folder somewhere writable) to view it`);
        }
        const size = fs.statSync(file).size;
        if (size > MAX_READ_ONLY_COPY) {
          throw new LightboxError('io', `project: ${abs} is read-only and its ${DB_FILE} (${Math.round(size / 2 ** 20)} MB) is too large to view from a copy in memory; copy the folder somewhere writable and open the copy`);
        }
        const bytes = fs.readFileSync(file);
        // Header bytes 18 and 19 say "WAL"; an in-memory database must say "rollback journal" to be read at all.
        bytes[18] = 1;
        bytes[19] = 1;
        db = new Database(bytes, { readonly: true });
      }
      const store = new ProjectStore(abs, db, true);
      store.migrate();
      return store;
    } catch (e) {
      db?.close();
      throw explainStoreError(e, abs) ?? e;
    }
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > schemaVersion) {
      throw new LightboxError('io', `project: ${this.dir} was written by a newer Lightbox (schema ${current} > ${schemaVersion}); update Lightbox to open it`);
    }
    if (current < schemaVersion && this.readOnly) {
      throw new LightboxError('io', `project: ${this.dir} is read-only and was made by an older Lightbox (schema ${current} < ${schemaVersion}); open it once with write access to upgrade it, or copy the folder somewhere writable`);
    }
    for (let v = current; v < schemaVersion; v++) {
      const sql = migrations[v];
      if (sql === undefined) continue;
      // IMMEDIATE, and the version read again inside: another process opening the same new project may have
      // applied this step while we waited for the lock.
      this.db.transaction(() => {
        if ((this.db.pragma('user_version', { simple: true }) as number) !== v) return;
        this.db.exec(sql);
        this.db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
    if (current === 0) {
      const name = path.basename(this.dir);
      this.db.prepare('INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?), (?, ?)').run('name', name, 'created_at', new Date().toISOString());
    }
  }

  /** Jobs, and the lease each running one holds on its kind. */
  get jobs(): JobRepository {
    return (this.jobRepo ??= new JobRepository(this.db));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  name(): string {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'name'").get() as { value: string } | undefined;
    return row?.value ?? path.basename(this.dir);
  }

  /** A project setting kept in the database (the active model, say), so every process opening the project sees it. */
  setting(key: string): string | null {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(`setting:${key}`) as { value: string } | undefined;
    return row?.value ?? null;
  }

  setSetting(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(`setting:${key}`, value);
  }

  counts(): Omit<ProjectInfo, 'dir' | 'name' | 'schemaVersion' | 'readOnly' | 'interruptedImport'> {
    const one = (sql: string): number => (this.db.prepare(sql).pluck().get() as number | undefined) ?? 0;
    return {
      patients: one('SELECT count(*) FROM patients WHERE id IN (SELECT patient_pk FROM studies)'),
      studies: one('SELECT count(*) FROM studies'),
      series: one('SELECT count(*) FROM series'),
      instances: one('SELECT count(*) FROM instances'),
      imageInstances: one('SELECT count(*) FROM instances WHERE is_image = 1'),
      nonImageInstances: one('SELECT count(*) FROM instances WHERE is_image = 0'),
      rejectedFiles: one("SELECT count(*) FROM files WHERE status = 'rejected'"),
    };
  }

  info(): ProjectInfo {
    const job = this.jobs.interrupted<{ root?: string }>('import');
    const interruptedImport = job ? { jobId: job.id, root: job.params.root ?? '' } : null;
    return { dir: this.dir, name: this.name(), schemaVersion, readOnly: this.readOnly, ...this.counts(), interruptedImport };
  }

  // ---- import ----

  /** The folders imported into this project, most files first. */
  importRoots(limit = 10): string[] {
    return (this.db.prepare('SELECT root FROM files GROUP BY root ORDER BY count(*) DESC LIMIT ?').raw().all(limit) as [string][]).map((r) => r[0]);
  }

  /** The files already seen under `root`, for incremental re-scan. */
  knownFiles(root: string): Map<string, KnownFile> {
    const map = new Map<string, KnownFile>();
    const rows = this.db.prepare("SELECT path, size, mtime_ms, CASE WHEN status = 'rejected' THEN reason ELSE '' END FROM files WHERE root = ?").raw().iterate(root) as Iterable<[string, number, number, string]>;
    for (const [p, size, mtimeMs, rejected] of rows) map.set(p, { size, mtimeMs, rejected });
    return map;
  }

  /** Whether files below `root` are held under another root (a parent folder imported before, or a child). */
  hasFilesOfOtherRootsUnder(root: string): boolean {
    const below = root.endsWith(path.sep) ? root : root + path.sep;
    // Paths below `below` sort between it and the same prefix with its last character incremented.
    const end = below.slice(0, -1) + String.fromCharCode(below.charCodeAt(below.length - 1) + 1);
    return this.db.prepare('SELECT 1 FROM files WHERE path >= ? AND path < ? AND root <> ? LIMIT 1').pluck().get(below, end, root) !== undefined;
  }

  /**
   * Writes one batch of import outcomes in one transaction; returns outcomes turned into rejections (duplicates).
   * The common file costs three statements: its lookup, its row and its instance. The patient, study and series of
   * a batch are written once each (files of a series arrive together), and a duplicate SOP Instance UID is found by
   * the instance insert itself rather than by a lookup before it.
   */
  writeBatch(outcomes: readonly FileOutcome[]): RejectedFile[] {
    const late: RejectedFile[] = [];
    const st = this.statements();
    const patients = new Map<string, { pk: number; name: string }>();
    const studies = new Map<string, number>();
    const series = new Map<string, number>();
    this.db.transaction(() => {
      for (const o of outcomes) {
        // A changed file replaces what it held before.
        const prev = o.isNew ? undefined : st.fileByPath.get(o.path) as number | undefined;
        if (prev !== undefined) st.deleteInstanceByFile.run(prev);
        const fileId = st.upsertFile.get(o.path, o.root, o.size, Math.trunc(o.mtimeMs), o.status, o.status === 'rejected' ? o.reason : '') as number;
        if (o.status !== 'imported') continue;
        const r = o.record;
        const key = patientKey(r.patient);
        let patient = patients.get(key);
        // The upsert keeps the latest name: written again only when a file of the batch names the patient differently.
        if (patient?.name !== r.patient.name) {
          patient = { pk: st.upsertPatient.get(key, r.patient.patientId, r.patient.name, r.patient.birthDate, r.patient.sex) as number, name: r.patient.name };
          patients.set(key, patient);
        }
        let studyPk = studies.get(r.study.studyUid);
        if (studyPk === undefined) {
          studyPk = st.upsertStudy.get(r.study.studyUid, patient.pk, r.study.date, r.study.time, r.study.description, r.study.accession, r.study.studyId) as number;
          studies.set(r.study.studyUid, studyPk);
        }
        let seriesPk = series.get(r.series.seriesUid);
        if (seriesPk === undefined) {
          seriesPk = st.upsertSeries.get(r.series.seriesUid, studyPk, r.series.modality, r.series.bodyPart, r.series.description, r.series.seriesNumber) as number;
          series.set(r.series.seriesUid, seriesPk);
        }
        const i = r.instance;
        const inserted = st.insertInstance.run(i.sopUid, seriesPk, fileId, i.sopClass, i.instanceNumber, i.rows, i.columns, i.frames, i.bitsAllocated, i.photometric, i.transferSyntax, i.isImage ? 1 : 0, o.size);
        if (inserted.changes === 1) continue;
        const dup = st.instanceFileBySop.get(i.sopUid) as string;
        const reason = `duplicate SOP Instance UID ${i.sopUid}, already imported from ${dup}; skipped`;
        st.rejectFile.run(reason, fileId);
        late.push({ path: o.path, reason });
      }
    })();
    return late;
  }

  /** Files under `root` that disappeared since the last scan: forget them and what they held. */
  forgetMissing(root: string, present: ReadonlySet<string>): number {
    const gone: number[] = [];
    const rows = this.db.prepare('SELECT id, path FROM files WHERE root = ?').raw().iterate(root) as Iterable<[number, string]>;
    for (const [id, p] of rows) if (!present.has(p)) gone.push(id);
    if (gone.length === 0) return 0;
    const delInst = this.db.prepare('DELETE FROM instances WHERE file_pk = ?');
    const delFile = this.db.prepare('DELETE FROM files WHERE id = ?');
    this.db.transaction(() => {
      for (const id of gone) {
        delInst.run(id);
        delFile.run(id);
      }
      this.pruneEmpty();
    })();
    return gone.length;
  }

  private pruneEmpty(): void {
    this.db.exec(`
      DELETE FROM series WHERE id NOT IN (SELECT DISTINCT series_pk FROM instances);
      DELETE FROM studies WHERE id NOT IN (SELECT DISTINCT study_pk FROM series);
      DELETE FROM patients WHERE id NOT IN (SELECT DISTINCT patient_pk FROM studies);`);
  }

  rejectedFiles(limit = 1_000_000, root?: string): { total: number; files: RejectedFile[] } {
    const where = root === undefined ? "status = 'rejected'" : "status = 'rejected' AND root = ?";
    const args = root === undefined ? [] : [root];
    const total = this.db.prepare(`SELECT count(*) FROM files WHERE ${where}`).pluck().get(...args) as number;
    const files = this.db.prepare(`SELECT path, reason FROM files WHERE ${where} ORDER BY path LIMIT ?`).all(...args, limit) as RejectedFile[];
    return { total, files };
  }

  private cached: ReturnType<ProjectStore['prepareStatements']> | undefined;
  private statements() {
    this.cached ??= this.prepareStatements();
    return this.cached;
  }
  private prepareStatements() {
    const db = this.db;
    return {
      fileByPath: db.prepare('SELECT id FROM files WHERE path = ?').pluck(),
      deleteInstanceByFile: db.prepare('DELETE FROM instances WHERE file_pk = ?'),
      instanceFileBySop: db.prepare('SELECT f.path FROM instances i JOIN files f ON f.id = i.file_pk WHERE i.sop_uid = ?').pluck(),
      rejectFile: db.prepare("UPDATE files SET status = 'rejected', reason = ? WHERE id = ?"),
      upsertFile: db.prepare(`INSERT INTO files(path, root, size, mtime_ms, status, reason) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(path) DO UPDATE SET root = excluded.root, size = excluded.size, mtime_ms = excluded.mtime_ms,
        status = excluded.status, reason = excluded.reason RETURNING id`).pluck(),
      upsertPatient: db.prepare(`INSERT INTO patients(patient_key, patient_id, name, birth_date, sex) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(patient_key) DO UPDATE SET name = excluded.name RETURNING id`).pluck(),
      upsertStudy: db.prepare(`INSERT INTO studies(study_uid, patient_pk, study_date, study_time, description, accession, study_id)
        VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(study_uid) DO UPDATE SET study_uid = excluded.study_uid RETURNING id`).pluck(),
      upsertSeries: db.prepare(`INSERT INTO series(series_uid, study_pk, modality, body_part, description, series_number)
        VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(series_uid) DO UPDATE SET series_uid = excluded.series_uid RETURNING id`).pluck(),
      insertInstance: db.prepare(`INSERT INTO instances(sop_uid, series_pk, file_pk, sop_class, instance_number, rows, columns,
        frames, bits_allocated, photometric, transfer_syntax, is_image, file_size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(sop_uid) DO NOTHING`),
    };
  }

  /** How many files of a root have this status. */
  fileStatusCount(root: string, status: FileOutcome['status']): number {
    return this.db.prepare('SELECT count(*) FROM files WHERE root = ? AND status = ?').pluck().get(root, status) as number;
  }

  // ---- worklist and viewer (queries in worklist-queries.ts) ----

  worklist(q: WorklistQuery): { total: number; rows: WorklistRow[]; modalities: string[] } {
    return queryWorklist(this.db, q);
  }

  study(studyId: number): { study: StudyRow; series: SeriesRow[] } {
    return readStudy(this.db, studyId);
  }

  instanceFile(instanceId: number): InstanceFile {
    const row = this.db.prepare(`SELECT f.path, f.size, i.transfer_syntax AS transferSyntax, i.is_image AS isImage
        FROM instances i JOIN files f ON f.id = i.file_pk WHERE i.id = ?`).get(instanceId) as (Omit<InstanceFile, 'isImage'> & { isImage: number }) | undefined;
    if (!row) throw new LightboxError('not-found', `instance ${instanceId} is not in this project`);
    return { ...row, isImage: row.isImage === 1 };
  }
}
