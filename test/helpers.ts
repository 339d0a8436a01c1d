import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lightbox } from '../src/main/app.ts';
import { generateDemoProjectData } from '../src/main/demo/demo-data.ts';
import type { DemoOptions, DemoTruth } from '../src/main/demo/demo-data.ts';
import type { ImportTuning } from '../src/main/dicom/import-service.ts';
import type { EmbedSummary, EmbedTuning } from '../src/main/inference/embed-service.ts';
import { calls } from '../src/shared/contract.ts';
import type { CallInput, ImportSummary } from '../src/shared/contract.ts';
import type { Fixture } from './fixtures/make-fixtures.ts';

export const FIXTURE_DIR = path.resolve(import.meta.dirname, '../test-output/fixtures');

export function fixtures(): Fixture[] {
  const list = JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, 'fixtures.json'), 'utf8')) as (Omit<Fixture, 'reason'> & { reason?: string })[];
  return list.map((f) => ({ ...f, ...(f.reason ? { reason: new RegExp(f.reason) } : {}) }) as Fixture);
}

export function tempDir(prefix = 'lightbox-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A new project over a freshly generated demo set: generated (then `beforeImport`), opened and imported. */
export async function openDemoProject(opts: DemoOptions, beforeImport?: (dataDir: string) => void): Promise<{ app: Lightbox; project: string; dataDir: string; truth: DemoTruth }> {
  const project = tempDir();
  const { dataDir, truth } = generateDemoProjectData(project, opts);
  beforeImport?.(dataDir);
  const app = Lightbox.open(project, { create: true });
  await importInto(app, dataDir);
  return { app, project, dataDir, truth };
}

/** Imports a folder into an open project as import.start does, and waits for the summary. */
export function importInto(app: Lightbox, folder: string, tuning?: ImportTuning): Promise<ImportSummary> {
  return app.imports.run({ folder }, tuning);
}

/** Runs an embedding job with embed.start's options (defaults filled in as the call fills them) to its end. */
export async function embedAll(app: Lightbox, input: CallInput<'embed.start'> = {}, tuning?: EmbedTuning): Promise<EmbedSummary> {
  return (await app.embeddings.start(calls['embed.start'].input.parse(input), tuning)).done;
}
