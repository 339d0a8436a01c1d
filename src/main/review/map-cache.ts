// The map's files in the project folder: derived data, rebuilt by map.start whenever they are missing or unreadable.
//   maps/<model sha256[:16]>/<level>.fit.json     the fit: PCA (mean, basis), the sample's reduced vectors and map
//                                                 positions; saved as soon as the fit ends, so a job stopped while
//                                                 placing (cancel, crash) resumes without fitting again;
//   maps/<model sha256[:16]>/<level>.layout.json  every item's position (ids, x, y) and the fit it came from.
// Typed arrays are stored as base64 of their little-endian bytes. Each file is written to a temporary name and
// renamed, so a reader never sees half a file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Level } from '../../shared/label-schema.ts';
import type { FitState } from './map-protocol.ts';

const FORMAT = 'lightbox-map/1';

export interface SavedFit extends FitState { fitId: string; level: Level; modelSha256: string; createdAt: string }
/** Each item's k nearest other items in embedding space (rows of `ids`; -1: none) and their cosine similarity. */
export interface SavedNeighbours { level: Level; createdAt: string; exact: boolean; k: number; ids: Int32Array; nn: Int32Array; sim: Float32Array }
export interface SavedLayout { fitId: string; level: Level; modelSha256: string; createdAt: string; ids: Int32Array; xy: Float32Array }

const b64 = (a: Float32Array | Int32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
function f32(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
function i32(s: string): Int32Array {
  const b = Buffer.from(s, 'base64');
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function readJson(file: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    return v.format === FORMAT ? v : null;
  } catch {
    return null; // missing or damaged: derived data, rebuilt by the next map.start
  }
}

export class MapCache {
  readonly dir: string;
  private readonly modelSha256: string;

  constructor(projectDir: string, modelSha256: string) {
    this.dir = path.join(projectDir, 'maps', modelSha256.slice(0, 16));
    this.modelSha256 = modelSha256;
  }

  private file(level: Level, what: 'fit' | 'layout' | 'neighbours'): string {
    return path.join(this.dir, `${level}.${what}.json`);
  }

  saveFit(level: Level, fit: FitState): SavedFit {
    const saved: SavedFit = { ...fit, fitId: crypto.randomUUID(), level, modelSha256: this.modelSha256, createdAt: new Date().toISOString() };
    writeAtomic(this.file(level, 'fit'), JSON.stringify({
      format: FORMAT, fitId: saved.fitId, level, modelSha256: this.modelSha256, createdAt: saved.createdAt,
      pca: { dim: fit.pca.dim, k: fit.pca.k, mean: b64(fit.pca.mean), basis: b64(fit.pca.basis) }, fitted: b64(fit.fitted), coords: b64(fit.coords),
    }));
    return saved;
  }

  fit(level: Level): SavedFit | null {
    const v = readJson(this.file(level, 'fit'));
    if (!v || v.modelSha256 !== this.modelSha256) return null;
    const p = v.pca as { dim: number; k: number; mean: string; basis: string };
    return {
      fitId: String(v.fitId), level, modelSha256: this.modelSha256, createdAt: String(v.createdAt),
      pca: { dim: p.dim, k: p.k, mean: f32(p.mean), basis: f32(p.basis) }, fitted: f32(String(v.fitted)), coords: f32(String(v.coords)),
    };
  }

  saveLayout(level: Level, fitId: string, ids: Int32Array, xy: Float32Array): SavedLayout {
    const createdAt = new Date().toISOString();
    writeAtomic(this.file(level, 'layout'), JSON.stringify({ format: FORMAT, fitId, level, modelSha256: this.modelSha256, createdAt, ids: b64(ids), xy: b64(xy) }));
    return { fitId, level, modelSha256: this.modelSha256, createdAt, ids, xy };
  }

  layout(level: Level): SavedLayout | null {
    const v = readJson(this.file(level, 'layout'));
    if (!v || v.modelSha256 !== this.modelSha256) return null;
    const ids = i32(String(v.ids));
    const xy = f32(String(v.xy));
    if (xy.length !== ids.length * 2) return null;
    return { fitId: String(v.fitId), level, modelSha256: this.modelSha256, createdAt: String(v.createdAt), ids, xy };
  }

  saveNeighbours(n: Omit<SavedNeighbours, 'createdAt'>): void {
    writeAtomic(this.file(n.level, 'neighbours'), JSON.stringify({
      format: FORMAT, level: n.level, modelSha256: this.modelSha256, createdAt: new Date().toISOString(), exact: n.exact, k: n.k, ids: b64(n.ids), nn: b64(n.nn), sim: b64(n.sim),
    }));
  }

  neighbours(level: Level): SavedNeighbours | null {
    const v = readJson(this.file(level, 'neighbours'));
    if (!v || v.modelSha256 !== this.modelSha256) return null;
    const ids = i32(String(v.ids));
    const k = Number(v.k);
    const nn = i32(String(v.nn));
    const sim = f32(String(v.sim));
    if (nn.length !== ids.length * k || sim.length !== nn.length) return null;
    return { level, createdAt: String(v.createdAt), exact: v.exact === true, k, ids, nn, sim };
  }
}
