// What a host serves: the open project (a Lightbox) and the switch to another one. Hosts hold the workstation, not
// a project, so "open another project" closes one Lightbox and opens the next behind the same host, its token and
// its windows; listeners stay subscribed across the switch.
import fs from 'node:fs';
import path from 'node:path';
import { LightboxError } from '../shared/contract.ts';
import type { AreaHandlers, CallResponse, ProjectInfo } from '../shared/contract.ts';
import { Lightbox } from './app.ts';
import type { EventListener } from './app.ts';

/** The part of a workstation a host uses. */
export interface HostedApp {
  call(name: string, input: unknown): Promise<CallResponse<unknown>>;
  on(listener: EventListener): () => void;
  openInstance: Lightbox['openInstance'];
  displayFrame: Lightbox['displayFrame'];
}

export class Workstation implements HostedApp {
  private current: Lightbox;
  private unwire: () => void = () => {};
  private readonly listeners = new Set<EventListener>();
  private switching = false;

  private constructor(first: Lightbox) {
    this.current = first;
    this.wire();
  }

  static open(dir: string, opts: { create?: boolean } = {}): Workstation {
    let ws: Workstation | null = null;
    const handlers: AreaHandlers<'workspace'> = { 'workspace.open': (i) => ws!.switchTo(i.dir, i.create) };
    ws = new Workstation(Lightbox.open(dir, { ...opts, handlers }));
    return ws;
  }

  get app(): Lightbox { return this.current; }

  private wire(): void {
    this.unwire = this.current.on((name, payload) => { for (const l of this.listeners) l(name, payload); });
  }

  call(name: string, input: unknown): Promise<CallResponse<unknown>> { return this.current.call(name, input); }

  on(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  openInstance(instanceId: number): ReturnType<Lightbox['openInstance']> { return this.current.openInstance(instanceId); }

  displayFrame(instanceId: number, frame: number): ReturnType<Lightbox['displayFrame']> { return this.current.displayFrame(instanceId, frame); }

  /** Opens `dir` in place of the current project; the current one stays open if the new one cannot be opened. */
  async switchTo(dir: string, create: boolean): Promise<ProjectInfo> {
    if (!path.isAbsolute(dir)) throw new LightboxError('bad-request', `workspace.open: "${dir}" is not an absolute path; choose the project folder with Browse…`);
    const target = path.resolve(dir);
    if (this.switching) throw new LightboxError('busy', 'workspace.open: a project is already being opened; wait for it');
    const running = this.runningJob();
    if (running) throw new LightboxError('busy', `workspace.open: ${running} is running in ${this.current.store.dir}; cancel it or let it finish before opening another project`);
    if (create && fs.existsSync(path.join(target, 'lightbox.db'))) create = false;
    if (create && fs.existsSync(target) && fs.readdirSync(target).length > 0) {
      throw new LightboxError('bad-request', `workspace.open: ${target} is not empty and holds no project; choose an empty or new folder for a new project`);
    }
    this.switching = true;
    try {
      const handlers: AreaHandlers<'workspace'> = { 'workspace.open': (i) => this.switchTo(i.dir, i.create) };
      const next = Lightbox.open(target, { create, handlers });
      const previous = this.current;
      this.unwire();
      this.current = next;
      this.wire();
      await previous.close();
      for (const l of this.listeners) l('project.changed', { reason: 'switched' });
      return next.store.info();
    } finally {
      this.switching = false;
    }
  }

  private runningJob(): string | null {
    if (this.current.imports.current()) return 'an import';
    if (this.current.embeddings.current()) return 'an embedding job';
    if (this.current.exports.status().job) return 'an export';
    return null;
  }

  close(): Promise<void> { return this.current.close(); }
}
