// De-identification (DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile with the Retain
// Longitudinal Temporal Information with Modified Dates option). UIDs are replaced by an HMAC of the project's
// secret (the same UID always maps to the same pseudonym, in every export of this project); each patient gets a
// pseudonym and a date shift kept in the project (deid_patients). Neither the secret nor the table ever goes into an
// export: only the project can map an export back.
import crypto from 'node:crypto';
import fs from 'node:fs';
import dcmjs from 'dcmjs';
import type { ExportRepository } from '../project/export-repo.ts';
import { ANNEX_E } from './annex-e.ts';

const { DicomMessage, DicomDict } = dcmjs.data;

/** UIDs under the DICOM root name registered things (SOP classes, transfer syntaxes, codes): never patient data. */
const REGISTERED_ROOT = '1.2.840.10008.';
const DEFLATED_LE = '1.2.840.10008.1.2.1.99';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

export const DEID_METHOD = 'Lightbox: PS3.15 Annex E Basic Application Level Confidentiality Profile, Retain Longitudinal Temporal Information with Modified Dates Option';
export const DEID_CODES = [
  { CodeValue: '113100', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Basic Application Confidentiality Profile' },
  { CodeValue: '113107', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Retain Longitudinal Temporal Information Modified Dates Option' },
];

export interface PatientPseudonym { pseudonym: string; dayOffset: number }

function hmac(secret: Buffer, text: string): Buffer {
  return crypto.createHmac('sha256', secret).update(text).digest();
}

/** The pseudonym of a UID: the first 128 bits of its HMAC under the project secret, as a 2.25 UID. */
function pseudoUid(secret: Buffer, uid: string): string {
  return `2.25.${BigInt(`0x${hmac(secret, `uid:${uid}`).subarray(0, 16).toString('hex')}`).toString(10)}`;
}

/** YYYYMMDD moved by whole days; a partial or malformed date cannot be shifted exactly, so it is removed. */
export function shiftDate(value: string, days: number): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value.trim());
  if (!m) return '';
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + days * 86_400_000;
  if (Number.isNaN(t)) return '';
  return new Date(t).toISOString().slice(0, 10).replaceAll('-', '');
}

function shiftDateTime(value: string, days: number): string {
  const v = value.trim();
  if (v.length < 8) return '';
  const d = shiftDate(v.slice(0, 8), days);
  return d ? d + v.slice(8) : '';
}

export class Pseudonymizer {
  private readonly secret: Buffer;
  private readonly patients: Map<string, PatientPseudonym>;
  private readonly uids = new Map<string, string>();

  /** Loads (creating on first use) the pseudonyms of the given patients. */
  constructor(repo: ExportRepository, patientKeys: Iterable<string>) {
    this.secret = repo.secret();
    this.patients = repo.patientKeys(patientKeys, (key) => {
      const h = hmac(this.secret, `patient:${key}`);
      // One to ten years back: intervals between a patient's dates survive, the calendar dates do not.
      return { pseudonym: `LBX${h.subarray(0, 5).toString('hex').toUpperCase()}`, dayOffset: -(365 + (h.readUInt32BE(8) % 3288)) };
    });
  }

  /** The pseudonymous UID (2.25 root) of a UID; registered DICOM UIDs pass through. */
  uid(u: string): string {
    if (!u || u.startsWith(REGISTERED_ROOT)) return u;
    let p = this.uids.get(u);
    if (!p) {
      p = pseudoUid(this.secret, u);
      this.uids.set(u, p);
    }
    return p;
  }

  patient(key: string): PatientPseudonym {
    const p = this.patients.get(key);
    if (!p) throw new Error(`de-identification: patient ${key} has no pseudonym (not loaded for this export)`);
    return p;
  }

  date(value: string, patientKey: string): string {
    return value ? shiftDate(value, this.patient(patientKey).dayOffset) : '';
  }

  /** Pseudonym → original for every UID the project holds, and pseudonym → patient key: what maps an export back. */
  static reverse(repo: ExportRepository): { uids: Map<string, string>; patients: Map<string, string> } {
    const secret = repo.secret();
    const uids = new Map<string, string>();
    for (const u of repo.allUids()) uids.set(pseudoUid(secret, u), u);
    return { uids, patients: repo.pseudonyms() };
  }
}

// ---- de-identified DICOM copies ----

interface RawElement { vr: string; Value?: unknown[]; InlineBinary?: string }
type RawDataSet = Record<string, RawElement>;

const str = (e: RawElement | undefined): string => {
  const v = e?.Value?.[0];
  return typeof v === 'string' ? v : '';
};

/**
 * Applies the profile to a raw data set (dcmjs "dict" form), recursing into sequences. On top of the table:
 * private and curve/overlay groups are removed, every other person name is emptied, every non-registered UID is
 * replaced, and every date is shifted by the patient's offset (the Modified Dates option).
 */
function scrub(ds: RawDataSet, pz: Pseudonymizer, patientKey: string): void {
  const days = pz.patient(patientKey).dayOffset;
  for (const tag of Object.keys(ds)) {
    const el = ds[tag]!;
    const group = parseInt(tag.slice(0, 4), 16);
    if (group % 2 === 1 || (group >= 0x5000 && group <= 0x50ff) || (group >= 0x6000 && group <= 0x60ff)) {
      delete ds[tag];
      continue;
    }
    const rule = ANNEX_E.get(tag);
    if (rule?.action === 'X') {
      delete ds[tag];
      continue;
    }
    if (el.vr === 'SQ') {
      for (const item of (el.Value ?? []) as RawDataSet[]) scrub(item, pz, patientKey);
      continue;
    }
    if (rule?.action === 'U' || el.vr === 'UI') {
      el.Value = (el.Value ?? []).map((v) => (typeof v === 'string' ? pz.uid(v) : v));
      continue;
    }
    if (el.vr === 'DA' && tag !== '00100030') {
      el.Value = (el.Value ?? []).map((v) => (typeof v === 'string' ? shiftDate(v, days) : v)).filter((v) => v !== '');
      continue;
    }
    if (el.vr === 'DT') {
      el.Value = (el.Value ?? []).map((v) => (typeof v === 'string' ? shiftDateTime(v, days) : v)).filter((v) => v !== '');
      continue;
    }
    // Times of day are kept with the shifted dates (the option); other Z and D attributes, and any person name, go empty.
    if ((rule && rule.action !== 'K' && el.vr !== 'TM') || el.vr === 'PN') el.Value = [];
  }
}

/** Writes a de-identified copy of one DICOM file; the pixel data is copied as it is (the profile's default). */
export function writeDeidentifiedCopy(src: string, dest: string, pz: Pseudonymizer, patientKey: string): void {
  const bytes = fs.readFileSync(src);
  const msg = DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const ds = msg.dict as RawDataSet;
  if (str(ds['00280301']).toUpperCase() === 'YES') {
    throw new Error('Burned In Annotation is YES: the pixels may show identifiers, which this profile does not clean; not copied');
  }
  scrub(ds, pz, patientKey);
  const p = pz.patient(patientKey);
  ds['00100010'] = { vr: 'PN', Value: [{ Alphabetic: p.pseudonym }] };
  ds['00100020'] = { vr: 'LO', Value: [p.pseudonym] };
  ds['00120062'] = { vr: 'CS', Value: ['YES'] };
  ds['00120063'] = { vr: 'LO', Value: [DEID_METHOD.slice(0, 64)] };
  ds['00120064'] = {
    vr: 'SQ',
    Value: DEID_CODES.map((c) => ({ '00080100': { vr: 'SH', Value: [c.CodeValue] }, '00080102': { vr: 'SH', Value: [c.CodingSchemeDesignator] }, '00080104': { vr: 'LO', Value: [c.CodeMeaning] } })),
  };
  ds['00280303'] = { vr: 'CS', Value: ['MODIFIED'] };
  const meta = msg.meta as RawDataSet;
  meta['00020003'] = { vr: 'UI', Value: [pz.uid(str(meta['00020003']))] };
  // dcmjs reads a deflated data set but writes it back inflated: say so in the meta header.
  if (str(meta['00020010']) === DEFLATED_LE) meta['00020010'] = { vr: 'UI', Value: [EXPLICIT_LE] };
  const out = new DicomDict(meta);
  out.dict = ds;
  fs.writeFileSync(dest, Buffer.from(out.write()));
}
