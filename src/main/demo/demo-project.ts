// The built-in demo project: generated on first use (synthetic, PHI-free), imported, and given the demo label
// schema. Shared by the CLI, the browser host's start and the Electron shell, so none of them imports another.
import fs from 'node:fs';
import path from 'node:path';
import type { ImportSummary, JobProgress } from '../../shared/contract.ts';
import { DEMO_SCHEMA } from '../../shared/label-schema.ts';
import { Lightbox } from '../app.ts';
import { lightboxHome } from '../project/recent-projects.ts';
import { generateDemoProjectData } from './demo-data.ts';

export function defaultDemoProject(): string {
  return path.join(lightboxHome(), 'demo-project');
}

export interface DemoProjectOptions {
  count?: number | undefined;
  /** Images generated so far, then the import's progress. */
  onGenerate?: (done: number, total: number) => void;
  onImport?: (p: JobProgress) => void;
  signal?: AbortSignal;
}

/** Creates the demo project on first use (generate + import); later calls re-scan incrementally. */
export async function ensureDemoProject(dir: string, opts: DemoProjectOptions = {}): Promise<ImportSummary> {
  fs.mkdirSync(dir, { recursive: true });
  const { dataDir } = generateDemoProjectData(dir, {
    ...(opts.count !== undefined ? { count: opts.count } : {}),
    ...(opts.onGenerate ? { onProgress: opts.onGenerate } : {}),
  });
  const app = Lightbox.open(dir, { create: true });
  try {
    const onImport = opts.onImport;
    if (onImport) app.on((name, p) => { if (name === 'job.progress') onImport(p as JobProgress); });
    const { jobId, done } = await app.imports.start({ folder: dataDir });
    opts.signal?.addEventListener('abort', () => app.imports.cancel(jobId), { once: true });
    if (opts.signal?.aborted) app.imports.cancel(jobId);
    const summary = await done;
    // A demo project starts with a label schema (chest radiograph findings), so labelling works out of the box.
    if (app.labels.schema().version === 0) app.labels.setSchema({ schema: DEMO_SCHEMA });
    return summary;
  } finally {
    await app.close();
  }
}
