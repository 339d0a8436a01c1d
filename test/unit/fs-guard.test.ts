// Paths that hung or killed the host (issue 16): an export into /proc, a label import from a FIFO or /dev/zero, and
// relative paths. The host runs in a child process, so a hang fails a call by its timeout instead of hanging the suite.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { FIXTURE_DIR, tempDir } from '../helpers.ts';
import { CLI, startServeProcess } from '../serve-process.ts';
import type { ServeProcess } from '../serve-process.ts';

const posix = process.platform !== 'win32';
let project: string;
let work: string;
let home: string;
let host: ServeProcess;

beforeAll(async () => {
  project = tempDir();
  work = tempDir('lightbox-paths-');
  home = tempDir('lightbox-home-');
  const app = Lightbox.open(project, { create: true });
  await app.imports.run({ folder: FIXTURE_DIR });
  await app.close();
  if (posix) {
    execFileSync('mkfifo', [path.join(work, 'labels.fifo')]);
    execFileSync('mkfifo', [path.join(work, 'fifo.csv')]);
  }
  host = await startServeProcess(project, { LIGHTBOX_HOME: home });
}, 60_000);
afterAll(async () => {
  await host?.stop();
});

/** The host still answers a cheap call: it is neither frozen nor dead. */
async function expectHostUp(): Promise<void> {
  const r = await host.call('project.info', {}, 5_000);
  expect(r.status, host.stderr()).toBe(200);
}

async function expectRefused(name: string, input: unknown, status: number, message: RegExp): Promise<void> {
  const r = await host.call(name, input, 10_000);
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.ok).toBe(false);
  expect(r.body.error?.message).toMatch(message);
  await expectHostUp();
}

describe('export.start checks its destination before the job starts', () => {
  it.runIf(fs.existsSync('/proc/self'))('refuses a folder under /proc (a recursive mkdir there spun forever)', async () => {
    await expectRefused('export.start', { out: '/proc/x' }, 400, /\/proc\/x.*\/proc tree/);
    await expectRefused('export.start', { out: '/proc/self/x/y' }, 400, /\/proc/);
  });
  it.runIf(fs.existsSync('/sys/kernel'))('refuses a folder under /sys', async () => {
    await expectRefused('export.start', { out: '/sys/kernel/x' }, 400, /\/sys/);
  });
  it('refuses a relative path, naming it', async () => {
    await expectRefused('export.start', { out: 'exports/today' }, 400, /"exports\/today" is a relative path/);
  });
  it('refuses a destination whose parent does not exist or is a file, naming the parent', async () => {
    await expectRefused('export.start', { out: path.join(work, 'no', 'such', 'x') }, 400, new RegExp(`${path.join(work, 'no', 'such')}.*does not exist`));
    fs.writeFileSync(path.join(work, 'plain'), 'x');
    await expectRefused('export.start', { out: path.join(work, 'plain', 'x') }, 400, /plain.*not a folder/);
  });
  it.runIf(fs.existsSync('/proc/self'))('refuses an SR folder under /proc before the export is written', async () => {
    await expectRefused('export.start', { out: path.join(work, 'with-sr'), options: { formats: ['sr'], srFolder: '/proc/x' } }, 400, /srFolder.*\/proc/);
    expect(fs.existsSync(path.join(work, 'with-sr'))).toBe(false);
  });
});

describe('labels.import reads only regular files and folders', () => {
  it.runIf(posix)('refuses a FIFO (reading it froze the host)', async () => {
    await expectRefused('labels.import', { path: path.join(work, 'labels.fifo') }, 400, /labels\.fifo is a named pipe \(FIFO\)/);
    await expectRefused('labels.import', { path: path.join(work, 'fifo.csv') }, 400, /fifo\.csv is a named pipe/);
  });
  it.runIf(fs.existsSync('/dev/zero'))('refuses /dev/zero (reading it got the host OOM-killed)', async () => {
    await expectRefused('labels.import', { path: '/dev/zero' }, 400, /\/dev\/zero is a character device/);
  });
  it.runIf(fs.existsSync('/proc/self'))('refuses files under /proc', async () => {
    await expectRefused('labels.import', { path: '/proc/self/environ' }, 400, /\/proc/);
  });
  it('refuses a relative path and names a missing file', async () => {
    await expectRefused('labels.import', { path: 'labels.csv' }, 400, /"labels\.csv" is a relative path/);
    await expectRefused('labels.import', { path: path.join(work, 'missing.csv') }, 404, /missing\.csv does not exist/);
  });
  it.runIf(posix)('skips FIFOs and devices met while walking an SR folder', async () => {
    const dir = path.join(work, 'srs');
    fs.mkdirSync(dir);
    execFileSync('mkfifo', [path.join(dir, 'pipe.dcm')]);
    fs.writeFileSync(path.join(dir, 'not-an-sr.dcm'), 'hello');
    const r = await host.call('labels.import', { path: dir }, 10_000);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const errors = (r.body.result as { errors: { where: string }[] }).errors;
    expect(errors.map((e) => path.basename(e.where))).toEqual(['not-an-sr.dcm']);
    await expectHostUp();
  });
});

describe('import.start reads only real folders', () => {
  it('refuses /proc, /sys, a relative path and a FIFO, naming each', async () => {
    if (fs.existsSync('/proc/self')) await expectRefused('import.start', { folder: '/proc' }, 400, /\/proc tree/);
    if (fs.existsSync('/sys/kernel')) await expectRefused('import.start', { folder: '/sys/kernel' }, 400, /\/sys tree/);
    await expectRefused('import.start', { folder: 'data' }, 400, /"data" is a relative path/);
    if (posix) await expectRefused('import.start', { folder: path.join(work, 'labels.fifo') }, 400, /is a named pipe \(FIFO\), not a folder/);
  });
});

describe('the CLI resolves paths against its own working folder', () => {
  const cli = (args: string[], cwd = work): ReturnType<typeof spawnSync> =>
    // Bounded: the export into /proc spun forever and ignored SIGTERM, so the check kills it outright.
    spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, LIGHTBOX_HOME: home }, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });

  it.runIf(fs.existsSync('/proc/self'))('lightbox export --out /proc/x fails at once with the path', () => {
    const r = cli(['export', '--project', project, '--out', '/proc/x']);
    expect(r.signal, 'killed by the timeout: it hung').toBeNull();
    expect(r.status).toBe(2);
    expect(String(r.stderr)).toMatch(/\/proc\/x/);
  });
  it('lightbox export --out <relative> writes into the working folder', () => {
    const r = cli(['export', '--project', project, '--out', 'rel-export', '--json']);
    expect(r.status, String(r.stderr)).toBe(0);
    expect(JSON.parse(String(r.stdout)).out).toBe(path.join(fs.realpathSync(work), 'rel-export'));
    expect(fs.existsSync(path.join(work, 'rel-export', 'manifest.json'))).toBe(true);
  });
  it('lightbox import <relative folder> imports from the working folder', () => {
    fs.cpSync(path.join(FIXTURE_DIR, 'syntax'), path.join(work, 'dicom'), { recursive: true });
    const other = tempDir();
    const r = cli(['import', 'dicom', '--project', other, '--json']);
    expect(r.status, String(r.stderr)).toBe(0);
    expect(JSON.parse(String(r.stdout)).instances).toBeGreaterThan(0);
  });
  it('lightbox import-labels <relative file> reads it from the working folder', () => {
    fs.writeFileSync(path.join(work, 'some.csv'), 'level,group,study_uid,label\nstudy,finding,1.2.3,normal\n');
    const r = cli(['import-labels', '--project', project, 'some.csv', '--json']);
    expect(JSON.parse(String(r.stdout)).source, String(r.stderr)).toBe(path.join(fs.realpathSync(work), 'some.csv'));
  });
});
