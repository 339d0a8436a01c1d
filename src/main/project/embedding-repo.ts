// Which embedding-store row holds which image or series vector, per model, and which images failed and why.
// Part of the project store's repositories: the only place embedding bookkeeping touches SQLite.
import type Database from 'better-sqlite3';

export interface EmbeddingModelRow { id: number; sha256: string; name: string; version: string; dim: number; packageDir: string; storeDir: string }
export interface PendingImage { instanceId: number; path: string; frames: number; seriesId: number; sopUid: string; seriesUid: string; studyUid: string }
export interface EmbeddedRow { level: 'image' | 'series'; itemId: number; row: number; frame: number }
export interface SeriesToPool { seriesId: number; seriesUid: string; studyUid: string; rows: number[] }

/** Series whose images are slices of one volume get a series-level vector too. */
const VOLUME_MODALITIES = ['CT', 'MR', 'PT', 'NM'];

export class EmbeddingRepository {
  private readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
  }

  ensureModel(m: Omit<EmbeddingModelRow, 'id'>): EmbeddingModelRow {
    this.db
      .prepare('INSERT INTO embedding_models(sha256, name, version, dim, package_dir, store_dir, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET package_dir = excluded.package_dir')
      .run(m.sha256, m.name, m.version, m.dim, m.packageDir, m.storeDir, new Date().toISOString());
    return this.model(m.sha256)!;
  }

  model(sha256: string): EmbeddingModelRow | undefined {
    return this.db
      .prepare('SELECT id, sha256, name, version, dim, package_dir AS packageDir, store_dir AS storeDir FROM embedding_models WHERE sha256 = ?')
      .get(sha256) as EmbeddingModelRow | undefined;
  }

  models(): EmbeddingModelRow[] {
    return this.db.prepare('SELECT id, sha256, name, version, dim, package_dir AS packageDir, store_dir AS storeDir FROM embedding_models ORDER BY id').all() as EmbeddingModelRow[];
  }

  /** Image instances without a vector for this model, in series and instance order. */
  pendingImages(modelPk: number): PendingImage[] {
    return this.db
      .prepare(`SELECT i.id AS instanceId, f.path AS path, i.frames AS frames, i.series_pk AS seriesId, i.sop_uid AS sopUid,
                       s.series_uid AS seriesUid, st.study_uid AS studyUid
                FROM instances i JOIN files f ON f.id = i.file_pk JOIN series s ON s.id = i.series_pk JOIN studies st ON st.id = s.study_pk
                WHERE i.is_image = 1
                  AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.model_pk = ? AND e.level = 'image' AND e.item_pk = i.id)
                ORDER BY i.series_pk, i.instance_number, i.id`)
      .all(modelPk) as PendingImage[];
  }

  imageCount(): number {
    return this.db.prepare('SELECT count(*) FROM instances WHERE is_image = 1').pluck().get() as number;
  }

  /** Images with a vector from this model. */
  embeddedImages(modelPk: number): number {
    return this.db.prepare("SELECT count(*) FROM embeddings WHERE model_pk = ? AND level = 'image'").pluck().get(modelPk) as number;
  }

  counts(modelPk: number): { images: number; embedded: number; failed: number; series: number } {
    const one = (sql: string, ...args: unknown[]): number => (this.db.prepare(sql).pluck().get(...args) as number | undefined) ?? 0;
    return {
      images: this.imageCount(),
      embedded: this.embeddedImages(modelPk),
      failed: one('SELECT count(*) FROM embedding_failures WHERE model_pk = ?', modelPk),
      series: one("SELECT count(*) FROM embeddings WHERE model_pk = ? AND level = 'series'", modelPk),
    };
  }

  /** Records a batch's vectors and failures in one transaction (after the vectors are durable on disk). */
  record(modelPk: number, rows: EmbeddedRow[], failures: { instanceId: number; reason: string }[]): void {
    const put = this.db.prepare('INSERT OR REPLACE INTO embeddings(model_pk, level, item_pk, row, frame) VALUES (?, ?, ?, ?, ?)');
    const clear = this.db.prepare('DELETE FROM embedding_failures WHERE model_pk = ? AND instance_pk = ?');
    const fail = this.db.prepare('INSERT OR REPLACE INTO embedding_failures(model_pk, instance_pk, reason, at) VALUES (?, ?, ?, ?)');
    const at = new Date().toISOString();
    this.db.transaction(() => {
      for (const r of rows) {
        put.run(modelPk, r.level, r.itemId, r.row, r.frame);
        if (r.level === 'image') clear.run(modelPk, r.itemId);
      }
      for (const f of failures) fail.run(modelPk, f.instanceId, f.reason.slice(0, 2000), at);
    })();
  }

  failures(modelPk: number, limit: number): { total: number; items: { instanceId: number; path: string; reason: string }[] } {
    const total = (this.db.prepare('SELECT count(*) FROM embedding_failures WHERE model_pk = ?').pluck().get(modelPk) as number) ?? 0;
    const items = this.db
      .prepare(`SELECT ef.instance_pk AS instanceId, coalesce(f.path, '') AS path, ef.reason AS reason FROM embedding_failures ef
                LEFT JOIN instances i ON i.id = ef.instance_pk LEFT JOIN files f ON f.id = i.file_pk
                WHERE ef.model_pk = ? ORDER BY ef.instance_pk LIMIT ?`)
      .all(modelPk, limit) as { instanceId: number; path: string; reason: string }[];
    return { total, items };
  }

  /**
   * Volume series (CT, MR, PET, NM) whose series vector is missing or older than their image vectors, with the
   * store rows of their image vectors in instance order.
   */
  seriesToPool(modelPk: number): SeriesToPool[] {
    const rows = this.db
      .prepare(`SELECT s.id AS seriesId, s.series_uid AS seriesUid, st.study_uid AS studyUid, e.row AS row
                FROM series s JOIN studies st ON st.id = s.study_pk
                JOIN instances i ON i.series_pk = s.id
                JOIN embeddings e ON e.model_pk = ? AND e.level = 'image' AND e.item_pk = i.id
                WHERE s.modality IN (${VOLUME_MODALITIES.map(() => '?').join(',')})
                ORDER BY s.id, i.instance_number, i.id`)
      .all(modelPk, ...VOLUME_MODALITIES) as { seriesId: number; seriesUid: string; studyUid: string; row: number }[];
    const pooled = new Map(
      (this.db.prepare("SELECT item_pk, row FROM embeddings WHERE model_pk = ? AND level = 'series'").raw().all(modelPk) as [number, number][]),
    );
    const out = new Map<number, SeriesToPool>();
    for (const r of rows) {
      let s = out.get(r.seriesId);
      if (!s) out.set(r.seriesId, (s = { seriesId: r.seriesId, seriesUid: r.seriesUid, studyUid: r.studyUid, rows: [] }));
      s.rows.push(r.row);
    }
    // A series vector is stale when an image vector was written after it (rows only grow).
    return [...out.values()].filter((s) => {
      const at = pooled.get(s.seriesId);
      return at === undefined || s.rows.some((r) => r > at);
    });
  }

  /** Image (or series) ids and their store rows, for similarity search. */
  rows(modelPk: number, level: 'image' | 'series'): { itemId: number; row: number }[] {
    return this.db.prepare('SELECT item_pk AS itemId, row FROM embeddings WHERE model_pk = ? AND level = ?').all(modelPk, level) as { itemId: number; row: number }[];
  }

  /** Where instances sit in the worklist, for showing search results. */
  instanceContext(ids: number[]): Map<number, { seriesId: number; studyId: number; patientName: string; studyDescription: string; seriesDescription: string }> {
    const out = new Map<number, { seriesId: number; studyId: number; patientName: string; studyDescription: string; seriesDescription: string }>();
    const q = this.db.prepare(`SELECT i.id AS id, s.id AS seriesId, st.id AS studyId, p.name AS patientName, st.description AS studyDescription, s.description AS seriesDescription
                               FROM instances i JOIN series s ON s.id = i.series_pk JOIN studies st ON st.id = s.study_pk JOIN patients p ON p.id = st.patient_pk WHERE i.id = ?`);
    for (const id of ids) {
      const r = q.get(id) as { id: number; seriesId: number; studyId: number; patientName: string; studyDescription: string; seriesDescription: string } | undefined;
      if (r) out.set(id, r);
    }
    return out;
  }

  /** Forgets rows the store no longer holds (after a crash cut the store short of what was recorded). */
  dropRowsFrom(modelPk: number, count: number): number {
    return this.db.prepare('DELETE FROM embeddings WHERE model_pk = ? AND row >= ?').run(modelPk, count).changes;
  }
}
