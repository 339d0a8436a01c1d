import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lightbox } from '../src/main/app.ts';
import { generateDemoProjectData } from '../src/main/demo/demo-data.ts';
import type { DemoOptions, DemoTruth } from '../src/main/demo/demo-data.ts';
import { importFolder } from '../src/main/dicom/import-service.ts';
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
  await importFolder(app.store, dataDir);
  return { app, project, dataDir, truth };
}
