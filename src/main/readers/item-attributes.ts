// The attributes an error analysis splits on, per item: from the index (modality, body part, patient sex, age band,
// study year, image size, photometric interpretation) and from the representative image's header (manufacturer,
// model name, institution, view position, pixel spacing band). Numbers are binned so every attribute is a category;
// a missing value is its own category, "(none)".
import { text } from '../dicom/attributes.ts';
import { parseDicomFile } from '../dicom/header.ts';
import type { Level } from '../../shared/label-schema.ts';
import type { ItemFacts, ReaderRepository } from '../project/reader-repo.ts';

export const ITEM_ATTRIBUTES = ['modality', 'manufacturer', 'model name', 'institution', 'view position', 'body part', 'patient sex', 'age band', 'study year', 'pixel spacing', 'photometric', 'image size'] as const;
const NONE = '(none)';
const or = (v: string | null | undefined): string => (v && v.trim() ? v.trim() : NONE);

function ageBand(f: ItemFacts, patientAge: string): string {
  let years: number | null = null;
  const m = /^(\d{3})([DWMY])$/.exec(patientAge.trim());
  if (m) years = m[2] === 'Y' ? Number(m[1]) : m[2] === 'M' ? Number(m[1]) / 12 : 0;
  else if (/^\d{8}$/.test(f.birthDate) && /^\d{8}$/.test(f.studyDate)) {
    const [by, bm, bd] = [f.birthDate.slice(0, 4), f.birthDate.slice(4, 6), f.birthDate.slice(6)].map(Number) as [number, number, number];
    const [sy, sm, sd] = [f.studyDate.slice(0, 4), f.studyDate.slice(4, 6), f.studyDate.slice(6)].map(Number) as [number, number, number];
    years = sy - by - (sm < bm || (sm === bm && sd < bd) ? 1 : 0);
  }
  if (years === null || years < 0) return NONE;
  const lo = Math.min(90, Math.floor(years / 10) * 10);
  return lo >= 90 ? '90+' : `${lo}–${lo + 9}`;
}

function spacingBand(spacing: string): string {
  const v = Number(spacing.split('\\')[0]);
  if (!Number.isFinite(v) || v <= 0) return NONE;
  return v < 0.2 ? '< 0.2 mm' : v < 0.4 ? '0.2–0.4 mm' : v < 0.8 ? '0.4–0.8 mm' : '≥ 0.8 mm';
}

function sizeBand(f: ItemFacts): string {
  if (!f.rows || !f.columns) return NONE;
  const side = Math.max(f.rows, f.columns);
  return side <= 512 ? '≤ 512 px' : side <= 1024 ? '513–1024 px' : side <= 2048 ? '1025–2048 px' : '> 2048 px';
}

/** Attribute values of each item (ITEM_ATTRIBUTES order), with the study it belongs to; null for an item not found. */
export function itemAttributes(repo: ReaderRepository, level: Level, uid: string): { values: string[]; studyId: number } | null {
  const f = repo.itemFacts(level, uid);
  if (!f) return null;
  let head: Record<string, string> = {};
  const parsed = parseDicomFile(f.path);
  if (!('notDicom' in parsed) && !('rejected' in parsed)) {
    const ds = parsed.dataSet;
    const cs = text(ds, 'x00080005');
    head = {
      manufacturer: text(ds, 'x00080070', cs), model: text(ds, 'x00081090', cs), institution: text(ds, 'x00080080', cs), view: text(ds, 'x00185101', cs),
      bodyPart: text(ds, 'x00180015', cs), age: text(ds, 'x00101010', cs), spacing: text(ds, 'x00280030', cs) || text(ds, 'x00181164', cs),
    };
  }
  const values = [
    or(f.modality), or(head.manufacturer), or(head.model), or(head.institution), or(head.view), or(f.bodyPart || head.bodyPart), or(f.sex),
    ageBand(f, head.age ?? ''), /^\d{4}/.test(f.studyDate) ? f.studyDate.slice(0, 4) : NONE, spacingBand(head.spacing ?? ''), or(f.photometric), sizeBand(f),
  ];
  return { values, studyId: f.studyId };
}
