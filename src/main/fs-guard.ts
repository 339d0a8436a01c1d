// Paths that users hand us (API calls, the CLI) are checked here before a service reads or writes them. Some paths
// do not fail, they hang: reading a FIFO blocks until a writer comes (forever, freezing the host), /dev/zero never
// ends (the host is OOM-killed in seconds), and a recursive mkdir under /proc spins forever (procfs answers ENOENT for
// a new child, Node's mkdir -p then "creates" the parent, gets EEXIST, and retries the child). So: only regular files
// (of a bounded size) and real folders are accepted, nothing in the kernel's /proc or /sys trees, and only absolute
// paths: an API call comes from a page or a script whose working folder is not the server's, so a relative path would
// silently mean "relative to wherever Lightbox was started". The CLI resolves its arguments against its own working
// folder before calling, which is what a user at a shell expects.
import fs from 'node:fs';
import path from 'node:path';
import { LightboxError } from '../shared/contract.ts';

/**
 * The largest label file (CSV, JSONL or SR) that labels.import reads. A table is read as one string, and V8's
 * longest string is just under 2^29 characters (536,870,888): 512 MB (decimal) stays below it for any encoding.
 */
export const MAX_LABEL_FILE_BYTES = 512 * 1000 ** 2;

/** Kernel pseudo file systems: their files are not data, and some of their paths hang mkdir or read forever. */
const SYSTEM_TREES = ['/proc', '/sys'];
// statfs f_type of procfs and sysfs (linux/magic.h), for those trees mounted somewhere else (a container's bind).
const SYSTEM_FS_TYPES = new Set([0x9fa0, 0x62656572]);

/** What a stat says a path is, in words a user knows. */
function kindOf(st: fs.Stats): string {
  if (st.isFile()) return 'a file';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a file or folder';
}

/** `p` as an absolute, normalised path; a relative path is refused. */
export function absolutePath(what: string, p: string): string {
  if (p.includes('\0')) throw new LightboxError('bad-request', `${what}: the path holds a NUL character`);
  if (!path.isAbsolute(p)) {
    throw new LightboxError('bad-request', `${what}: "${p}" is a relative path; give an absolute one (calls have no working folder; the CLI resolves against yours)`);
  }
  return path.resolve(p);
}

/** The path itself when it exists, else its nearest existing ancestor, with symbolic links resolved. */
function nearestReal(p: string): string {
  let q = p;
  while (!fs.existsSync(q)) {
    const up = path.dirname(q);
    if (up === q) break;
    q = up;
  }
  try {
    return fs.realpathSync(q);
  } catch {
    return q;
  }
}

function refuseSystemTree(what: string, p: string): void {
  const real = nearestReal(p);
  let system = SYSTEM_TREES.some((root) => real === root || real.startsWith(`${root}/`));
  if (!system && process.platform === 'linux') {
    try {
      system = SYSTEM_FS_TYPES.has(fs.statfsSync(real).type);
    } catch { /* statfs refused (permissions): the path checks below still apply */ }
  }
  if (system) throw new LightboxError('bad-request', `${what}: ${p} is inside the kernel's ${real.startsWith('/sys') ? '/sys' : '/proc'} tree, which holds no files to read or write; choose a folder on a disk`);
}

function statOrNull(what: string, p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw explainFsError(e, what) ?? e;
  }
}

/** An existing regular file of at most `maxBytes`, or a real folder: what `labels.import` and the like may read. */
export function checkReadable(what: string, target: string, maxBytes: number): { path: string; kind: 'file' | 'folder' } {
  const p = absolutePath(what, target);
  refuseSystemTree(what, p);
  const st = statOrNull(what, p);
  if (!st) throw new LightboxError('not-found', `${what}: ${p} does not exist; check the path`);
  if (st.isDirectory()) return { path: p, kind: 'folder' };
  if (!st.isFile()) throw new LightboxError('bad-request', `${what}: ${p} is ${kindOf(st)}, not a regular file or folder; choose a file on a disk`);
  if (st.size > maxBytes) throw new LightboxError('bad-request', `${what}: ${p} is ${formatBytes(st.size)}, over the ${formatBytes(maxBytes)} limit; split it into smaller files`);
  return { path: p, kind: 'file' };
}

/** An existing real folder: a folder to read, such as an import's source. */
export function checkExistingFolder(what: string, target: string): string {
  const p = absolutePath(what, target);
  refuseSystemTree(what, p);
  const st = statOrNull(what, p);
  if (!st) throw new LightboxError('not-found', `${what}: ${p} does not exist; choose a folder`);
  if (!st.isDirectory()) throw new LightboxError('bad-request', `${what}: ${p} is ${kindOf(st)}, not a folder; choose the folder that holds it`);
  return p;
}

/**
 * A folder to be created, or an existing empty one, inside a real folder: an export's destination. The parent must
 * exist (nothing is created "into nowhere"), so a mistyped path fails at once with its name.
 */
export function checkNewFolder(what: string, target: string): string {
  const p = absolutePath(what, target);
  refuseSystemTree(what, p);
  const st = statOrNull(what, p);
  if (st) {
    if (!st.isDirectory() || fs.readdirSync(p).length > 0) {
      throw new LightboxError('bad-request', `${what}: ${p} already exists and is not an empty folder; choose a new folder (exports never overwrite)`);
    }
    return p;
  }
  checkParent(what, p);
  return p;
}

/** An existing real folder, or one to be created inside one (a folder the SRs are also sent to). */
export function checkFolder(what: string, target: string): string {
  const p = absolutePath(what, target);
  refuseSystemTree(what, p);
  const st = statOrNull(what, p);
  if (st) {
    if (!st.isDirectory()) throw new LightboxError('bad-request', `${what}: ${p} is ${kindOf(st)}, not a folder; choose a folder`);
    return p;
  }
  checkParent(what, p);
  return p;
}

function checkParent(what: string, p: string): void {
  const parent = path.dirname(p);
  const up = statOrNull(what, parent);
  if (!up) throw new LightboxError('bad-request', `${what}: the folder ${parent} (where ${path.basename(p)} would go) does not exist; create it first`);
  if (!up.isDirectory()) throw new LightboxError('bad-request', `${what}: ${parent} (where ${path.basename(p)} would go) is ${kindOf(up)}, not a folder; choose a folder`);
}

/**
 * Reads a regular file of at most `maxBytes`. Opened without blocking and checked on the open descriptor, so a file
 * swapped for a FIFO or a device after an earlier check is refused too, instead of blocking or reading forever.
 */
export function readRegularFile(what: string, p: string, maxBytes: number): Buffer {
  const flags = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0);
  let fd: number;
  try {
    fd = fs.openSync(p, flags);
  } catch (e) {
    throw explainFsError(e, what) ?? e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new LightboxError('bad-request', `${what}: ${p} is ${kindOf(st)}, not a regular file; choose a file on a disk`);
    if (st.size > maxBytes) throw new LightboxError('bad-request', `${what}: ${p} is ${formatBytes(st.size)}, over the ${formatBytes(maxBytes)} limit; split it into smaller files`);
    // Read what the stat promised and no more: a file that grows while we read cannot run us out of memory.
    const buf = Buffer.allocUnsafe(st.size);
    let at = 0;
    while (at < buf.length) {
      const n = fs.readSync(fd, buf, at, buf.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return buf.subarray(0, at);
  } finally {
    fs.closeSync(fd);
  }
}

const FS_ERRORS: Record<string, (where: string) => string> = {
  ENOSPC: (where) => `the disk holding ${where} is full; free some space and try again`,
  EDQUOT: (where) => `the disk quota for ${where} is used up; free some space and try again`,
  EROFS: (where) => `${where} is on a read-only file system; choose a writable folder`,
  EACCES: (where) => `no permission for ${where}; fix its permissions or choose another path`,
  EPERM: (where) => `the system does not allow this for ${where}; fix its permissions or choose another path`,
  ENOENT: (where) => `${where} does not exist; check the path`,
  ENOTDIR: (where) => `a part of ${where} is not a folder; check the path`,
  EISDIR: (where) => `${where} is a folder where a file was expected`,
  ENAMETOOLONG: (where) => `the path ${where} is too long; choose a shorter one`,
  ELOOP: (where) => `${where} goes round a loop of symbolic links; check the links`,
  EMFILE: (where) => `too many files are open to use ${where}; close other programs and try again`,
  EIO: (where) => `the disk failed to read or write ${where} (I/O error); check the disk`,
};

/** An operating system error (ENOSPC, EACCES, …) as an expected failure naming the path and the fix; null for others. */
export function explainFsError(e: unknown, what: string, fallbackPath = ''): LightboxError | null {
  if (e instanceof LightboxError) return e;
  const err = e as NodeJS.ErrnoException | null;
  const explain = typeof err?.code === 'string' ? FS_ERRORS[err.code] : undefined;
  if (!explain) return null;
  const where = typeof err!.path === 'string' ? err!.path : fallbackPath || 'the file';
  const code = err!.code === 'ENOENT' ? 'not-found' : err!.code === 'EMFILE' ? 'busy' : 'io';
  return new LightboxError(code, `${what}: ${explain(where)} (${err!.code})`);
}

function formatBytes(n: number): string {
  return n >= 1000 ** 2 ? `${Math.round(n / 1000 ** 2)} MB` : `${n} bytes`;
}
