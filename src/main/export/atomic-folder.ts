// An export folder that appears complete or not at all: files are written into a hidden .partial folder beside the
// destination (same file system, so the final rename is atomic), fsynced, and renamed into place; a failed or
// cancelled export removes it, and the leftovers of a crashed one are removed by the next export beside it. The
// destination itself is checked (new or empty, inside a real folder) by fs-guard before the job starts.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** fsync every file and folder, so the rename publishes complete files even after a power cut. */
function syncTree(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) syncTree(p);
    else { const fd = fs.openSync(p, 'r'); fs.fsyncSync(fd); fs.closeSync(fd); }
  }
  const fd = fs.openSync(dir, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

export class AtomicFolder {
  readonly dest: string;
  /** The hidden folder being written. */
  readonly tmp: string;
  private readonly names: string[] = [];

  private constructor(dest: string, tmp: string) {
    this.dest = dest;
    this.tmp = tmp;
  }

  /** A fresh .partial folder beside `dest`; those of exports whose process is gone are removed first. */
  static begin(dest: string): AtomicFolder {
    const parent = path.dirname(dest);
    const prefix = `.${path.basename(dest)}.partial-`;
    for (const name of fs.readdirSync(parent)) {
      if (!name.startsWith(prefix)) continue;
      const pid = Number(name.slice(prefix.length).split('-')[0]);
      let alive = false;
      try { process.kill(pid, 0); alive = pid !== process.pid; } catch { /* no such process: a crashed export */ }
      if (!alive) fs.rmSync(path.join(parent, name), { recursive: true, force: true });
    }
    const tmp = path.join(parent, `${prefix}${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    fs.mkdirSync(tmp, { recursive: true });
    return new AtomicFolder(dest, tmp);
  }

  /** Where a file of this relative name goes (its folder created); `put` or `added` records it. */
  pathOf(name: string): string {
    const f = path.join(this.tmp, name);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    return f;
  }

  put(name: string, data: string | Buffer): void {
    fs.writeFileSync(this.pathOf(name), data);
    this.names.push(name);
  }

  /** Records a file written at pathOf(name) by someone else (a de-identified copy). */
  added(name: string): void {
    this.names.push(name);
  }

  /** The files written so far, sorted. */
  files(): string[] {
    return [...this.names].sort();
  }

  read(name: string): Buffer {
    return fs.readFileSync(path.join(this.tmp, name));
  }

  /** Makes everything durable and renames the folder into place. */
  publish(): void {
    syncTree(this.tmp);
    if (fs.existsSync(this.dest)) fs.rmdirSync(this.dest); // checked empty before the job started
    fs.renameSync(this.tmp, this.dest);
  }

  discard(): void {
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}
