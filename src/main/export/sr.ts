// DICOM Structured Reports of a study's labels: a Comprehensive SR holding a TID 1500 Measurement Report. Each
// labelled item and label group is one Measurement Group (TID 1501) whose qualitative evaluations are the labels,
// coded in the project's own scheme (99LBX: group key as concept name, label key as value), with the annotator as
// observer context, the time of the decision, and a reference to the labelled study, series or image. The Image
// Library lists every referenced image. parseSr reads the same structure back for re-import.
import dcmjs from 'dcmjs';
import type { Level } from '../../shared/label-schema.ts';
import { encodeDicom } from '../dicom/dicom-writer.ts';
import type { NaturalDataset } from '../dicom/dicom-writer.ts';
import { DEID_CODES, DEID_METHOD } from './deidentify.ts';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

export const COMPREHENSIVE_SR = '1.2.840.10008.5.1.4.1.1.88.33';
/** Private coding scheme (the "99" prefix marks a local scheme) for the project's label groups and labels. */
export const LABEL_SCHEME = '99LBX';

export interface SrImage { sopClass: string; sopUid: string; seriesUid: string }
export interface SrItem {
  level: Level;
  /** The labelled item's UID (study, series or SOP instance). */
  uid: string;
  group: { key: string; name: string };
  /** The most specific labels ([] when the reader decided none apply). */
  labels: { key: string; name: string }[];
  annotator: string;
  /** ISO time of the decision. */
  at: string;
  /** For an image-level item: the image. */
  image?: SrImage;
}
export interface SrStudy {
  patient: { name: string; id: string; birthDate: string; sex: string };
  study: { uid: string; date: string; time: string; accession: string; id: string };
  images: SrImage[];
  items: SrItem[];
  deidentified: boolean;
}

type Code = Record<string, string>;

function code(value: string, scheme: string, meaning: string): Code {
  // CodeValue is SH (16 characters); longer keys go in Long Code Value (UC).
  return { ...(value.length <= 16 ? { CodeValue: value } : { LongCodeValue: value }), CodingSchemeDesignator: scheme, CodeMeaning: meaning.slice(0, 64) };
}
const DCM = (value: string, meaning: string): Code => code(value, 'DCM', meaning);
const NONE = code('260413007', 'SCT', 'None');

function item(rel: string, type: string, concept: Code | null, extra: NaturalDataset): NaturalDataset {
  return { RelationshipType: rel, ValueType: type, ...(concept ? { ConceptNameCodeSequence: [concept] } : {}), ...extra };
}
const container = (rel: string, concept: Code, children: NaturalDataset[], extra: NaturalDataset = {}): NaturalDataset =>
  item(rel, 'CONTAINER', concept, { ContinuityOfContent: 'SEPARATE', ...extra, ContentSequence: children });
const imageRef = (rel: string, concept: Code | null, im: SrImage): NaturalDataset =>
  item(rel, 'IMAGE', concept, { ReferencedSOPSequence: [{ ReferencedSOPClassUID: im.sopClass, ReferencedSOPInstanceUID: im.sopUid }] });
const observer = (name: string): NaturalDataset[] => [
  item('HAS OBS CONTEXT', 'CODE', DCM('121005', 'Observer Type'), { ConceptCodeSequence: [DCM('121006', 'Person')] }),
  // The annotator id ("user@host") as the family name component: a PN with its component delimiter.
  item('HAS OBS CONTEXT', 'PNAME', DCM('121008', 'Person Observer Name'), { PersonName: `${name.replace(/[\\^=]/g, '_').slice(0, 63)}^` }),
];

/** DICOM DA/TM/DT from an ISO time. */
function dicomTime(iso: string): { date: string; time: string; dt: string } {
  const d = new Date(iso);
  const s = d.toISOString();
  const date = s.slice(0, 10).replaceAll('-', '');
  const time = s.slice(11, 19).replaceAll(':', '');
  // No UTC offset in the DT (even length, no padding): the data set says its times are UTC (Timezone Offset From UTC).
  return { date, time, dt: `${date}${time}` };
}

function measurementGroup(it: SrItem, trackingUid: string): NaturalDataset {
  const ref: NaturalDataset = it.level === 'image' && it.image
    ? imageRef('CONTAINS', DCM('121112', 'Source of Measurement'), it.image)
    : item('CONTAINS', 'UIDREF', it.level === 'series' ? DCM('112002', 'Series Instance UID') : DCM('110180', 'Study Instance UID'), { UID: it.uid });
  const concept = code(it.group.key, LABEL_SCHEME, it.group.name);
  const values = it.labels.length ? it.labels.map((l) => code(l.key, LABEL_SCHEME, l.name)) : [NONE];
  return container('CONTAINS', DCM('125007', 'Measurement Group'), [
    ...observer(it.annotator),
    item('CONTAINS', 'TEXT', DCM('112039', 'Tracking Identifier'), { TextValue: `${it.group.name} of ${it.level} ${it.uid}`.slice(0, 1024) }),
    item('CONTAINS', 'UIDREF', DCM('112040', 'Tracking Unique Identifier'), { UID: trackingUid }),
    ref,
    ...values.map((v) => item('CONTAINS', 'CODE', concept, { ConceptCodeSequence: [v] })),
  ], { ObservationDateTime: dicomTime(it.at).dt });
}

/** One study's labels as a Comprehensive SR (Part 10 bytes). */
export function buildSr(s: SrStudy, ids: { seriesUid: string; sopUid: string; trackingUid: (it: SrItem) => string; now: string }): Buffer {
  const now = dicomTime(ids.now);
  const annotators = [...new Set(s.items.map((i) => i.annotator))];
  const bySeries = new Map<string, SrImage[]>();
  for (const im of s.images) bySeries.set(im.seriesUid, [...(bySeries.get(im.seriesUid) ?? []), im]);
  const ds: NaturalDataset = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: COMPREHENSIVE_SR,
    SOPInstanceUID: ids.sopUid,
    TimezoneOffsetFromUTC: '+0000',
    InstanceCreationDate: now.date,
    InstanceCreationTime: now.time,
    StudyInstanceUID: s.study.uid,
    SeriesInstanceUID: ids.seriesUid,
    PatientName: s.patient.name,
    PatientID: s.patient.id,
    PatientBirthDate: s.patient.birthDate,
    PatientSex: s.patient.sex,
    StudyDate: s.study.date,
    StudyTime: s.study.time,
    ReferringPhysicianName: '',
    StudyID: s.study.id,
    AccessionNumber: s.study.accession,
    Modality: 'SR',
    SeriesNumber: '9901',
    SeriesDescription: 'Lightbox labels',
    ReferencedPerformedProcedureStepSequence: [],
    Manufacturer: 'Lightbox',
    InstanceNumber: '1',
    ContentDate: now.date,
    ContentTime: now.time,
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: [{
      StudyInstanceUID: s.study.uid,
      ReferencedSeriesSequence: [...bySeries].map(([seriesUid, ims]) => ({
        SeriesInstanceUID: seriesUid,
        ReferencedSOPSequence: ims.map((im) => ({ ReferencedSOPClassUID: im.sopClass, ReferencedSOPInstanceUID: im.sopUid })),
      })),
    }],
    CodingSchemeIdentificationSequence: [{
      CodingSchemeDesignator: LABEL_SCHEME,
      CodingSchemeName: 'Lightbox project label schema',
      CodingSchemeResponsibleOrganization: 'Lightbox',
    }],
    ...(s.deidentified ? {
      PatientIdentityRemoved: 'YES',
      DeidentificationMethod: DEID_METHOD.slice(0, 64),
      DeidentificationMethodCodeSequence: DEID_CODES,
      LongitudinalTemporalInformationModified: 'MODIFIED',
    } : {}),
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [DCM('126000', 'Imaging Measurement Report')],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
    ContentSequence: [
      item('HAS CONCEPT MOD', 'CODE', DCM('121049', 'Language of Content Item and Descendants'), { ConceptCodeSequence: [code('en', 'RFC5646', 'English')] }),
      ...annotators.flatMap(observer),
      item('HAS CONCEPT MOD', 'CODE', DCM('121058', 'Procedure reported'), { ConceptCodeSequence: [code('363679005', 'SCT', 'Imaging')] }),
      container('CONTAINS', DCM('111028', 'Image Library'), [...bySeries.values()].map((ims) =>
        container('CONTAINS', DCM('126200', 'Image Library Group'), ims.map((im) => imageRef('CONTAINS', null, im))))),
      container('CONTAINS', DCM('126010', 'Imaging Measurements'), s.items.map((it) => measurementGroup(it, ids.trackingUid(it)))),
    ],
  };
  return encodeDicom(ds);
}

// ---- reading back ----

export interface ParsedSrLabel { level: Level; uid: string; group: string; labels: string[]; annotator: string; at: string }

type Natural = Record<string, unknown>;
const seq = (ds: Natural, key: string): Natural[] => {
  const v = ds[key];
  return Array.isArray(v) ? (v as Natural[]) : v && typeof v === 'object' ? [v as Natural] : [];
};
const codeOf = (c: Natural | undefined): { value: string; scheme: string } | null =>
  c ? { value: String(c.CodeValue ?? c.LongCodeValue ?? ''), scheme: String(c.CodingSchemeDesignator ?? '') } : null;
const conceptOf = (ds: Natural): string => codeOf(seq(ds, 'ConceptNameCodeSequence')[0])?.value ?? '';
const personName = (v: unknown): string => {
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : first && typeof first === 'object' ? String((first as { Alphabetic?: string }).Alphabetic ?? '') : '';
};

function isoOf(dt: unknown): string {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?/.exec(String(dt ?? ''));
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}Z` : '';
}

/** The labels a Lightbox SR holds; throws with what is wrong when the bytes are not one. */
export function parseSr(bytes: Uint8Array): { studyUid: string; labels: ParsedSrLabel[] } {
  const msg = DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const ds = DicomMetaDictionary.naturalizeDataset(msg.dict) as Natural;
  if (ds.Modality !== 'SR' || conceptOf(ds) !== '126000') throw new Error('not a TID 1500 measurement report (Modality SR, concept 126000)');
  const studyUid = String(ds.StudyInstanceUID ?? '');
  const measurements = seq(ds, 'ContentSequence').find((c) => conceptOf(c) === '126010');
  if (!measurements) throw new Error('the report has no Imaging Measurements container (126010)');
  const labels: ParsedSrLabel[] = [];
  for (const g of seq(measurements, 'ContentSequence')) {
    if (conceptOf(g) !== '125007') continue;
    const out: ParsedSrLabel = { level: 'study', uid: '', group: '', labels: [], annotator: '', at: isoOf(g.ObservationDateTime) };
    for (const c of seq(g, 'ContentSequence')) {
      const concept = codeOf(seq(c, 'ConceptNameCodeSequence')[0]);
      if (c.ValueType === 'PNAME' && concept?.value === '121008') out.annotator = personName(c.PersonName).replace(/\^+$/, '');
      else if (c.ValueType === 'UIDREF' && concept?.value === '110180') Object.assign(out, { level: 'study', uid: String(c.UID) });
      else if (c.ValueType === 'UIDREF' && concept?.value === '112002') Object.assign(out, { level: 'series', uid: String(c.UID) });
      else if (c.ValueType === 'IMAGE' && concept?.value === '121112') {
        Object.assign(out, { level: 'image', uid: String(seq(c, 'ReferencedSOPSequence')[0]?.ReferencedSOPInstanceUID ?? '') });
      } else if (c.ValueType === 'CODE' && concept?.scheme === LABEL_SCHEME) {
        out.group = concept.value;
        const v = codeOf(seq(c, 'ConceptCodeSequence')[0]);
        if (v && v.scheme === LABEL_SCHEME) out.labels.push(v.value);
      }
    }
    if (out.group && out.uid) labels.push(out);
  }
  return { studyUid, labels };
}
