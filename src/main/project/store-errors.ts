// Why a project could not be opened or written, as an expected failure that names the folder and the fix: a
// read-only folder (which opens for viewing instead), a lock held by another program, a full disk, a damaged file.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LightboxError } from '../../shared/contract.ts';
import type { ErrorCode } from '../../shared/contract.ts';
import { explainFsError } from '../fs-guard.ts';

/** The project's database, in its folder. */
export const DB_FILE = 'lightbox.db';

/** Whether opening failed because this user may not write the project (its folder, database file or disk). */
export function cannotWrite(e: unknown, dir: string, file: string): boolean {
  if (!fs.existsSync(file)) return false;
  if (e instanceof Database.SqliteError) {
    if (e.code.startsWith('SQLITE_READONLY')) return true;
    if (e.code !== 'SQLITE_CANTOPEN') return false;
  } else if (!['EACCES', 'EPERM', 'EROFS'].includes((e as NodeJS.ErrnoException).code ?? '')) {
    return false;
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    fs.accessSync(file, fs.constants.W_OK);
    return false;
  } catch {
    return true;
  }
}

const STORE_ERRORS: [RegExp, ErrorCode, (dir: string) => string][] = [
  [/^SQLITE_(BUSY|LOCKED)/, 'busy', (dir) => `${dir} is locked by another program (another Lightbox window, "lightbox serve" or a database tool is writing to it); close that program or wait for it, then try again`],
  [/^SQLITE_READONLY/, 'io', (dir) => `${dir} is read-only here (open for viewing only); labelling, imports and exports need write access: fix the folder's permissions or copy it somewhere writable`],
  [/^SQLITE_FULL/, 'io', (dir) => `the disk holding ${dir} is full, so the last change was not saved; free some space and try again`],
  [/^SQLITE_(CORRUPT|NOTADB)/, 'io', (dir) => `${path.join(dir, DB_FILE)} is damaged or is not a Lightbox database; restore the project folder from a backup`],
  [/^SQLITE_CANTOPEN/, 'io', (dir) => `${path.join(dir, DB_FILE)} cannot be opened; check that the folder is there and readable`],
  [/^SQLITE_IOERR/, 'io', (dir) => `reading or writing ${path.join(dir, DB_FILE)} failed; check the disk (and that it is not full or gone)`],
];

/**
 * A database or file-system failure of the project in `dir` as an expected one that names the folder and the fix;
 * null for anything else (a bug, which keeps its stack).
 */
export function explainStoreError(e: unknown, dir: string): LightboxError | null {
  if (e instanceof LightboxError) return e;
  if (e instanceof Database.SqliteError) {
    const hit = STORE_ERRORS.find(([code]) => code.test(e.code));
    return hit ? new LightboxError(hit[1], `project: ${hit[2](dir)} (${e.code})`) : null;
  }
  return explainFsError(e, 'project', dir);
}
