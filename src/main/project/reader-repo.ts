// Storage of readers, reading studies and their reads (tables of migration 6). The current reader is a meta row.
import type Database from 'better-sqlite3';

export interface StudyRow {
  id: number; name: string; group_key: string; items: string; readers: string; seed: number;
  repeat_share: number; created_by: string; created_at: string; unblinded_at: string | null; blinded_to_model: number;
}
export interface ItemFacts {
  instanceId: number; studyId: number; studyDate: string; sex: string; birthDate: string; modality: string; bodyPart: string;
  rows: number | null; columns: number | null; photometric: string; path: string;
}
export interface ReadRow { id: number; at: string; reader: string; position: number; item_uid: string; value: string }

export class ReaderRepository {
  private readonly db: Database.Database;
  constructor(db: Database.Database) {
    this.db = db;
  }

  readers(): { name: string; created_at: string }[] {
    return this.db.prepare('SELECT name, created_at FROM readers ORDER BY id').all() as { name: string; created_at: string }[];
  }
  addReader(name: string, at: string): void {
    this.db.prepare('INSERT INTO readers(name, created_at) VALUES (?, ?)').run(name, at);
  }
  current(): string | null {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'current_reader'").get() as { value: string } | undefined;
    return row?.value ?? null;
  }
  setCurrent(name: string): void {
    this.db.prepare("INSERT INTO meta(key, value) VALUES ('current_reader', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(name);
  }
  addStudy(s: Omit<StudyRow, 'id' | 'unblinded_at'>): number {
    return Number(this.db.prepare(`INSERT INTO reading_studies(name, group_key, items, readers, seed, repeat_share, created_by, created_at, blinded_to_model)
      VALUES (@name, @group_key, @items, @readers, @seed, @repeat_share, @created_by, @created_at, @blinded_to_model)`).run(s).lastInsertRowid);
  }
  studies(): StudyRow[] {
    return this.db.prepare('SELECT * FROM reading_studies ORDER BY id').all() as StudyRow[];
  }
  /** A study's row without its item and reader lists (which are long and never change). */
  studyHead(id: number): Omit<StudyRow, 'items' | 'readers'> | undefined {
    return this.db.prepare(`SELECT id, name, group_key, seed, repeat_share, created_by, created_at, unblinded_at, blinded_to_model
      FROM reading_studies WHERE id = ?`).get(id) as Omit<StudyRow, 'items' | 'readers'> | undefined;
  }
  study(id: number): StudyRow | undefined {
    return this.db.prepare('SELECT * FROM reading_studies WHERE id = ?').get(id) as StudyRow | undefined;
  }
  unblind(id: number, at: string): void {
    this.db.prepare('UPDATE reading_studies SET unblinded_at = ? WHERE id = ? AND unblinded_at IS NULL').run(at, id);
  }
  addRead(study: number, reader: string, position: number, itemUid: string, value: string, at: string): number {
    return Number(this.db.prepare('INSERT INTO reading_events(at, study_pk, reader, position, item_uid, value) VALUES (?, ?, ?, ?, ?, ?)')
      .run(at, study, reader, position, itemUid, value).lastInsertRowid);
  }
  /** The latest read per reader and position (all readers, or one). */
  reads(study: number, reader?: string): ReadRow[] {
    const where = reader === undefined ? '' : 'AND reader = @reader';
    return this.db.prepare(`SELECT e.id, e.at, e.reader, e.position, e.item_uid, e.value FROM reading_events e
      WHERE e.study_pk = @study ${where} AND e.id = (SELECT MAX(id) FROM reading_events x WHERE x.study_pk = e.study_pk AND x.reader = e.reader AND x.position = e.position)
      ORDER BY e.reader, e.position`).all(reader === undefined ? { study } : { study, reader }) as ReadRow[];
  }
  /**
   * One reader's reads with an id above `afterId`, oldest first: what happened since a cursor last looked. A range
   * of the primary key, so a reader's next item costs the reads since, not the whole study (the unary + keeps
   * SQLite off the (study, reader, position) index, which would scan every read of the reader).
   */
  readsSince(study: number, reader: string, afterId: number): { id: number; position: number }[] {
    return this.db.prepare('SELECT id, position FROM reading_events WHERE id > ? AND +study_pk = ? AND +reader = ? ORDER BY id')
      .all(afterId, study, reader) as { id: number; position: number }[];
  }
  /** The latest read of one reader at one position, or null. */
  readAt(study: number, reader: string, position: number): string | null {
    return (this.db.prepare('SELECT value FROM reading_events WHERE study_pk = ? AND reader = ? AND position = ? ORDER BY id DESC LIMIT 1').pluck().get(study, reader, position) as string | undefined) ?? null;
  }
  /** Changes whenever a study is made or unblinded: the key of caches over the studies. */
  studiesVersion(): string {
    const r = this.db.prepare('SELECT COUNT(*) AS n, MAX(id) AS last, COUNT(unblinded_at) AS open FROM reading_studies').get() as { n: number; last: number | null; open: number };
    return `${r.n}:${r.last ?? 0}:${r.open}`;
  }
  /** Reads per reader (distinct positions), for progress. */
  progress(study: number): Map<string, number> {
    const rows = this.db.prepare('SELECT reader, COUNT(DISTINCT position) AS n FROM reading_events WHERE study_pk = ? GROUP BY reader').all(study) as { reader: string; n: number }[];
    return new Map(rows.map((r) => [r.reader, r.n]));
  }
  addAdjudication(study: number, itemUid: string, value: string, adjudicator: string, at: string): number {
    return Number(this.db.prepare('INSERT INTO reading_adjudications(at, study_pk, item_uid, value, adjudicator) VALUES (?, ?, ?, ?, ?)')
      .run(at, study, itemUid, value, adjudicator).lastInsertRowid);
  }
  /** The latest adjudication per item. */
  adjudications(study: number): { item_uid: string; value: string; adjudicator: string; at: string }[] {
    return this.db.prepare(`SELECT item_uid, value, adjudicator, at FROM reading_adjudications a WHERE study_pk = ?
      AND id = (SELECT MAX(id) FROM reading_adjudications b WHERE b.study_pk = a.study_pk AND b.item_uid = a.item_uid)`).all(study) as { item_uid: string; value: string; adjudicator: string; at: string }[];
  }
  /**
   * What the error analysis knows of an item from the index: its study's date and patient, its representative
   * image (the first image of the first series with images, as the labelling view shows) and that image's file.
   */
  itemFacts(level: 'study' | 'series' | 'image', uid: string): ItemFacts | undefined {
    const image = level === 'image'
      ? 'SELECT id FROM instances WHERE sop_uid = @uid'
      : level === 'series'
        ? `SELECT i.id FROM instances i JOIN series s ON s.id = i.series_pk WHERE s.series_uid = @uid AND i.is_image = 1 ORDER BY i.instance_number IS NULL, i.instance_number, i.id LIMIT 1`
        : `SELECT i.id FROM instances i JOIN series s ON s.id = i.series_pk JOIN studies st ON st.id = s.study_pk WHERE st.study_uid = @uid AND i.is_image = 1
           ORDER BY s.series_number IS NULL, s.series_number, s.id, i.instance_number IS NULL, i.instance_number, i.id LIMIT 1`;
    return this.db.prepare(`SELECT i.id AS instanceId, st.id AS studyId, st.study_date AS studyDate, p.sex AS sex, p.birth_date AS birthDate, s.modality AS modality,
        s.body_part AS bodyPart, i.rows AS rows, i.columns AS columns, i.photometric AS photometric, f.path AS path
      FROM instances i JOIN series s ON s.id = i.series_pk JOIN studies st ON st.id = s.study_pk JOIN patients p ON p.id = st.patient_pk JOIN files f ON f.id = i.file_pk
      WHERE i.id = (${image})`).get({ uid }) as ItemFacts | undefined;
  }
  /** Which of `uids` name no item of the project at `level`. */
  unknownItems(level: 'study' | 'series' | 'image', uids: readonly string[]): string[] {
    const [table, column] = level === 'study' ? ['studies', 'study_uid'] : level === 'series' ? ['series', 'series_uid'] : ['instances', 'sop_uid'];
    const has = this.db.prepare(`SELECT 1 FROM ${table} WHERE ${column} = ?`).pluck();
    return uids.filter((u) => has.get(u) === undefined);
  }
}
