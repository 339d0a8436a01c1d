// What map.points answers: the cached layout of a level joined with what the renderer colours points by — each
// label group's decided label, the model's suggestion and its confidence (never in a blinded read, unless the item
// was decided or revealed), and indexed DICOM attributes. Columnar and dictionary-coded, so 100k points stay small.
import type Database from 'better-sqlite3';
import type { Coded, MapPoints } from '../../shared/contract.ts';
import { mostSpecific } from '../../shared/label-schema.ts';
import type { LabelGroup, Level } from '../../shared/label-schema.ts';
import type { LabelService } from '../labels/index.ts';
import type { SavedLayout } from './map-cache.ts';

const RANK: Record<Level, number> = { image: 0, series: 1, study: 2 };

export interface PointRow { id: number; instanceId: number; studyId: number; seriesId: number; image: string; series: string; study: string; modality: string; bodyPart: string; year: string; sex: string; patientId: string }

/** Per level: each item's representative image, its UIDs up the hierarchy and the attributes the map colours by. */
export const CONTEXT: Record<Level, string> = {
  image: `SELECT i.id AS id, i.id AS instanceId, st.id AS studyId, s.id AS seriesId, p.patient_id AS patientId, i.sop_uid AS image, s.series_uid AS series, st.study_uid AS study,
                 s.modality AS modality, s.body_part AS bodyPart, substr(st.study_date, 1, 4) AS year, p.sex AS sex
          FROM instances i JOIN series s ON s.id = i.series_pk JOIN studies st ON st.id = s.study_pk JOIN patients p ON p.id = st.patient_pk
          WHERE i.is_image = 1`,
  series: `SELECT s.id AS id, (SELECT min(i.id) FROM instances i WHERE i.series_pk = s.id AND i.is_image = 1) AS instanceId, st.id AS studyId, s.id AS seriesId, p.patient_id AS patientId,
                  '' AS image, s.series_uid AS series, st.study_uid AS study,
                  s.modality AS modality, s.body_part AS bodyPart, substr(st.study_date, 1, 4) AS year, p.sex AS sex
           FROM series s JOIN studies st ON st.id = s.study_pk JOIN patients p ON p.id = st.patient_pk`,
  study: `SELECT st.id AS id, (SELECT min(i.id) FROM instances i JOIN series s ON s.id = i.series_pk WHERE s.study_pk = st.id AND i.is_image = 1) AS instanceId,
                 st.id AS studyId, 0 AS seriesId, p.patient_id AS patientId, '' AS image, '' AS series, st.study_uid AS study,
                 (SELECT group_concat(DISTINCT s.modality) FROM series s WHERE s.study_pk = st.id) AS modality,
                 (SELECT group_concat(DISTINCT s.body_part) FROM series s WHERE s.study_pk = st.id AND s.body_part <> '') AS bodyPart,
                 substr(st.study_date, 1, 4) AS year, p.sex AS sex
          FROM studies st JOIN patients p ON p.id = st.patient_pk`,
};

class Coder {
  private readonly values: string[] = [];
  private readonly at = new Map<string, number>();
  readonly index: number[] = [];
  push(v: string | null): void {
    if (v === null || v === '') { this.index.push(-1); return; }
    let i = this.at.get(v);
    if (i === undefined) { i = this.values.length; this.values.push(v); this.at.set(v, i); }
    this.index.push(i);
  }
  coded(): Coded {
    return { values: this.values, index: this.index };
  }
}

/** A label value as one word: the most specific label of a single choice, the labels joined by '+' otherwise. */
export function labelWord(g: LabelGroup, labels: readonly string[] | null): string | null {
  if (labels === null) return null;
  if (g.kind === 'single') return mostSpecific(g, labels).at(-1) ?? null;
  return labels.length === 0 ? 'none' : [...labels].sort().join('+');
}

export function mapPoints(db: Database.Database, labels: LabelService, level: Level, model: MapPoints['model'], layout: SavedLayout | null, embedded: Int32Array): MapPoints {
  const blinded = labels.items.blinded;
  const empty: MapPoints = {
    level, ready: false, model, createdAt: '', unplaced: embedded.length, blinded, ids: [], x: [], y: [], studyIds: [], instanceIds: [], groups: [], attributes: {},
  };
  if (!layout) return empty;
  const context = new Map((db.prepare(CONTEXT[level]).all() as PointRow[]).map((r) => [r.id, r]));
  const inLayout = new Set(layout.ids);
  const rows: { r: PointRow; x: number; y: number }[] = [];
  layout.ids.forEach((id, i) => {
    const r = context.get(id);
    if (r) rows.push({ r, x: layout.xy[2 * i]!, y: layout.xy[2 * i + 1]! });
  });
  const { schema } = labels.schema();
  const groups = schema.groups.filter((g) => RANK[g.level] >= RANK[level]).map((g) => {
    const labelled = labels.repo.labelled(g.key, g.level);
    const label = new Coder();
    const suggestion = new Coder();
    const confidence: number[] = [];
    const cache = new Map<string, { l: string | null; s: string | null; c: number }>();
    for (const { r } of rows) {
      const uid = g.level === 'image' ? r.image : g.level === 'series' ? r.series : r.study;
      let v = cache.get(uid);
      if (!v) {
        const current = labelled.get(uid) ?? null;
        let s: string | null = null;
        let c = -1;
        if (labels.items.shown(g.level, uid, g.key)) {
          const st = labels.repo.state(g.level, uid, g.key);
          const sug = labels.suggestions.suggestion(g, uid, st.rejected);
          if (sug) { s = labelWord(g, sug.labels); c = sug.probability; }
        }
        v = { l: labelWord(g, current), s, c };
        cache.set(uid, v);
      }
      label.push(v.l);
      suggestion.push(v.s);
      confidence.push(v.c);
    }
    return {
      key: g.key, name: g.name, level: g.level, names: Object.fromEntries(g.labels.map((l) => [l.key, l.name])),
      label: label.coded(), suggestion: suggestion.coded(), confidence,
    };
  });
  const attrs: Record<string, Coder> = { modality: new Coder(), bodyPart: new Coder(), year: new Coder(), sex: new Coder() };
  for (const { r } of rows) {
    attrs.modality!.push(r.modality);
    attrs.bodyPart!.push(r.bodyPart);
    attrs.year!.push(r.year);
    attrs.sex!.push(r.sex);
  }
  return {
    ...empty,
    ready: true,
    createdAt: layout.createdAt,
    unplaced: [...embedded].filter((id) => !inLayout.has(id)).length,
    ids: rows.map((p) => p.r.id),
    x: rows.map((p) => p.x),
    y: rows.map((p) => p.y),
    studyIds: rows.map((p) => p.r.studyId),
    instanceIds: rows.map((p) => p.r.instanceId),
    groups,
    attributes: Object.fromEntries(Object.entries(attrs).map(([k, c]) => [k, c.coded()])),
  };
}
