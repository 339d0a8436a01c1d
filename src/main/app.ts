// The Lightbox core that both hosts adapt: services for one open project, one call dispatcher validated against
// the shared contract, and one event stream. Plain Node: no electron import, so the CLI and tests load it too.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LightboxError, calls, parseCall } from '../shared/contract.ts';
import type { ApiError, CallName, CallResponse, EventName, EventPayload } from '../shared/contract.ts';
import { inflateDataSet } from './dicom/dicom-writer.ts';
import { TS } from './dicom/header.ts';
import { ImportService } from './dicom/import-service.ts';
import { EmbedService } from './inference/embed-service.ts';
import { LabelService } from './labels/label-service.ts';
import { ExportService } from './export/export-service.ts';
import { importLabels } from './export/import-labels.ts';
import type { ExportOptions } from '../shared/contract.ts';
import type { Level } from '../shared/label-schema.ts';
import type { QueueName } from '../shared/contract.ts';
import { readTags } from './dicom/tags.ts';
import { ProjectStore } from './project/project-store.ts';

export type EventListener = <N extends EventName>(name: N, payload: EventPayload<N>) => void;

export function lightboxHome(): string {
  return process.env.LIGHTBOX_HOME ?? path.join(os.homedir(), '.lightbox');
}

interface Recent { dir: string; name: string; openedAt: string }

function rememberProject(dir: string, name: string): void {
  const file = path.join(lightboxHome(), 'recent.json');
  let list: Recent[] = [];
  try {
    list = JSON.parse(fs.readFileSync(file, 'utf8')) as Recent[];
    if (!Array.isArray(list)) list = [];
  } catch { /* first run, or an unreadable list: start a new one */ }
  list = [{ dir, name, openedAt: new Date().toISOString() }, ...list.filter((r) => r.dir !== dir)].slice(0, 20);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(list, null, 2));
  } catch { /* the recent list is a convenience; never fail opening a project over it */ }
}

function recentProjects(): Recent[] {
  try {
    const list = JSON.parse(fs.readFileSync(path.join(lightboxHome(), 'recent.json'), 'utf8')) as Recent[];
    return Array.isArray(list) ? list.filter((r) => typeof r.dir === 'string') : [];
  } catch {
    return [];
  }
}

export function toApiError(e: unknown): ApiError {
  if (e instanceof LightboxError) return { code: e.code, message: e.message };
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

export class Lightbox {
  readonly store: ProjectStore;
  readonly imports: ImportService;
  readonly embeddings: EmbedService;
  readonly labels: LabelService;
  readonly exports: ExportService;
  private readonly listeners = new Set<EventListener>();

  private constructor(store: ProjectStore) {
    this.store = store;
    this.imports = new ImportService(
      store,
      (p) => this.emit('job.progress', p),
      () => this.emit('project.changed', { reason: 'import' }),
    );
    this.embeddings = new EmbedService(store, lightboxHome(), (p) => {
      this.emit('job.progress', p);
      // New vectors: suggestions and queues are rebuilt over them.
      if (p.kind === 'embed' && p.phase === 'done') this.labels.requestRefresh('embeddings');
    });
    this.labels = new LabelService(store, this.embeddings, lightboxHome(), (version, reason) => this.emit('labels.changed', { version, reason }));
    this.exports = new ExportService(store, () => this.labels.schema().schema, () => this.labels.profile().annotator, (p) => this.emit('job.progress', p));
  }

  static open(projectDir: string, opts: { create?: boolean } = {}): Lightbox {
    const store = ProjectStore.open(projectDir, opts);
    rememberProject(store.dir, store.name());
    return new Lightbox(store);
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

  /** The one entry point for the renderer's calls: unknown input in, a serialisable response out. */
  async call(name: string, input: unknown): Promise<CallResponse<unknown>> {
    const parsed = parseCall(name, input);
    if (!parsed.ok) return parsed;
    try {
      return { ok: true, result: await this.dispatch(parsed.name, parsed.input) };
    } catch (e) {
      return { ok: false, error: toApiError(e) };
    }
  }

  private async dispatch(name: CallName, input: unknown): Promise<unknown> {
    // Inputs were parsed by the contract's schema above; each handler reads its own shape.
    const i = input as Record<string, unknown>;
    switch (name) {
      case 'project.info': return this.store.info();
      case 'project.recent': return recentProjects();
      case 'import.start': {
        const { jobId } = await this.imports.start(i.folder as string);
        return { jobId };
      }
      case 'import.cancel': return { cancelled: this.imports.cancel(i.jobId as number) };
      case 'import.current': return this.imports.current();
      case 'import.report': return this.store.rejectedFiles(i.limit as number);
      case 'worklist.query': return this.store.worklist(input as Parameters<ProjectStore['worklist']>[0]);
      case 'study.get': return this.store.study(i.studyId as number);
      case 'instance.tags': return readTags(this.store.instanceFile(i.instanceId as number).path);
      case 'embed.status': return this.embeddings.status();
      case 'embed.start': {
        const { jobId } = await this.embeddings.start({ model: i.model as string, provider: i.provider as string, batch: i.batch as number });
        return { jobId };
      }
      case 'embed.pause': return { ok: this.embeddings.pause(i.jobId as number) };
      case 'embed.resume': return { ok: this.embeddings.resume(i.jobId as number) };
      case 'embed.cancel': return { ok: this.embeddings.cancel(i.jobId as number) };
      case 'embed.failures': return this.embeddings.failures(i.limit as number);
      case 'embed.pixels': return this.embedPixels(input as { width: number; height: number; channels: 1 | 3 | 4; data: string; neighbours: number });
      case 'labels.schema': return { ...this.labels.schema(), usage: this.labels.usage() };
      case 'labels.setSchema': return this.labels.setSchema(i.schema);
      case 'labels.profile': return this.labels.profile();
      case 'labels.setProfile': return this.labels.setProfile(input as { name?: string; blinded?: boolean; autoAdvance?: boolean });
      case 'labels.status': return this.labels.status();
      case 'labels.queue': return this.labels.queue(i.group as string, i.queue as QueueName, i.offset as number, i.limit as number);
      case 'labels.item': return this.labels.item(i.level as Level, i.itemId as number, i.reveal as boolean);
      case 'labels.set': return this.labels.set(i.level as Level, i.itemId as number, i.group as string, i.labels as string[], i.revealed as boolean);
      case 'labels.accept': return this.labels.accept(i.level as Level, i.itemId as number, i.group as string, i.labels as string[]);
      case 'labels.acceptMany': return this.labels.acceptMany(i.group as string, i.items as { level: Level; itemId: number; labels: string[] }[]);
      case 'labels.reject': return this.labels.reject(i.level as Level, i.itemId as number, i.group as string, i.label as string);
      case 'labels.clear': return this.labels.clear(i.level as Level, i.itemId as number, i.group as string);
      case 'labels.flag': return this.labels.flag(i.level as Level, i.itemId as number, i.flagged as boolean);
      case 'labels.note': return this.labels.note(i.level as Level, i.itemId as number, i.note as string);
      case 'labels.undo': return this.labels.undo();
      case 'labels.redo': return this.labels.redo();
      case 'labels.history': return this.labels.history(i.studyId as number);
      case 'labels.stats': return this.labels.stats();
      case 'labels.import': return this.importLabels(i.path as string, i.overwrite as boolean);
      case 'export.preview': return this.exports.preview(input as ExportOptions);
      case 'export.start': return { jobId: this.exports.start(i.out as string, i.options as ExportOptions).jobId };
      case 'export.cancel': return { ok: this.exports.cancel(i.jobId as number) };
      case 'export.status': return this.exports.status();
    }
    const never: never = name;
    throw new LightboxError('unknown-call', `unknown call ${String(never)}`);
  }

  importLabels(target: string, overwrite: boolean): ReturnType<typeof importLabels> {
    return importLabels(this.labels, this.exports.repo, target, overwrite);
  }

  private async embedPixels(i: { width: number; height: number; channels: 1 | 3 | 4; data: string; neighbours: number }): Promise<unknown> {
    const data = Buffer.from(i.data, 'base64');
    const r = await this.embeddings.embedPixels({ width: i.width, height: i.height, channels: i.channels, data }, i.neighbours);
    const context = this.embeddings.repo.instanceContext(r.neighbours.map((n) => n.instanceId));
    return {
      model: r.pkg.manifest.name,
      modelSha256: r.pkg.sha256,
      provider: r.engine.provider,
      dim: r.vector.length,
      embedding: Array.from(r.vector),
      neighbours: r.neighbours.flatMap((n) => {
        const c = context.get(n.instanceId);
        return c ? [{ instanceId: n.instanceId, score: n.score, ...c }] : [];
      }),
    };
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

  async close(): Promise<void> {
    await this.imports.stop();
    await this.exports.stop();
    await this.labels.close();
    await this.embeddings.stop();
    this.listeners.clear();
    this.store.close();
  }
}

export const callNames = Object.keys(calls) as CallName[];
