// The Lightbox core that both hosts adapt: services for one open project, the handlers of every contract call
// (each area exports its own; this file only merges them), and one event stream. Plain Node: no electron import,
// so the CLI and tests load it too.
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { LightboxError, calls, formatIssues, parseCall } from '../shared/contract.ts';
import type { ApiError, AreaHandlers, CallName, CallParsed, CallResponse, CallResult, EventName, EventPayload, Handler, Handlers } from '../shared/contract.ts';
import { inflateDataSet } from './dicom/dicom-writer.ts';
import { DisplayDecoder } from './dicom/display-decoder.ts';
import { dicomHandlers } from './dicom/handlers.ts';
import { TS } from './dicom/header.ts';
import { ImportService } from './dicom/import-service.ts';
import { EmbedService } from './inference/embed-service.ts';
import { embedHandlers } from './inference/handlers.ts';
import { searchHandlers } from './inference/text-handlers.ts';
import { ModelCatalog } from './inference/model-catalog.ts';
import { modelHandlers } from './inference/model-handlers.ts';
import { TextSearch } from './inference/text-search.ts';
import { LabelService, PromptWorkbench, compareModels, labelHandlers, modelPredictions, promptHandlers } from './labels/index.ts';
import { ExportService, exportHandlers } from './export/index.ts';
import { JobRunner } from './jobs/index.ts';
import { PacsService, pacsHandlers } from './pacs/index.ts';
import { folderHandlers } from './hosts/folder-browser.ts';
import { projectHandlers } from './project/handlers.ts';
import { MapService, mapHandlers } from './review/index.ts';
import { ReaderRepository } from './project/reader-repo.ts';
import { StudyService, gateModelViews, readerHandlers } from './readers/index.ts';
import { ProjectStore, explainStoreError } from './project/project-store.ts';
import { lightboxHome, rememberProject } from './project/recent-projects.ts';

export { lightboxHome } from './project/recent-projects.ts';

export type EventListener = <N extends EventName>(name: N, payload: EventPayload<N>) => void;

export function toApiError(e: unknown): ApiError {
  if (e instanceof LightboxError) return { code: e.code, message: e.message };
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

/**
 * Set in the test suite: every answer is checked against its call's result schema before it leaves, so a handler
 * that returns the wrong shape fails the test that called it.
 */
const checkResults = process.env.LIGHTBOX_CHECK_RESULTS === '1';

const singleProject: AreaHandlers<'workspace'> = {
  'workspace.open': () => { throw new LightboxError('bad-request', 'workspace.open: this Lightbox serves one project; open another with a host (lightbox serve, the desktop app)'); },
};

export class Lightbox {
  readonly store: ProjectStore;
  /** Every long task runs here: progress, pause/cancel, the jobs row, one writer per kind across processes. */
  readonly jobs: JobRunner;
  readonly imports: ImportService;
  readonly embeddings: EmbedService;
  readonly labels: LabelService;
  /** Free-text search over the embeddings with the model's text encoder. */
  readonly search: TextSearch;
  readonly exports: ExportService;
  /** The embedding map: 2-D layouts of the current model's vectors, computed as jobs and cached per model. */
  readonly map: MapService;
  /** Readers and reading studies (reads apart from the project's labels). */
  readonly studies: StudyService;
  /** Readers, reading studies and their reads (a replica of the shared store's when the labels are shared). */
  readonly readers: ReaderRepository;
  /** PACS servers, browse, retrieve into the project's cache, STOW-RS. */
  readonly pacs: PacsService;
  /** The installed model packages and the project's active model. */
  readonly models: ModelCatalog;
  private readonly handlers: Handlers;
  /** Decodes the frames the viewer draws, off this thread and with a time limit per frame. */
  private readonly display = new DisplayDecoder();
  private readonly listeners = new Set<EventListener>();

  private constructor(store: ProjectStore, workspace: AreaHandlers<'workspace'>) {
    this.store = store;
    this.jobs = new JobRunner(store.jobs, (p) => {
      this.emit('job.progress', p);
      // New vectors: suggestions and queues are rebuilt over them.
      if (p.kind === 'embed' && p.phase === 'done') {
        this.labels.requestRefresh('embeddings');
        void this.map.placeNew();
      }
    });
    this.imports = new ImportService(store, this.jobs, () => this.emit('project.changed', { reason: 'import' }));
    this.embeddings = new EmbedService(store, lightboxHome(), this.jobs);
    this.labels = new LabelService(store, this.embeddings, lightboxHome(), (version, reason) => this.emit('labels.changed', { version, reason }));
    this.exports = new ExportService(store, () => this.labels.schema().schema, () => this.labels.profile().annotator, this.jobs);
    this.search = new TextSearch(store, this.embeddings);
    this.map = new MapService(store, this.embeddings, this.labels, this.jobs);
    const readerRepo = new ReaderRepository(store.db);
    this.readers = readerRepo;
    // A shared label store shares the reader studies too: writes go to the server, others' arrive in the replica.
    const shared = this.labels.repo.shared;
    if (shared) {
      readerRepo.useRemote(shared);
      shared.attachReading(readerRepo, () => this.emit('project.changed', { reason: 'readers' }));
    }
    this.studies = new StudyService(readerRepo, () => this.labels.schema().schema, (level, uid) => {
      const itemId = this.labels.repo.idOf(level, uid);
      const ctx = itemId === undefined ? null : this.labels.repo.itemContext(level, itemId);
      return itemId === undefined || !ctx ? null : { itemId, ...ctx };
    });
    this.labels.items.modelBlinding = { hidden: (level, uid) => this.studies.modelHidden(level, uid), any: () => this.studies.anyModelHidden() };
    this.pacs = new PacsService(store, this.jobs, this.imports, lightboxHome());
    // Another active model: suggestions and queues are rebuilt over its vectors (the map and search ask per call).
    this.models = new ModelCatalog(this.embeddings, lightboxHome(), () => this.labels.requestRefresh('model'));
    this.handlers = gateModelViews({
      ...readerHandlers(this.studies, readerRepo, {
        predict: (g, items, folds) => modelPredictions(this.labels.repo, this.embeddings, g, items, folds),
        labelGroups: (level, uid, except) => Object.fromEntries(this.labels.schema().schema.groups.filter((g) => g.level === level && g.key !== except)
          .map((g) => [g.key, this.labels.repo.state(level, uid, g.key).labels])),
      }),
      ...projectHandlers(store),
      ...folderHandlers(store),
      ...dicomHandlers(store, this.imports),
      ...embedHandlers(this.embeddings),
      ...labelHandlers(this.labels),
      ...searchHandlers(this.search),
      ...promptHandlers(new PromptWorkbench(this.labels.schemas, this.search)),
      ...exportHandlers(this.exports, this.labels),
      ...pacsHandlers(this.pacs),
      ...mapHandlers(this.map),
      ...modelHandlers(this.models, (folds) => compareModels(this.labels.repo, this.labels.schemas.groups, this.embeddings, folds)),
      ...workspace,
    }, this.studies);
  }

  /** `handlers`: the workspace calls of the host serving this project (see Workstation); without one, none. */
  static open(projectDir: string, opts: { create?: boolean; handlers?: AreaHandlers<'workspace'> } = {}): Lightbox {
    const store = ProjectStore.open(projectDir, opts);
    rememberProject(store.dir, store.name());
    return new Lightbox(store, opts.handlers ?? singleProject);
  }

  on(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit<N extends EventName>(name: N, payload: EventPayload<N>): void {
    for (const l of this.listeners) {
      try {
        l(name, payload);
      } catch { /* a broken listener (closed socket) must not break the job */ }
    }
  }

  /** The one entry point for the hosts: unknown input in, a serialisable response out. */
  async call(name: string, input: unknown): Promise<CallResponse<unknown>> {
    const parsed = parseCall(name, input);
    if (!parsed.ok) return parsed;
    try {
      // parseCall checked the input against this call's schema, so it is this handler's parsed input.
      const handler = this.handlers[parsed.name] as Handler<CallName> as (i: unknown) => unknown;
      const result: unknown = await handler(parsed.input);
      if (checkResults) {
        const r = calls[parsed.name].result.safeParse(result);
        if (!r.success) return { ok: false, error: { code: 'internal', message: `${parsed.name} answered outside its result schema: ${formatIssues(r.error)}` } };
      }
      return { ok: true, result };
    } catch (e) {
      return { ok: false, error: toApiError(explainStoreError(e, this.store.dir) ?? e) };
    }
  }

  /** A typed call for in-process callers (the CLI): the same validation and handlers, errors thrown. */
  async invoke<N extends CallName>(name: N, input: CallParsed<N> | Record<string, unknown>): Promise<CallResult<N>> {
    const r = await this.call(name, input);
    if (!r.ok) throw new LightboxError(r.error.code, r.error.message);
    return r.result as CallResult<N>;
  }

  /**
   * Opens an indexed instance's file for a host to stream; the renderer only ever names the instance id.
   * Deflated data sets are served inflated (explicit VR little endian): Cornerstone's wadouri loader does not
   * draw them ("no pixel data in NATURALIZED", seen with @cornerstonejs/dicom-image-loader 5.14).
   */
  openInstance(instanceId: number): { stream: Readable; size: number } {
    const f = this.store.instanceFile(instanceId);
    let st: fs.Stats;
    try {
      st = fs.statSync(f.path);
    } catch {
      throw new LightboxError('not-found', `instance ${instanceId}: its file ${f.path} is gone; re-import the folder`);
    }
    if (f.transferSyntax === TS.deflatedLE) {
      const body = inflateDataSet(fs.readFileSync(f.path));
      return { stream: Readable.from([body]), size: body.length };
    }
    return { stream: fs.createReadStream(f.path), size: st.size };
  }

  /**
   * One frame (1-based) of an image instance as the viewer draws it: decoded here (see dicom/display-frame.ts) and
   * sent as an uncompressed single-frame DICOM. Throws a LightboxError naming the file and the reason otherwise.
   */
  async displayFrame(instanceId: number, frame: number): Promise<Buffer> {
    const f = this.store.instanceFile(instanceId);
    if (!f.isImage) throw new LightboxError('bad-request', `instance ${instanceId} (${f.path}) is not an image; open it as a document`);
    if (!fs.existsSync(f.path)) throw new LightboxError('not-found', `instance ${instanceId}: its file ${f.path} is gone; re-import the folder`);
    return this.display.frame(f.path, frame);
  }

  async close(): Promise<void> {
    // Jobs first: each stops at its next safe point and leaves its row finished before the store closes.
    await this.jobs.stop();
    await this.labels.close();
    await this.embeddings.stop();
    await this.display.close();
    await this.imports.close();
    this.listeners.clear();
    this.store.close();
  }
}
