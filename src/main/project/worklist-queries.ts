// The worklist and study queries: a page of studies with their label counts and a thumbnail, and one study's
// series and instances. Read-only SQL over the index; ProjectStore exposes them.
import type Database from 'better-sqlite3';
import { LightboxError, WorklistQuery as WorklistQuerySchema } from '../../shared/contract.ts';
import type { SeriesRow, StudyRow, WorklistQuery, WorklistRow } from '../../shared/contract.ts';

export function queryWorklist(db: Database.Database, q: WorklistQuery): { total: number; rows: WorklistRow[]; modalities: string[] } {
  const query = WorklistQuerySchema.parse(q);
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (query.search.trim()) {
    const like = `%${query.search.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push("(p.name LIKE ? ESCAPE '\\' OR p.patient_id LIKE ? ESCAPE '\\' OR s.accession LIKE ? ESCAPE '\\' OR s.description LIKE ? ESCAPE '\\')");
    args.push(like, like, like, like);
  }
  if (query.modality) {
    where.push('EXISTS (SELECT 1 FROM series x WHERE x.study_pk = s.id AND x.modality = ?)');
    args.push(query.modality);
  }
  if (query.dateFrom) { where.push('s.study_date >= ?'); args.push(query.dateFrom); }
  if (query.dateTo) { where.push("s.study_date <= ? AND s.study_date <> ''"); args.push(query.dateTo); }
  const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const sortSql: Record<typeof query.sort, string> = {
    patientName: 'p.name', patientId: 'p.patient_id', studyDate: 's.study_date', description: 's.description',
    modalities: 'modalities', seriesCount: 'seriesCount', instanceCount: 'instanceCount',
  };
  const dir = query.direction === 'asc' ? 'ASC' : 'DESC';
  const total = db.prepare(`SELECT count(*) FROM studies s JOIN patients p ON p.id = s.patient_pk ${whereSql}`).pluck().get(...args) as number;
  const rows = db.prepare(`${STUDY_SELECT} ${whereSql} ORDER BY ${sortSql[query.sort]} ${dir}, s.study_time ${dir}, s.id LIMIT ? OFFSET ?`)
    .all(...args, query.limit, query.offset) as StudyRow[];
  const modalities = db.prepare("SELECT DISTINCT modality FROM series WHERE modality <> '' ORDER BY modality").pluck().all() as string[];
  return { total, rows: withLabellingAndThumbnails(db, rows), modalities };
}

/**
 * Adds to a page of studies their label counts (from label_state: the study, its series and its images, by UID)
 * and a thumbnail image. One query each for the page, not one per row.
 */
function withLabellingAndThumbnails(db: Database.Database, rows: StudyRow[]): WorklistRow[] {
  if (rows.length === 0) return [];
  const ids = JSON.stringify(rows.map((r) => r.id));
  const counts = db.prepare(`
    WITH page(id) AS (SELECT value FROM json_each(?)),
    items AS (
      SELECT s.id AS study, ls.level, ls.item_uid, ls.group_key, ls.labels, ls.flagged, ls.last_event
        FROM page JOIN studies s ON s.id = page.id JOIN label_state ls ON ls.level = 'study' AND ls.item_uid = s.study_uid
      UNION ALL
      SELECT x.study_pk, ls.level, ls.item_uid, ls.group_key, ls.labels, ls.flagged, ls.last_event
        FROM page JOIN series x ON x.study_pk = page.id JOIN label_state ls ON ls.level = 'series' AND ls.item_uid = x.series_uid
      UNION ALL
      SELECT x.study_pk, ls.level, ls.item_uid, ls.group_key, ls.labels, ls.flagged, ls.last_event
        FROM page JOIN series x ON x.study_pk = page.id JOIN instances i ON i.series_pk = x.id
        JOIN label_state ls ON ls.level = 'image' AND ls.item_uid = i.sop_uid
    )
    SELECT it.study AS study,
      count(DISTINCT CASE WHEN it.group_key <> '' AND it.labels <> 'null' THEN it.level || ':' || it.item_uid END) AS labelled,
      count(DISTINCT CASE WHEN it.flagged = 1 THEN it.level || ':' || it.item_uid END) AS flagged,
      count(DISTINCT CASE WHEN it.group_key <> '' AND it.labels <> 'null' AND e.source IN ('suggestion', 'bulk') THEN it.level || ':' || it.item_uid END) AS suggested
    FROM items it JOIN label_events e ON e.id = it.last_event GROUP BY it.study`).all(ids) as { study: number; labelled: number; flagged: number; suggested: number }[];
  const byStudy = new Map(counts.map((c) => [c.study, c]));
  const thumbs = db.prepare(`
    SELECT page.id AS study, (
      SELECT i.id || ':' || i.frames FROM series x JOIN instances i ON i.series_pk = x.id
      WHERE x.study_pk = page.id AND i.is_image = 1
      ORDER BY x.series_number IS NULL, x.series_number, x.id, i.instance_number IS NULL, i.instance_number, i.id LIMIT 1
    ) AS thumb FROM (SELECT value AS id FROM json_each(?)) AS page`);
  const thumbOf = new Map((thumbs.raw().all(ids) as [number, string | null][]).map(([study, t]) => [study, t]));
  return rows.map((r) => {
    const c = byStudy.get(r.id);
    const t = thumbOf.get(r.id)?.split(':').map(Number);
    return {
      ...r,
      labelled: c?.labelled ?? 0,
      flagged: c?.flagged ?? 0,
      suggested: c?.suggested ?? 0,
      thumbnail: t && t[0] !== undefined && t[1] !== undefined ? { instanceId: t[0], frames: t[1] } : null,
    };
  });
}

export function readStudy(db: Database.Database, studyId: number): { study: StudyRow; series: SeriesRow[] } {
  const study = db.prepare(`${STUDY_SELECT} WHERE s.id = ?`).get(studyId) as StudyRow | undefined;
  if (!study) throw new LightboxError('not-found', `study ${studyId} is not in this project; refresh the worklist`);
  const seriesRows = db.prepare(`SELECT id, series_uid AS seriesUid, series_number AS seriesNumber, modality, body_part AS bodyPart,
      description FROM series WHERE study_pk = ? ORDER BY series_number IS NULL, series_number, id`).all(studyId) as Omit<SeriesRow, 'instances' | 'instanceCount' | 'imageCount' | 'frameCount' | 'rows' | 'columns' | 'transferSyntaxes' | 'sopClasses'>[];
  const inst = db.prepare(`SELECT id, instance_number AS instanceNumber, frames, is_image AS isImage, rows, columns,
      transfer_syntax AS ts, sop_class AS sc FROM instances WHERE series_pk = ? ORDER BY instance_number IS NULL, instance_number, id`);
  const series: SeriesRow[] = seriesRows.map((s) => {
    const list = inst.all(s.id) as { id: number; instanceNumber: number | null; frames: number; isImage: number; rows: number | null; columns: number | null; ts: string; sc: string }[];
    const images = list.filter((i) => i.isImage === 1);
    return {
      ...s,
      instanceCount: list.length,
      imageCount: images.length,
      frameCount: images.reduce((n, i) => n + i.frames, 0),
      rows: images[0]?.rows ?? null,
      columns: images[0]?.columns ?? null,
      transferSyntaxes: [...new Set(list.map((i) => i.ts))],
      sopClasses: [...new Set(list.map((i) => i.sc))],
      instances: list.map((i) => ({ id: i.id, instanceNumber: i.instanceNumber, frames: i.frames, isImage: i.isImage === 1 })),
    };
  });
  return { study, series };
}

const STUDY_SELECT = `SELECT s.id, s.study_uid AS studyUid, p.name AS patientName, p.patient_id AS patientId,
  p.birth_date AS patientBirthDate, p.sex AS patientSex, s.study_date AS studyDate, s.study_time AS studyTime,
  s.description, s.accession,
  coalesce((SELECT group_concat(m, '/') FROM (SELECT DISTINCT x.modality AS m FROM series x WHERE x.study_pk = s.id AND x.modality <> '' ORDER BY m)), '') AS modalities,
  (SELECT count(*) FROM series x WHERE x.study_pk = s.id) AS seriesCount,
  (SELECT count(*) FROM instances i JOIN series x ON x.id = i.series_pk WHERE x.study_pk = s.id) AS instanceCount
  FROM studies s JOIN patients p ON p.id = s.patient_pk`;
