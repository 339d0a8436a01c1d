// The on-disk embedding store of one model in one project: `embeddings/<model sha256[:16]>/` holding
//   vectors.npy  a NumPy .npy file (format 1.0): little-endian float32, C order, shape (rows, dim); its header is
//                padded to a fixed 128 bytes so the row count can be rewritten in place as rows are appended;
//   rows.csv     one line per row: row,level,sop_instance_uid,series_instance_uid,study_instance_uid,frame,item_id;
//   model.json   the model package's manifest and its hash.
// numpy reads it with np.load('vectors.npy', mmap_mode='r'); pandas with pd.read_csv('rows.csv').
// Appends write rows.csv, then the vectors, fsync, then the header's count, fsync — so after a crash the header
// never counts rows that are not on disk, and opening truncates both files back to the header's count.
import fs from 'node:fs';
import path from 'node:path';

export const HEADER_BYTES = 128;
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00]); // \x93NUMPY v1.0
export const CSV_HEADER = 'row,level,sop_instance_uid,series_instance_uid,study_instance_uid,frame,item_id\n';

export interface RowMeta {
  level: 'image' | 'series';
  sopUid: string;
  seriesUid: string;
  studyUid: string;
  frame: number;
  itemId: number;
}

function header(rows: number, dim: number): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  const len = HEADER_BYTES - MAGIC.length - 2;
  const text = dict.padEnd(len - 1, ' ') + '\n';
  const out = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(out, 0);
  out.writeUInt16LE(len, 8);
  out.write(text, 10, 'latin1');
  return out;
}

function parseHeader(buf: Buffer, file: string): { rows: number; dim: number } {
  if (buf.length < HEADER_BYTES || !buf.subarray(0, 6).equals(MAGIC.subarray(0, 6))) throw new Error(`${file}: not a .npy file`);
  const text = buf.toString('latin1', 10, HEADER_BYTES);
  const m = /'descr': '<f4'.*'shape': \((\d+), (\d+)\)/.exec(text);
  if (!m) throw new Error(`${file}: header is not float32 (rows, dim): ${text.trim()}`);
  return { rows: Number(m[1]), dim: Number(m[2]) };
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export class EmbeddingStore {
  readonly dir: string;
  readonly dim: number;
  private rowsOnDisk: number;
  private readonly vectorsPath: string;
  private readonly csvPath: string;

  private constructor(dir: string, dim: number, rows: number) {
    this.dir = dir;
    this.dim = dim;
    this.rowsOnDisk = rows;
    this.vectorsPath = path.join(dir, 'vectors.npy');
    this.csvPath = path.join(dir, 'rows.csv');
  }

  /** Opens (creating if needed) a store, and truncates anything past the last complete append. */
  static open(dir: string, dim: number, model: object = {}): EmbeddingStore {
    fs.mkdirSync(dir, { recursive: true });
    const vectors = path.join(dir, 'vectors.npy');
    const csv = path.join(dir, 'rows.csv');
    if (!fs.existsSync(vectors)) {
      fs.writeFileSync(vectors, header(0, dim));
      fs.writeFileSync(csv, CSV_HEADER);
      fs.writeFileSync(path.join(dir, 'model.json'), `${JSON.stringify(model, null, 2)}\n`);
      return new EmbeddingStore(dir, dim, 0);
    }
    const fd = fs.openSync(vectors, 'r+');
    let rows: number;
    try {
      const head = Buffer.alloc(HEADER_BYTES);
      fs.readSync(fd, head, 0, HEADER_BYTES, 0);
      const h = parseHeader(head, vectors);
      if (h.dim !== dim) throw new Error(`${vectors}: holds ${h.dim}-d vectors, the model makes ${dim}-d; remove the folder to rebuild it`);
      const complete = Math.floor((fs.fstatSync(fd).size - HEADER_BYTES) / (dim * 4));
      rows = Math.min(h.rows, complete);
      fs.ftruncateSync(fd, HEADER_BYTES + rows * dim * 4);
      if (rows !== h.rows) fs.writeSync(fd, header(rows, dim), 0, HEADER_BYTES, 0);
    } finally {
      fs.closeSync(fd);
    }
    truncateCsv(csv, rows);
    return new EmbeddingStore(dir, dim, rows);
  }

  /**
   * Opens a store to read, repairing nothing: another process may be appending to it (under its job's lease), and
   * only that writer may truncate. Rows past the header's count are not there yet; null when there is no store.
   */
  static read(dir: string, dim: number): EmbeddingStore | null {
    const vectors = path.join(dir, 'vectors.npy');
    let fd: number;
    try {
      fd = fs.openSync(vectors, 'r');
    } catch {
      return null;
    }
    try {
      const head = Buffer.alloc(HEADER_BYTES);
      fs.readSync(fd, head, 0, HEADER_BYTES, 0);
      const h = parseHeader(head, vectors);
      if (h.dim !== dim) throw new Error(`${vectors}: holds ${h.dim}-d vectors, the model makes ${dim}-d; remove the folder to rebuild it`);
      return new EmbeddingStore(dir, dim, Math.min(h.rows, Math.floor((fs.fstatSync(fd).size - HEADER_BYTES) / (dim * 4))));
    } finally {
      fs.closeSync(fd);
    }
  }

  get count(): number {
    return this.rowsOnDisk;
  }

  /** Appends n vectors (n × dim) with their row descriptions; returns the first new row's index. Durable on return. */
  append(vectors: Float32Array, meta: RowMeta[]): number {
    const n = meta.length;
    if (vectors.length !== n * this.dim) throw new Error(`embedding store: ${vectors.length} values for ${n} rows of ${this.dim}`);
    const first = this.rowsOnDisk;
    const lines = meta.map((m, i) => [first + i, m.level, m.sopUid, m.seriesUid, m.studyUid, m.frame, m.itemId].map((v) => csvField(String(v))).join(',')).join('\n');
    fs.appendFileSync(this.csvPath, `${lines}\n`);
    const fd = fs.openSync(this.vectorsPath, 'r+');
    try {
      fs.writeSync(fd, new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength), 0, vectors.byteLength, HEADER_BYTES + first * this.dim * 4);
      fs.fsyncSync(fd);
      fs.writeSync(fd, header(first + n, this.dim), 0, HEADER_BYTES, 0);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.rowsOnDisk = first + n;
    return first;
  }

  /** Every vector, as one (count × dim) array: a single read of the file. */
  loadAll(): Float32Array {
    return readVectors(this.vectorsPath, this.dim, this.rowsOnDisk);
  }

  /**
   * Every vector of the store in `dir`, read without opening it for writing, for another thread (the suggestion
   * worker): nothing is truncated, so an append in progress elsewhere is never cut short, and only the rows the
   * header counts are read (rows being appended past it are not complete yet).
   */
  static readSnapshot(dir: string, dim: number): { count: number; vectors: Float32Array } {
    const file = path.join(dir, 'vectors.npy');
    const fd = fs.openSync(file, 'r');
    let rows: number;
    try {
      const head = Buffer.alloc(HEADER_BYTES);
      fs.readSync(fd, head, 0, HEADER_BYTES, 0);
      const h = parseHeader(head, file);
      if (h.dim !== dim) throw new Error(`${file}: holds ${h.dim}-d vectors, the model makes ${dim}-d; remove the folder to rebuild it`);
      rows = h.rows;
    } finally {
      fs.closeSync(fd);
    }
    const vectors = readVectors(file, dim, rows);
    return { count: vectors.length / dim, vectors };
  }

  /** Selected rows (e.g. a series' slices) without reading the whole file. */
  readRows(rows: number[]): Float32Array {
    const out = new Float32Array(rows.length * this.dim);
    const bytes = new Uint8Array(out.buffer);
    const fd = fs.openSync(this.vectorsPath, 'r');
    try {
      rows.forEach((r, i) => {
        if (r < 0 || r >= this.rowsOnDisk) throw new Error(`embedding store: row ${r} is outside 0..${this.rowsOnDisk - 1}`);
        fs.readSync(fd, bytes, i * this.dim * 4, this.dim * 4, HEADER_BYTES + r * this.dim * 4);
      });
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }
}

/** Up to `rows` complete rows of a vectors file, as one array: a single read. */
function readVectors(file: string, dim: number, rows: number): Float32Array {
  const buf = fs.readFileSync(file);
  const count = Math.min(rows, Math.floor((buf.length - HEADER_BYTES) / (dim * 4)));
  // readFileSync's buffer is not pooled for large files, so a view at offset 128 is aligned.
  const off = buf.byteOffset + HEADER_BYTES;
  if (off % 4 === 0) return new Float32Array(buf.buffer, off, count * dim);
  return new Float32Array(buf.buffer.slice(off, off + count * dim * 4));
}

/** Keeps the CSV header and the first `rows` data lines. */
function truncateCsv(file: string, rows: number): void {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch { /* recreated below */ }
  const lines = text.split('\n').slice(1).filter((l) => l.length > 0);
  if (lines.length === rows && text.startsWith(CSV_HEADER)) return;
  fs.writeFileSync(file, CSV_HEADER + lines.slice(0, rows).map((l) => `${l}\n`).join(''));
}
