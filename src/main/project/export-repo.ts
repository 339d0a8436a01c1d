// What an export reads from the project database, and the de-identification key it keeps there. Part of the
// project store's repositories: the only place export touches SQLite.
import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Level } from '../../shared/label-schema.ts';

/** One labelled (item, group) with the event that decided its current value and the item's flag and note. */
export interface LabelRow {
  level: Level;
  uid: string;
  group: string;
  labels: string[];
  flagged: boolean;
  note: string;
  /** The event whose value is in force (for an undo or redo: the event that first set that value). */
  eventId: number;
  action: string;
  annotator: string;
  at: string;
  source: string;
  suggestionSource: string;
  modelSha256: string;
  score: number | null;
  /** Everyone who set a value of this item's group, and when the first did. */
  annotators: string[];
  firstAt: string;
}

/** Where an item sits: its patient, study, series and (for images) instance, and its file or folder. */
export interface ItemMeta {
  patientKey: string;
  patientId: string;
  patientName: string;
  birthDate: string;
  sex: string;
  studyUid: string;
  studyDate: string;
  studyTime: string;
  accession: string;
  studyId: string;
  studyDescription: string;
  seriesUid: string;
  modality: string;
  sopUid: string;
  sopClass: string;
  /** The file (images) or the deepest folder holding all the item's files (series, studies), absolute. */
  path: string;
  root: string;
}

export interface ImageRef { sopUid: string; sopClass: string; seriesUid: string; path: string; transferSyntax: string }

const META_COLUMNS = `p.patient_key AS patientKey, p.patient_id AS patientId, p.name AS patientName, p.birth_date AS birthDate, p.sex AS sex,
  st.study_uid AS studyUid, st.study_date AS studyDate, st.study_time AS studyTime, st.accession AS accession, st.study_id AS studyId,
  st.description AS studyDescription`;

const META_SQL: Record<Level, string> = {
  image: `SELECT i.sop_uid AS uid, ${META_COLUMNS}, s.series_uid AS seriesUid, s.modality AS modality, i.sop_uid AS sopUid, i.sop_class AS sopClass,
            f.path AS minPath, f.path AS maxPath, f.root AS root
          FROM instances i JOIN series s ON s.id = i.series_pk JOIN studies st ON st.id = s.study_pk JOIN patients p ON p.id = st.patient_pk
          JOIN files f ON f.id = i.file_pk WHERE i.is_image = 1`,
  series: `SELECT s.series_uid AS uid, ${META_COLUMNS}, s.series_uid AS seriesUid, s.modality AS modality, '' AS sopUid, '' AS sopClass,
             min(f.path) AS minPath, max(f.path) AS maxPath, min(f.root) AS root
           FROM series s JOIN studies st ON st.id = s.study_pk JOIN patients p ON p.id = st.patient_pk
           JOIN instances i ON i.series_pk = s.id JOIN files f ON f.id = i.file_pk GROUP BY s.id`,
  study: `SELECT st.study_uid AS uid, ${META_COLUMNS}, '' AS seriesUid, group_concat(DISTINCT s.modality) AS modality, '' AS sopUid, '' AS sopClass,
            min(f.path) AS minPath, max(f.path) AS maxPath, min(f.root) AS root
          FROM studies st JOIN patients p ON p.id = st.patient_pk JOIN series s ON s.study_pk = st.id
          JOIN instances i ON i.series_pk = s.id JOIN files f ON f.id = i.file_pk GROUP BY st.id`,
};

/** The deepest folder holding every path between `min` and `max` (the common prefix of the sorted extremes). */
function commonFolder(min: string, max: string): string {
  if (min === max) return min;
  let n = 0;
  while (n < min.length && min[n] === max[n]) n++;
  const cut = Math.max(min.lastIndexOf('/', n - 1), min.lastIndexOf('\\', n - 1));
  return cut > 0 ? min.slice(0, cut) : '';
}

export class ExportRepository {
  private readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
  }

  /** Every labelled (item, group), with provenance. */
  labelRows(): LabelRow[] {
    const rows = this.db.prepare(`
      WITH d AS (SELECT level, item_uid, group_key, max(id) AS decided, min(at) AS first_at, group_concat(DISTINCT annotator) AS annotators
                 FROM label_events WHERE field = 'labels' GROUP BY level, item_uid, group_key)
      SELECT ls.level, ls.item_uid, ls.group_key, ls.labels, coalesce(w.flagged, 0), coalesce(w.note, ''), e.id, e.action, e.annotator, e.at, e.source,
             e.suggestion_source, e.model_sha256, e.score, d.annotators, d.first_at
      FROM label_state ls JOIN d ON d.level = ls.level AND d.item_uid = ls.item_uid AND d.group_key = ls.group_key
      JOIN label_events e ON e.id = d.decided
      LEFT JOIN label_state w ON w.level = ls.level AND w.item_uid = ls.item_uid AND w.group_key = ''
      WHERE ls.group_key <> '' AND ls.labels <> 'null'
      ORDER BY ls.level, ls.item_uid, ls.group_key`).raw().all() as [Level, string, string, string, number, string, number, string, string, string, string, string, string, number | null, string, string][];
    const out = rows.map((r): LabelRow => ({
      level: r[0], uid: r[1], group: r[2], labels: JSON.parse(r[3]) as string[], flagged: r[4] === 1, note: r[5], eventId: r[6], action: r[7], annotator: r[8],
      at: r[9], source: r[10], suggestionSource: r[11], modelSha256: r[12], score: r[13], annotators: r[14].split(','), firstAt: r[15],
    }));
    for (const row of out) if (row.action === 'undo' || row.action === 'redo') this.originOf(row);
    return out;
  }

  /** An undo or redo restores a value someone set earlier: the provenance is that earlier event's. */
  private originOf(row: LabelRow): void {
    const events = this.db.prepare(`SELECT id, action, annotator, at, source, suggestion_source, model_sha256, score, value FROM label_events
                                    WHERE level = ? AND item_uid = ? AND group_key = ? AND field = 'labels' AND action NOT IN ('undo', 'redo') AND id < ?
                                    ORDER BY id DESC`).raw().all(row.level, row.uid, row.group, row.eventId) as [number, string, string, string, string, string, string, number | null, string][];
    const want = [...row.labels].sort().join('\u0000');
    const e = events.find((x) => [...(JSON.parse(x[8]) as string[] | null ?? [])].sort().join('\u0000') === want);
    if (!e) return;
    Object.assign(row, { eventId: e[0], action: e[1], annotator: e[2], at: e[3], source: e[4], suggestionSource: e[5], modelSha256: e[6], score: e[7] });
  }

  /** UID → where the item sits, for every item of a level. */
  itemMeta(level: Level): Map<string, ItemMeta> {
    const rows = this.db.prepare(META_SQL[level]).all() as (Omit<ItemMeta, 'path'> & { uid: string; minPath: string; maxPath: string })[];
    return new Map(rows.map(({ uid, minPath, maxPath, ...m }) => [uid, { ...m, modality: m.modality ?? '', path: commonFolder(minPath, maxPath) }]));
  }

  /** The images under an item (itself, for an image), in series and instance order. */
  images(level: Level, uid: string): ImageRef[] {
    // Called once per exported item (SRs, copies): one prepared statement per level, not one per call.
    let st = this.imageQueries.get(level);
    if (!st) {
      const where = level === 'image' ? 'i.sop_uid = ?' : level === 'series' ? 's.series_uid = ?' : 's.study_pk = (SELECT id FROM studies WHERE study_uid = ?)';
      st = this.db.prepare(`SELECT i.sop_uid AS sopUid, i.sop_class AS sopClass, s.series_uid AS seriesUid, f.path AS path, i.transfer_syntax AS transferSyntax
                            FROM instances i JOIN series s ON s.id = i.series_pk JOIN files f ON f.id = i.file_pk
                            WHERE i.is_image = 1 AND ${where} ORDER BY s.series_number IS NULL, s.series_number, s.id, i.instance_number IS NULL, i.instance_number, i.id`);
      this.imageQueries.set(level, st);
    }
    return st.all(uid) as ImageRef[];
  }

  private readonly imageQueries = new Map<Level, Database.Statement>();

  /** Every UID the project holds (studies, series, instances): the domain a pseudonymous UID is mapped back over. */
  allUids(): Iterable<string> {
    return this.db.prepare('SELECT study_uid FROM studies UNION ALL SELECT series_uid FROM series UNION ALL SELECT sop_uid FROM instances').pluck().iterate() as Iterable<string>;
  }

  models(): Map<string, { name: string; version: string }> {
    const rows = this.db.prepare('SELECT sha256, name, version FROM embedding_models').all() as { sha256: string; name: string; version: string }[];
    return new Map(rows.map((r) => [r.sha256, { name: r.name, version: r.version }]));
  }

  // ---- the de-identification key ----

  /** The project's pseudonymisation secret, created on first use. */
  secret(): Buffer {
    const row = this.db.prepare('SELECT secret FROM deid_key WHERE id = 1').pluck().get() as string | undefined;
    if (row) return Buffer.from(row, 'hex');
    const s = crypto.randomBytes(32);
    this.db.prepare('INSERT OR IGNORE INTO deid_key(id, secret, created_at) VALUES (1, ?, ?)').run(s.toString('hex'), new Date().toISOString());
    return Buffer.from(this.db.prepare('SELECT secret FROM deid_key WHERE id = 1').pluck().get() as string, 'hex');
  }

  /** Each patient's pseudonym and date shift, created (and kept) the first time the patient is exported de-identified. */
  patientKeys(keys: Iterable<string>, make: (key: string) => { pseudonym: string; dayOffset: number }): Map<string, { pseudonym: string; dayOffset: number }> {
    const get = this.db.prepare('SELECT pseudonym, day_offset AS dayOffset FROM deid_patients WHERE patient_key = ?');
    const put = this.db.prepare('INSERT INTO deid_patients(patient_key, pseudonym, day_offset) VALUES (?, ?, ?)');
    const out = new Map<string, { pseudonym: string; dayOffset: number }>();
    this.db.transaction(() => {
      for (const k of keys) {
        if (out.has(k)) continue;
        let v = get.get(k) as { pseudonym: string; dayOffset: number } | undefined;
        if (!v) {
          v = make(k);
          put.run(k, v.pseudonym, v.dayOffset);
        }
        out.set(k, v);
      }
    })();
    return out;
  }

  /** Pseudonym → patient key, for mapping a de-identified export back. */
  pseudonyms(): Map<string, string> {
    const rows = this.db.prepare('SELECT pseudonym, patient_key FROM deid_patients').raw().all() as [string, string][];
    return new Map(rows);
  }

  logExport(e: { annotator: string; out: string; options: unknown; rows: number; manifestSha256: string }): void {
    this.db.prepare('INSERT INTO exports(at, annotator, out, options, rows, manifest_sha256) VALUES (?, ?, ?, ?, ?, ?)')
      .run(new Date().toISOString(), e.annotator, e.out, JSON.stringify(e.options), e.rows, e.manifestSha256);
  }
}
