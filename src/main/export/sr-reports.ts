// One DICOM SR per study: the study's exported rows as coded findings (buildSr writes the object), with identifiers
// mapped through the pseudonymiser when de-identified.
import type { LabelSchema } from '../../shared/label-schema.ts';
import { mostSpecific } from '../../shared/label-schema.ts';
import { uidFrom } from '../dicom/dicom-writer.ts';
import type { ExportRepository } from '../project/export-repo.ts';
import type { Pseudonymizer } from './deidentify.ts';
import type { ExportRow } from './export-rows.ts';
import { buildSr } from './sr.ts';
import type { SrItem } from './sr.ts';

/** What all of one export's SRs share: their series, the content time, and whether they are de-identified. */
export interface SrSeries { seriesUid: string; now: string; deidentified: boolean }

export function studyReport(repo: ExportRepository, rows: readonly ExportRow[], schema: LabelSchema, pz: Pseudonymizer | null, ids: SrSeries): Buffer {
  const m = rows[0]!.meta;
  const map = (u: string): string => (pz ? pz.uid(u) : u);
  const images = new Map<string, { sopClass: string; sopUid: string; seriesUid: string }>();
  const items: SrItem[] = rows.map(({ source: r }) => {
    const g = schema.groups.find((x) => x.key === r.group)!;
    const ims = repo.images(r.level, r.uid).map((im) => ({ sopClass: im.sopClass, sopUid: map(im.sopUid), seriesUid: map(im.seriesUid) }));
    for (const im of ims) images.set(im.sopUid, im);
    const most = mostSpecific(g, r.labels);
    return {
      level: r.level,
      uid: map(r.uid),
      group: { key: g.key, name: g.name },
      labels: most.map((k) => ({ key: k, name: g.labels.find((l) => l.key === k)?.name ?? k })),
      annotator: r.annotator,
      at: r.at,
      ...(r.level === 'image' && ims[0] ? { image: ims[0] } : {}),
    };
  });
  const patient = pz
    ? { name: pz.patient(m.patientKey).pseudonym, id: pz.patient(m.patientKey).pseudonym, birthDate: '', sex: '' }
    : { name: m.patientName, id: m.patientId, birthDate: m.birthDate, sex: m.sex };
  const study = pz
    ? { uid: map(m.studyUid), date: pz.date(m.studyDate, m.patientKey), time: m.studyTime, accession: '', id: '' }
    : { uid: m.studyUid, date: m.studyDate, time: m.studyTime, accession: m.accession, id: m.studyId };
  return buildSr({ patient, study, images: [...images.values()], items, deidentified: ids.deidentified }, {
    seriesUid: ids.seriesUid,
    sopUid: uidFrom(`${ids.seriesUid}:${study.uid}`),
    trackingUid: (it) => uidFrom(`${ids.seriesUid}:${it.level}:${it.uid}:${it.group.key}`),
    now: ids.now,
  });
}
