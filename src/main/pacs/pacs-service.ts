// The PACS area's service: configured servers, browse (QIDO-RS or C-FIND), retrieve as a job (WADO-RS or
// C-MOVE/C-GET) into `<project>/pacs-cache`, indexed by the normal import, and STOW-RS of SRs back to the server.
import fs from 'node:fs';
import path from 'node:path';
import { LightboxError } from '../../shared/contract.ts';
import type { JobProgress } from '../../shared/contract.ts';
import type { PacsQuery, PacsSeries, PacsServer, PacsServerView, PacsStudy, RetrieveRequest, RetrieveSummary } from '../../shared/pacs-contract.ts';
import { readHeader } from '../dicom/read-header.ts';
import type { ImportService } from '../dicom/import-service.ts';
import type { JobRunner } from '../jobs/index.ts';
import { PacsRepository } from '../project/pacs-repo.ts';
import type { ProjectStore } from '../project/project-store.ts';
import { DicomWebClient } from './dicomweb.ts';
import { DicomWebSource } from './dicomweb-source.ts';
import { DimseClient, DimseSource } from './dimse.ts';
import { PacsConfigStore } from './pacs-config.ts';
import { runRetrieve } from './retrieve.ts';
import type { RetrieveSource } from './retrieve.ts';

export const CACHE_FOLDER = 'pacs-cache';
/** The most files one pacs.stow call sends. */
const MAX_STOW_FILES = 10_000;

export interface RetrieveTuning {
  /** Test hook: runs after each instance is in the cache (a test stops the PACS here). */
  afterInstance?: (sopUid: string) => Promise<void> | void;
}

/**
 * What needs only the configured servers, not a project: the server list, echo, browse and STOW-RS (the CLI runs
 * these without --project).
 */
export class PacsBrowser {
  readonly config: PacsConfigStore;

  constructor(home: string) {
    this.config = new PacsConfigStore(home);
  }

  servers(): PacsServerView[] {
    return this.config.views();
  }

  configure(server: PacsServer): PacsServerView[] {
    this.config.save(server);
    return this.servers();
  }

  remove(name: string): PacsServerView[] {
    this.config.remove(name);
    return this.servers();
  }

  protected web(server: PacsServer): DicomWebClient {
    if (!server.dicomweb) throw new LightboxError('bad-request', `pacs: server "${server.name}" has no DICOMweb settings; use via "dimse" or add its DICOMweb URL`);
    return new DicomWebClient(server.dicomweb);
  }

  protected dimse(server: PacsServer): DimseClient {
    if (!server.dimse) throw new LightboxError('bad-request', `pacs: server "${server.name}" has no DIMSE settings; use via "dicomweb" or add its host, port and AE titles`);
    return new DimseClient(server.dimse);
  }

  protected via(server: PacsServer, via: 'dicomweb' | 'dimse' | undefined): 'dicomweb' | 'dimse' {
    return via ?? (server.dicomweb ? 'dicomweb' : 'dimse');
  }

  async echo(name: string): Promise<{ dicomweb: { ok: boolean; ms: number | null; message: string } | null; dimse: { ok: boolean; ms: number | null; message: string } | null }> {
    const server = this.config.get(name);
    const timed = async (f: () => Promise<void>, okMessage: string): Promise<{ ok: boolean; ms: number | null; message: string }> => {
      const t = performance.now();
      try {
        await f();
        return { ok: true, ms: Math.round(performance.now() - t), message: okMessage };
      } catch (e) {
        return { ok: false, ms: null, message: e instanceof Error ? e.message : String(e) };
      }
    };
    return {
      dicomweb: server.dicomweb ? await timed(() => this.web(server).echo(), `QIDO-RS answered at ${server.dicomweb.url}`) : null,
      dimse: server.dimse ? await timed(() => this.dimse(server).echo(), `C-ECHO answered by ${server.dimse.calledAet}@${server.dimse.host}:${server.dimse.port}`) : null,
    };
  }

  async query(q: PacsQuery): Promise<{ studies: PacsStudy[]; series: PacsSeries[] }> {
    const server = this.config.get(q.server);
    const via = this.via(server, q.via);
    if (q.level === 'series') {
      const studyUid = q.studyUid!;
      const series = via === 'dicomweb' ? await this.web(server).searchSeries(studyUid, q) : await this.dimse(server).findSeries(studyUid, q);
      return { studies: [], series };
    }
    const studies = via === 'dicomweb' ? await this.web(server).searchStudies(q) : await this.dimse(server).findStudies(q);
    return { studies, series: [] };
  }

  /** STOW-RS of every DICOM file in a folder (an export's SRs), one request per study. */
  async stow(name: string, folder: string): Promise<{ stored: { sopUid: string; studyUid: string }[]; failed: { file: string; reason: string }[] }> {
    const server = this.config.get(name);
    const client = this.web(server);
    let st: fs.Stats;
    try {
      st = fs.statSync(folder);
    } catch {
      throw new LightboxError('not-found', `pacs.stow: ${folder} does not exist; choose the folder that holds the SRs (an export folder)`);
    }
    const files = st.isDirectory()
      ? fs.readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.dcm')).map((e) => path.join(e.parentPath, e.name)).sort()
      : [folder];
    if (files.length === 0) throw new LightboxError('not-found', `pacs.stow: ${folder} holds no .dcm files; export with the SR format first`);
    if (files.length > MAX_STOW_FILES) throw new LightboxError('bad-request', `pacs.stow: ${folder} holds ${files.length} files, more than ${MAX_STOW_FILES}; send a smaller folder`);
    const failed: { file: string; reason: string }[] = [];
    const byStudy = new Map<string, { file: string; sop: string }[]>();
    for (const file of files) {
      const h = readHeader(file);
      if (h.kind !== 'dicom') {
        failed.push({ file, reason: h.kind === 'rejected' ? h.reason : `not DICOM (${h.why})` });
        continue;
      }
      const list = byStudy.get(h.record.study.studyUid) ?? [];
      list.push({ file, sop: h.record.instance.sopUid });
      byStudy.set(h.record.study.studyUid, list);
    }
    const stored: { sopUid: string; studyUid: string }[] = [];
    for (const [studyUid, list] of byStudy) {
      const r = await client.store(list.map((f) => fs.readFileSync(f.file)), studyUid);
      const ok = new Set(r.stored);
      for (const f of list) {
        if (ok.has(f.sop)) stored.push({ sopUid: f.sop, studyUid });
        else failed.push({ file: f.file, reason: r.failed.find((x) => x.sopUid === f.sop)?.reason ?? 'the server did not confirm it' });
      }
    }
    return { stored, failed };
  }
}

export class PacsService extends PacsBrowser {
  private readonly store: ProjectStore;
  private readonly jobs: JobRunner;
  private readonly imports: ImportService;
  private readonly repo: PacsRepository;
  private lastFailure: (RetrieveRequest & { reason: string }) | null = null;
  private lastSummary: RetrieveSummary | null = null;

  constructor(store: ProjectStore, jobs: JobRunner, imports: ImportService, home: string) {
    super(home);
    this.store = store;
    this.jobs = jobs;
    this.imports = imports;
    this.repo = new PacsRepository(store.db);
  }

  get cacheDir(): string {
    return path.join(this.store.dir, CACHE_FOLDER);
  }

  private source(server: PacsServer, via: 'dicomweb' | 'dimse'): RetrieveSource {
    return via === 'dicomweb' ? new DicomWebSource(this.web(server)) : new DimseSource(this.dimse(server));
  }

  /** Starts the retrieve job; the same request again resumes it (the cache keeps what arrived). */
  start(req: RetrieveRequest, tuning: RetrieveTuning = {}): { jobId: number; done: Promise<RetrieveSummary> } {
    const server = this.config.get(req.server);
    const via = this.via(server, req.via);
    const source = this.source(server, via);
    const request: RetrieveRequest = { server: req.server, items: req.items, via };
    const started = this.jobs.start({
      kind: 'pacs',
      params: request,
      progressIntervalMs: 250,
      initial: { phase: 'scanning', done: 0, total: 0, message: `Listing what to retrieve from ${source.label}` },
      run: (job) => runRetrieve(source, req.items, {
        cacheDir: this.cacheDir,
        repo: this.repo,
        importStudy: async (folder) => { await this.imports.run({ folder }); },
        afterInstance: tuning.afterInstance,
      }, job),
    });
    this.lastFailure = null;
    started.done.then((s) => { this.lastSummary = s; }, (e: unknown) => {
      this.lastFailure = { ...request, reason: e instanceof Error ? e.message : String(e) };
    });
    return started;
  }

  status(): { job: JobProgress | null; resumable: (RetrieveRequest & { reason: string }) | null; last: RetrieveSummary | null } {
    const job = this.jobs.current('pacs');
    const crashed = this.jobs.interrupted<RetrieveRequest>('pacs');
    const resumable = job ? null : this.lastFailure ?? (crashed ? { ...crashed.params, reason: 'interrupted (the app stopped while retrieving)' } : null);
    return { job, resumable, last: this.lastSummary };
  }

  cancel(jobId: number): boolean {
    return this.jobs.cancel('pacs', jobId);
  }
}
