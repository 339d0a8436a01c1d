// Storage of readers, reading studies and their reads (tables of migration 6). The current reader is a meta row.
import type Database from 'better-sqlite3';

export interface StudyRow {
  id: number; name: string; group_key: string; items: string; readers: string; seed: number;
  repeat_share: number; created_by: string; created_at: string; unblinded_at: string | null;
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
    return Number(this.db.prepare(`INSERT INTO reading_studies(name, group_key, items, readers, seed, repeat_share, created_by, created_at)
      VALUES (@name, @group_key, @items, @readers, @seed, @repeat_share, @created_by, @created_at)`).run(s).lastInsertRowid);
  }
  studies(): StudyRow[] {
    return this.db.prepare('SELECT * FROM reading_studies ORDER BY id').all() as StudyRow[];
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
  addAdjudication(study: number, itemUid: string, value: string, adjudicator: string, at: string): number {
    return Number(this.db.prepare('INSERT INTO reading_adjudications(at, study_pk, item_uid, value, adjudicator) VALUES (?, ?, ?, ?, ?)')
      .run(at, study, itemUid, value, adjudicator).lastInsertRowid);
  }
  /** The latest adjudication per item. */
  adjudications(study: number): { item_uid: string; value: string; adjudicator: string; at: string }[] {
    return this.db.prepare(`SELECT item_uid, value, adjudicator, at FROM reading_adjudications a WHERE study_pk = ?
      AND id = (SELECT MAX(id) FROM reading_adjudications b WHERE b.study_pk = a.study_pk AND b.item_uid = a.item_uid)`).all(study) as { item_uid: string; value: string; adjudicator: string; at: string }[];
  }
  /** Which of `uids` name no item of the project at `level`. */
  unknownItems(level: 'study' | 'series' | 'image', uids: readonly string[]): string[] {
    const [table, column] = level === 'study' ? ['studies', 'study_uid'] : level === 'series' ? ['series', 'series_uid'] : ['instances', 'sop_uid'];
    const has = this.db.prepare(`SELECT 1 FROM ${table} WHERE ${column} = ?`).pluck();
    return uids.filter((u) => has.get(u) === undefined);
  }
}
