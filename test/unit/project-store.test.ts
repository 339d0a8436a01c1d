// A project that cannot be written, is locked or sits on a full disk (issue 16 item 8): a message naming the folder
// and what to do instead of a stack trace, and a read-only project still opens for viewing.
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { FIXTURE_DIR, tempDir } from '../helpers.ts';
import { CLI, REPO_ROOT } from '../serve-process.ts';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const STACK = /^\s+at /m;

let project: string;
let home: string;

beforeAll(async () => {
  project = tempDir();
  home = tempDir('lightbox-home-');
  const app = Lightbox.open(project, { create: true });
  await app.imports.run({ folder: FIXTURE_DIR });
  await app.close();
});

function node(args: string[], opts: { uid?: number; env?: NodeJS.ProcessEnv; wrap?: string[] } = {}): SpawnSyncReturns<string> {
  const argv = [...(opts.wrap ?? []), process.execPath, ...args];
  return spawnSync(argv[0]!, argv.slice(1), {
    cwd: path.dirname(project),
    env: { ...process.env, LIGHTBOX_HOME: home, ...opts.env },
    encoding: 'utf8',
    // A lock or a frozen disk must fail the test, not hang it.
    timeout: 30_000,
    killSignal: 'SIGKILL',
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
}

const canUnshare = isRoot && process.platform === 'linux' && spawnSync('unshare', ['-m', 'true']).status === 0;
/** Runs the command in a private mount namespace where `dir` is bind-mounted read-only (EROFS even for root). */
const readOnlyBind = (dir: string): string[] => ['unshare', '-m', 'sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', dir];

/** As root the check runs as "nobody", who must be able to run Node from this checkout (a clone in a 0700 folder cannot). */
function nobodySkip(): string {
  if (!isRoot) return '';
  const probe = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(path.join(import.meta.dirname, '../../bin/lightbox.mjs'))})`], { uid: NOBODY });
  return probe.status === 0 ? '' : 'user "nobody" cannot read this checkout (its folder is not readable by others)';
}

/** Each way a project can be read-only: a read-only mount, and a folder this user may not write. */
const variants: { name: string; skip: string; run(args: string[], env?: NodeJS.ProcessEnv): SpawnSyncReturns<string>; before?(): void; after?(): void }[] = [
  {
    name: 'on a read-only mount',
    skip: canUnshare ? '' : 'needs root and unshare(1) for a private read-only bind mount',
    run: (args, env) => node(args, { wrap: readOnlyBind(project), env }),
  },
  {
    name: 'in a folder this user may not write',
    skip: process.platform === 'win32' ? 'POSIX permissions only' : nobodySkip(),
    // Root writes whatever the mode bits say, so as root the check runs as "nobody" (chmod alone would not stop it).
    run: (args, env) => node(args, { env, ...(isRoot ? { uid: NOBODY } : {}) }),
    before: () => {
      fs.chmodSync(project, 0o555);
      fs.chmodSync(path.join(project, 'lightbox.db'), 0o444);
      fs.chmodSync(home, 0o777);
    },
    after: () => {
      fs.chmodSync(project, 0o755);
      fs.chmodSync(path.join(project, 'lightbox.db'), 0o644);
    },
  },
];

// What the workstation reads for viewing, and one write, through the same calls the hosts make.
const VIEW_SCRIPT = `
const { Lightbox } = await import(process.env.APP_URL);
const app = Lightbox.open(process.env.PROJECT);
const out = {};
out.info = await app.call('project.info', {});
out.worklist = await app.call('worklist.query', {});
const studyId = out.worklist.result.rows[0].id;
out.study = await app.call('study.get', { studyId });
out.preview = await app.call('export.preview', {});
out.note = await app.call('labels.note', { level: 'study', itemId: studyId, note: 'seen' });
await app.close();
process.stdout.write(JSON.stringify(out));
`;

describe.each(variants)('a read-only project $name', (v) => {
  beforeAll(() => { if (!v.skip) v.before?.(); });
  afterAll(() => { if (!v.skip) v.after?.(); });

  it.skipIf(!!v.skip)(`"lightbox info" shows it, saying it is read-only${v.skip ? ` (skipped: ${v.skip})` : ''}`, () => {
    const r = v.run([CLI, 'info', '--project', project, '--json']);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { readOnly: boolean; studies: number };
    expect(info.readOnly).toBe(true);
    expect(info.studies).toBe(1);
    expect(r.stderr).toContain(`${project} is read-only here; opened for viewing`);
  });
  it.skipIf(!!v.skip)('opens for viewing (info, worklist, study, export preview) and refuses a write naming the folder', () => {
    const r = v.run(['--input-type=module', '-e', VIEW_SCRIPT], { APP_URL: pathToFileURL(path.join(REPO_ROOT, 'src/main/app.ts')).href, PROJECT: project });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, { ok: boolean; result?: { readOnly?: boolean; total?: number }; error?: { code: string; message: string } }>;
    for (const k of ['info', 'worklist', 'study', 'preview']) expect(out[k]!.ok, `${k}: ${JSON.stringify(out[k])}`).toBe(true);
    expect(out.info!.result!.readOnly).toBe(true);
    expect(out.worklist!.result!.total).toBe(1);
    expect(out.note!.ok).toBe(false);
    expect(out.note!.error!.code).toBe('io');
    expect(out.note!.error!.message).toContain(`${project} is read-only here`);
  });
});

describe('a locked project', () => {
  it('"lightbox info" says which project is locked and what to do, without a stack', () => {
    const lock = new Database(path.join(project, 'lightbox.db'));
    try {
      lock.exec('BEGIN EXCLUSIVE');
      const r = node([CLI, 'info', '--project', project]);
      expect(r.signal, 'killed by the timeout: it hung').toBeNull();
      expect(r.stderr).not.toMatch(STACK);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`lightbox info: project: ${project} is locked by another program`);
    } finally {
      lock.close();
    }
  });
  it('a call that writes answers "busy", naming the project', async () => {
    const app = Lightbox.open(project);
    const lock = new Database(path.join(project, 'lightbox.db'));
    try {
      const studyId = app.store.worklist({}).rows[0]!.id;
      lock.exec('BEGIN EXCLUSIVE');
      const r = await app.call('labels.note', { level: 'study', itemId: studyId, note: 'while locked' });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('busy');
        expect(r.error.message).toContain(`${project} is locked by another program`);
      }
    } finally {
      lock.close();
      await app.close();
    }
  });
});

describe('a project on a full disk', () => {
  it('a write that does not fit says the disk holding the project is full', async () => {
    const app = Lightbox.open(project);
    try {
      const studyId = app.store.worklist({}).rows[0]!.id;
      // SQLite's own ceiling on the database size: past it, a write fails as on a full disk (SQLITE_FULL).
      const pages = app.store.db.pragma('page_count', { simple: true }) as number;
      app.store.db.pragma(`max_page_count = ${pages + 2}`);
      let failed: { code: string; message: string } | undefined;
      for (let i = 0; i < 100 && !failed; i++) {
        const r = await app.call('labels.note', { level: 'study', itemId: studyId, note: `${i} ${'x'.repeat(4900)}` });
        if (!r.ok) failed = r.error;
      }
      expect(failed?.code).toBe('io');
      expect(failed?.message).toContain(`the disk holding ${project} is full`);
    } finally {
      await app.close();
    }
  });
  it.skipIf(!canUnshare)(`"lightbox import" onto a full disk says so, naming the project${canUnshare ? '' : ' (skipped: needs root and unshare(1) for a tiny private tmpfs)'}`, () => {
    const disk = tempDir('lightbox-full-');
    const target = path.join(disk, 'p');
    const r = node([CLI, 'import', FIXTURE_DIR, '--project', target], {
      wrap: ['unshare', '-m', 'sh', '-c', 'mount -t tmpfs -o size=128k tmpfs "$0" && exec "$@"', disk],
    });
    expect(r.signal, 'killed by the timeout: it hung').toBeNull();
    expect(r.stderr).not.toMatch(STACK);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`lightbox import: .*${target}.* full`));
  });
});
