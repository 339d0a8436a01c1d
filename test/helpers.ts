import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Fixture } from './fixtures/make-fixtures.ts';

export const FIXTURE_DIR = path.resolve(import.meta.dirname, '../test-output/fixtures');

export function fixtures(): Fixture[] {
  const list = JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, 'fixtures.json'), 'utf8')) as (Omit<Fixture, 'reason'> & { reason?: string })[];
  return list.map((f) => ({ ...f, ...(f.reason ? { reason: new RegExp(f.reason) } : {}) }) as Fixture);
}

export function tempDir(prefix = 'lightbox-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
