import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { generateDemoData } from '../../src/main/demo/demo-data.ts';
import type { JobProgress } from '../../src/shared/contract.ts';
import { FIXTURE_DIR, fixtures, importInto, tempDir } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const cli = (...args: string[]): string =>
  execFileSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, LIGHTBOX_HOME: tempDir() } });

describe('import of a mixed folder through the CLI', () => {
  const project = tempDir();
  const summary = JSON.parse(cli('import', FIXTURE_DIR, '--project', project, '--json')) as {
    patients: number; studies: number; series: number; instances: number; imageInstances: number; nonImageInstances: number;
    rejected: { path: string; reason: string }[]; nonDicomFiles: number; scannedFiles: number; newFiles: number;
  };
  const all = fixtures();

  it('prints the documented JSON shape', () => {
    for (const k of ['patients', 'studies', 'series', 'instances', 'imageInstances', 'nonImageInstances', 'rejected']) expect(summary).toHaveProperty(k);
  });

  it('accounts for every file: imported, non-image, rejected with a reason, or skipped as foreign', () => {
    expect(summary.scannedFiles).toBe(all.length);
    expect(summary.imageInstances).toBe(all.filter((f) => f.expect === 'image').length);
    expect(summary.nonImageInstances).toBe(all.filter((f) => f.expect === 'non-image').length);
    expect(summary.nonDicomFiles).toBe(all.filter((f) => f.expect === 'not-dicom').length);
    const rejected = new Map(summary.rejected.map((r) => [path.relative(FIXTURE_DIR, r.path), r.reason]));
    for (const f of all.filter((x) => x.expect === 'rejected')) {
      expect(rejected.get(f.file), f.file).toMatch(f.reason!);
    }
    for (const reason of rejected.values()) expect(reason).not.toMatch(/\[object|undefined/);
    expect(rejected.size).toBe(all.filter((f) => f.expect === 'rejected').length);
    expect(summary.patients).toBe(1);
    expect(summary.studies).toBe(1);
  });

  it('indexes every transfer syntax with the syntax recorded', () => {
    const db = new Database(path.join(project, 'lightbox.db'), { readonly: true });
    const syntaxes = new Set(db.prepare('SELECT transfer_syntax FROM instances').pluck().all() as string[]);
    for (const f of all.filter((x) => x.transferSyntax)) expect(syntaxes, f.file).toContain(f.transferSyntax);
    const mf = db.prepare("SELECT frames FROM instances i JOIN series s ON s.id = i.series_pk WHERE s.description = 'multiframe'").pluck().get();
    expect(mf).toBe(3);
    const name = db.prepare('SELECT name FROM patients').pluck().get();
    expect(name).toBe('Fixture^Pätient'); // UTF-8 (ISO_IR 192) decoded
    db.close();
  });

  it('re-scans incrementally: nothing is read again unless it changed', () => {
    const again = JSON.parse(cli('import', FIXTURE_DIR, '--project', project, '--json')) as typeof summary;
    expect(again.newFiles).toBe(0);
    expect(again.instances).toBe(summary.instances);
    expect(again.rejected.length).toBe(summary.rejected.length);
  });

  it('info reports the same counts', () => {
    const info = JSON.parse(cli('info', '--project', project, '--json')) as typeof summary;
    expect(info.instances).toBe(summary.instances);
    expect(info.rejected.length).toBe(summary.rejected.length);
  });

  it('fails clearly for a folder that does not exist, exit code non-zero', () => {
    expect(() => cli('import', '/no/such/folder', '--project', project, '--json')).toThrow(/does not exist/);
  });
});

describe('incremental changes, cancel and resume', () => {
  it('picks up changed and deleted files', async () => {
    const src = tempDir();
    generateDemoData(src, { count: 12, ctSeries: 0 });
    const app = Lightbox.open(tempDir(), { create: true });
    const first = await importInto(app, src);
    expect(first.instances).toBe(12);
    const files = fs.readdirSync(path.join(src, 'cxr'), { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
    fs.rmSync(files[0]!);
    fs.writeFileSync(files[1]!, 'broken now'); // changed: becomes a rejected file
    const second = await importInto(app, src);
    expect(second.newFiles).toBe(1);
    expect(second.instances).toBe(10);
    expect(second.rejected.map((r) => r.path)).toEqual([files[1]]);
    await app.close();
  });

  it('a cancelled import resumes where it stopped and ends with the same index', async () => {
    const src = tempDir();
    generateDemoData(src, { count: 30, ctSeries: 0 });
    const app = Lightbox.open(tempDir(), { create: true });
    const started = await app.imports.start({ folder: src }, { batchSize: 5, progressIntervalMs: 0 });
    app.on((name, p) => { if (name === 'job.progress' && (p as JobProgress).phase === 'reading' && (p as JobProgress).done >= 10) app.imports.cancel(started.jobId); });
    const partial = await started.done;
    expect(partial.cancelled).toBe(true);
    expect(partial.instances).toBeGreaterThan(0);
    expect(partial.instances).toBeLessThan(30);
    const rest = await importInto(app, src);
    expect(rest.newFiles).toBe(30 - partial.newFiles);
    expect(rest.instances).toBe(30);
    await app.close();
  });

  it('survives kill -9 mid-import: committed batches stay, the job is marked interrupted, a re-run completes', async () => {
    const src = tempDir();
    generateDemoData(src, { count: 400, ctSeries: 0 });
    const project = tempDir();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), 'import', src, '--project', project, '--json'], { stdio: 'ignore', env: { ...process.env, LIGHTBOX_HOME: tempDir() } });
    const dbFile = path.join(project, 'lightbox.db');
    let killedAt = -1;
    let exited = false;
    const exit = new Promise((r) => child.once('exit', () => { exited = true; r(null); }));
    // Polls until the first batch is committed (however long a busy machine takes to start the child) or the child ends.
    while (killedAt < 0 && !exited) {
      await new Promise((r) => setTimeout(r, 10));
      if (!fs.existsSync(dbFile)) continue;
      try {
        const db = new Database(dbFile, { readonly: true, fileMustExist: true });
        const n = db.prepare('SELECT count(*) FROM files').pluck().get() as number;
        db.close();
        if (n > 0) { child.kill('SIGKILL'); killedAt = n; }
      } catch { /* database still being created */ }
    }
    await exit;
    expect(killedAt).toBeGreaterThan(0);
    const app = Lightbox.open(project);
    const info = app.store.info();
    if (info.instances < 400) expect(info.interruptedImport?.root).toBe(fs.realpathSync(src));
    const done = await importInto(app, src);
    expect(done.instances).toBe(400);
    expect(done.rejected).toEqual([]);
    expect(app.store.info().interruptedImport).toBeNull();
    await app.close();
  }, 120_000);
});
