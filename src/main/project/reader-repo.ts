// Storage of readers, reading studies and their reads (tables of migration 6). The current reader is a meta row.
// In a project whose labels live in a shared PostgreSQL store these tables are a replica of the server's (the same
// ids): every write goes to the server first (ReadingRemote) and lands here with the id the server gave it.
import type Database from 'better-sqlite3';
import { READING_KINDS, READING_TABLES, emptyReadingRows } from './pg-reading.ts';
import type { ReadingCursor, ReadingDraft, ReadingRows } from './pg-reading.ts';

/** The shared store's side of the reading tables (shared-label-store.ts): appends one row, returns its id. */
export interface ReadingRemote { appendReading(d: ReadingDraft): number }

const LOCAL_TABLE = { reader: 'readers', study: 'reading_studies', read: 'reading_events', adjudication: 'reading_adjudications' } as const;
const UNBLIND_CURSOR = 'shared_reading_unblinds';

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
  private remote: ReadingRemote | null = null;
  constructor(db: Database.Database) {
    this.db = db;
  }

  /** From now on, writes go to the shared store (and reach these tables through applyReading). */
  useRemote(remote: ReadingRemote): void {
    this.remote = remote;
  }

  /** The last id of each kind of row in this replica. */
  readingCursor(): ReadingCursor {
    const max = (t: string): number => Number(this.db.prepare(`SELECT coalesce(max(id), 0) FROM ${t}`).pluck().get());
    const unblind = Number(this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(UNBLIND_CURSOR) ?? 0);
    return { reader: max('readers'), study: max('reading_studies'), read: max('reading_events'), adjudication: max('reading_adjudications'), unblind };
  }

  /** Inserts rows from the server (each kind continuing this replica's ids) in one transaction. */
  applyReading(rows: ReadingRows): void {
    this.db.transaction(() => {
      for (const k of READING_KINDS) {
        if (rows[k].length === 0) continue;
        if (k === 'unblind') {
          const up = this.db.prepare('UPDATE reading_studies SET unblinded_at = @at WHERE id = @study_pk AND unblinded_at IS NULL');
          for (const r of rows[k]) up.run(r);
          this.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(UNBLIND_CURSOR, String(rows[k][rows[k].length - 1]!.id));
          continue;
        }
        const cols = ['id', ...READING_TABLES[k].columns];
        const ins = this.db.prepare(`INSERT INTO ${LOCAL_TABLE[k]}(${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
        for (const r of rows[k]) ins.run(r);
      }
    })();
  }

  /**
   * Every reading row of this project, as the shared store keeps them (for moving them there, and for checking a
   * move): unblindings as rows of their own, numbered in the order they happened.
   */
  readingRows(): ReadingRows {
    const out = emptyReadingRows();
    for (const k of ['reader', 'study', 'read', 'adjudication'] as const) {
      out[k] = this.db.prepare(`SELECT id, ${READING_TABLES[k].columns.join(', ')} FROM ${LOCAL_TABLE[k]} ORDER BY id`).all() as ReadingRows[typeof k];
    }
    out.unblind = (this.db.prepare('SELECT id AS study_pk, unblinded_at AS at FROM reading_studies WHERE unblinded_at IS NOT NULL ORDER BY unblinded_at, id').all() as { study_pk: number; at: string }[])
      .map((r, i) => ({ id: i + 1, ...r }));
    return out;
  }

  /** Sets the replica's unblinding cursor (after its rows were copied to the server as readingRows numbered them). */
  setUnblindCursor(n: number): void {
    this.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(UNBLIND_CURSOR, String(n));
  }

  readers(): { name: string; created_at: string }[] {
    return this.db.prepare('SELECT name, created_at FROM readers ORDER BY id').all() as { name: string; created_at: string }[];
  }
  addReader(name: string, at: string): void {
    if (this.remote) { this.remote.appendReading({ kind: 'reader', row: { name, created_at: at } }); return; }
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
    if (this.remote) return this.remote.appendReading({ kind: 'study', row: s });
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
    if (this.remote) { this.remote.appendReading({ kind: 'unblind', row: { study_pk: id, at } }); return; }
    this.db.prepare('UPDATE reading_studies SET unblinded_at = ? WHERE id = ? AND unblinded_at IS NULL').run(at, id);
  }
  addRead(study: number, reader: string, position: number, itemUid: string, value: string, at: string): number {
    if (this.remote) return this.remote.appendReading({ kind: 'read', row: { at, study_pk: study, reader, position, item_uid: itemUid, value } });
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
    if (this.remote) return this.remote.appendReading({ kind: 'adjudication', row: { at, study_pk: study, item_uid: itemUid, value, adjudicator } });
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
