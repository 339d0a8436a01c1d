// Free-text search: the text's embedding (the current package's text encoder, in its worker) against every item's
// embedding at a level — an image's vector, or the unit mean of a series' or study's image vectors, as suggestions
// use them — ranked by cosine similarity. Item matrices are cached per model and level until the store grows.
import type { CallParsed, CallResult } from '../../shared/contract.ts';
import { LightboxError } from '../../shared/contract.ts';
import type { Level } from '../../shared/label-schema.ts';
import type { ProjectStore } from '../project/project-store.ts';
import { LabelRepository } from '../project/label-repo.ts';
import type { EmbedService } from './embed-service.ts';
import { EmbeddingStore } from './embedding-store.ts';
import type { ModelPackage } from './model-package.ts';
import { noTextEncoder } from './text-engine.ts';

/** One level's items under one model: ids, UIDs, a representative image, and unit vectors (n × dim). */
export interface ItemVectors {
  pkg: ModelPackage;
  level: Level;
  ids: Int32Array;
  uids: string[];
  /** The first image of each item (for showing it). */
  instances: Int32Array;
  vectors: Float32Array;
  dim: number;
}

export class TextSearch {
  private readonly embeddings: EmbedService;
  private readonly labels: LabelRepository;
  private readonly cache = new Map<string, { stamp: string; items: ItemVectors }>();

  constructor(store: ProjectStore, embeddings: EmbedService) {
    this.embeddings = embeddings;
    this.labels = new LabelRepository(store.db);
  }

  /** The current package, refused unless it has a text encoder. */
  async textPackage(): Promise<ModelPackage> {
    const pkg = await this.embeddings.resolveModel();
    if (!pkg.text) throw noTextEncoder(pkg);
    return pkg;
  }

  /** The unit vectors of a level's items under the current package; refused when nothing is embedded with it yet. */
  async items(level: Level): Promise<ItemVectors> {
    const pkg = await this.textPackage();
    const repo = this.embeddings.repo;
    const row = repo.model(pkg.sha256);
    const embedded = row ? repo.embeddedImages(row.id) : 0;
    if (!row || embedded === 0) throw new LightboxError('bad-request', `no images are embedded with ${pkg.manifest.name} yet: run Embed first (lightbox embed, or Embed in the top bar)`);
    const key = `${row.id}:${level}`;
    const stamp = `${embedded}`;
    const hit = this.cache.get(key);
    // Packages that share an image encoder share its vectors but may differ in their text tower: the package is today's.
    if (hit && hit.stamp === stamp) return { ...hit.items, pkg };
    // The database first, then the store: a writer appends before it commits, so every row read is in the store.
    const li = this.labels.levelIndex(level, row.id);
    const imageOf = new Map(repo.rows(row.id, 'image').map((r) => [r.row, r.itemId]));
    const { vectors: all } = EmbeddingStore.readSnapshot(row.storeDir, row.dim);
    const dim = row.dim;
    const n = li.ids.length;
    const vectors = new Float32Array(n * dim);
    const instances = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const o = i * dim;
      instances[i] = imageOf.get(li.rows[li.offsets[i]!]!) ?? 0;
      for (let r = li.offsets[i]!; r < li.offsets[i + 1]!; r++) {
        const src = li.rows[r]! * dim;
        for (let d = 0; d < dim; d++) vectors[o + d]! += all[src + d]!;
      }
      let norm = 0;
      for (let d = 0; d < dim; d++) norm += vectors[o + d]! ** 2;
      norm = Math.sqrt(norm) || 1;
      for (let d = 0; d < dim; d++) vectors[o + d]! /= norm;
    }
    const items: ItemVectors = { pkg, level, ids: li.ids, uids: li.uids, instances, vectors, dim };
    this.cache.set(key, { stamp, items });
    return items;
  }

  /** Unit text vectors for texts; a text the model has no words for is refused with the text named. */
  async embedTexts(pkg: ModelPackage, texts: string[]): Promise<Float32Array[]> {
    const vs = await this.embeddings.text.embed(pkg, texts);
    return vs;
  }

  async search({ text, level, k }: CallParsed<'search.text'>): Promise<CallResult<'search.text'>> {
    const items = await this.items(level);
    const [q] = await this.embedTexts(items.pkg, [text]);
    if (!q!.some((v) => v !== 0)) {
      throw new LightboxError('bad-request', `search: the text encoder of ${items.pkg.manifest.name} finds nothing it knows in "${text.slice(0, 100)}"; try other words`);
    }
    const scores = cosines(items, q!);
    const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!).slice(0, k);
    const context = this.embeddings.repo.instanceContext(order.map((i) => items.instances[i]!));
    return {
      model: items.pkg.manifest.name,
      modelSha256: items.pkg.sha256,
      provider: this.embeddings.text.providerInUse ?? 'cpu',
      level,
      items: order.flatMap((i) => {
        const c = context.get(items.instances[i]!);
        return c ? [{ level, itemId: items.ids[i]!, instanceId: items.instances[i]!, score: scores[i]!, ...c }] : [];
      }),
    };
  }
}

/** Cosine of every item to a unit vector. */
export function cosines(items: ItemVectors, q: Float32Array): Float32Array {
  const { vectors, dim } = items;
  const n = items.ids.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += vectors[i * dim + d]! * q[d]!;
    out[i] = s;
  }
  return out;
}
