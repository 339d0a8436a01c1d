// Export through the public surfaces (API calls, CLI, files on disk) and judged by other tools: pandas reads the
// tables, sha256sum checks the manifest's sums, dciodvfy (dicom3tools) and dsrdump (dcmtk) judge the SRs, and every
// identifier the Annex E profile names is searched for in the de-identified output.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import dcmjs from 'dcmjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import type { DemoTruth } from '../../src/main/demo/demo-data.ts';
import { writeDicom } from '../../src/main/dicom/dicom-writer.ts';
import { ANNEX_E } from '../../src/main/export/annex-e.ts';
import { Pseudonymizer, writeDeidentifiedCopy } from '../../src/main/export/deidentify.ts';
import { COLUMNS } from '../../src/main/export/index.ts';
import { assignGroups } from '../../src/main/export/splits.ts';
import { ExportOptions } from '../../src/shared/contract.ts';
import type { CallName, CallResult, ExportSummary, LabelSchema } from '../../src/shared/contract.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { APP } from '../../src/shared/version.ts';
import { FIXTURE_DIR, importInto, openDemoProject, tempDir } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HOME = tempDir('lightbox-home-');
process.env.LIGHTBOX_HOME = HOME;
const PY = '/usr/bin/python3';
const cli = (...args: string[]): string =>
  execFileSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, LIGHTBOX_HOME: HOME }, stdio: ['ignore', 'pipe', 'pipe'] });

const SCHEMA: LabelSchema = {
  ...DEMO_SCHEMA,
  groups: [
    ...DEMO_SCHEMA.groups,
    { key: 'slice', name: 'Slice content', kind: 'single', level: 'image', description: '', labels: [{ key: 'lung', name: 'Lung', prompt: '' }, { key: 'other', name: 'Other', prompt: '' }] },
  ],
};

/** Identifying attributes beyond what the demo files carry, in one extra study (with a private tag). */
const EXTRA = {
  PatientName: 'Smith^Jane^Q', PatientID: 'MRN-7734921', PatientBirthDate: '19551231', PatientSex: 'F', PatientAddress: '12 Harbour Road, Leith',
  OtherPatientIDs: 'NHS-9434765919', PatientTelephoneNumbers: '0131-496-0000', ReferringPhysicianName: 'Jones^Alice', OperatorsName: 'Brown^Tech',
  InstitutionName: 'Royal Infirmary of Example', InstitutionAddress: '51 Little France Crescent', StationName: 'XRAYROOM7', AccessionNumber: 'RIE20240001',
  StudyID: 'S77341', StudyDescription: 'CHEST PA for Jane', SeriesDescription: 'PA upright Smith', PerformingPhysicianName: 'Green^Bob',
  DeviceSerialNumber: 'SN-4481-XR', ImageComments: 'patient Jane Smith, bed 4', StudyDate: '20240312', StudyTime: '083000', SeriesDate: '20240312',
  AcquisitionDate: '20240312', ContentDate: '20240312', PatientAge: '068Y',
};

let project: string;
let dataDir: string;
let app: Lightbox;
let truth: DemoTruth;
let studyIds: { id: number; uid: string; cls: string | null }[];
const outs = tempDir('lightbox-exports-');
let n = 0;
const outDir = (): string => path.join(outs, `e${++n}`);

async function call<N extends CallName>(name: N, input: unknown, on: Lightbox = app): Promise<CallResult<N>> {
  const r = await on.call(name, input);
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.result as CallResult<N>;
}
async function exportTo(options: Record<string, unknown>, on: Lightbox = app): Promise<ExportSummary> {
  return on.exports.start({ out: outDir(), options: ExportOptions.parse(options) }).done;
}
const py = (script: string, ...args: string[]): string => execFileSync(PY, ['-c', script, ...args], { encoding: 'utf8' });
const readJsonl = (f: string): Record<string, unknown>[] => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const stateOf = (a: Lightbox, groups: string[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of a.labels.repo.derivedState()) {
    const [, , g] = k.split('|');
    if (g === '' || groups.includes(g!)) out[k] = g === '' ? { flagged: v.flagged, note: v.note } : [...(v.labels ?? ['<null>'])].sort();
  }
  return out;
};

beforeAll(async () => {
  // One extra study full of identifiers (and a private block) joins the demo set before import.
  ({ app, project, dataDir, truth } = await openDemoProject({ count: 60, ctSeries: 1 }, (data) => {
    writeDicom(path.join(data, 'extra', 'smith.dcm'), {
      SpecificCharacterSet: 'ISO_IR 192', SOPClassUID: '1.2.840.10008.5.1.4.1.1.7', SOPInstanceUID: '1.2.826.0.1.3680043.99.7734921.3', Modality: 'DX',
      StudyInstanceUID: '1.2.826.0.1.3680043.99.7734921.1', SeriesInstanceUID: '1.2.826.0.1.3680043.99.7734921.2', FrameOfReferenceUID: '1.2.826.0.1.3680043.99.7734921.4',
      SeriesNumber: '1', InstanceNumber: '1', ...EXTRA, Rows: 8, Columns: 8, SamplesPerPixel: 1, PhotometricInterpretation: 'MONOCHROME2', BitsAllocated: 8, BitsStored: 8, HighBit: 7,
      PixelRepresentation: 0, PixelData: new Uint8Array(64).buffer, _vrMap: { PixelData: 'OB' },
    });
    // A private block (creator and element), added in the raw form: dcmjs's naturalized writer drops unknown tags.
    const smith = path.join(data, 'extra', 'smith.dcm');
    const b = fs.readFileSync(smith);
    const msg = dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    msg.dict['00190010'] = { vr: 'LO', Value: ['LIGHTBOX TEST'] };
    msg.dict['00191010'] = { vr: 'LO', Value: ['private: Jane Smith'] };
    fs.writeFileSync(smith, Buffer.from(msg.write()));
  }));
  await call('labels.setSchema', { schema: SCHEMA });
  const rows = app.store.db.prepare(`SELECT st.id, st.study_uid, min(i.sop_uid) AS sop FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id
                                     GROUP BY st.id ORDER BY st.id`).all() as { id: number; study_uid: string; sop: string }[];
  studyIds = rows.map((r) => ({ id: r.id, uid: r.study_uid, cls: truth.instances[r.sop]?.kind === 'cxr' ? truth.instances[r.sop]!.class : null }));
  // Every CXR study labelled with its class; some flagged, some with notes; image quality on a few (one "none").
  let i = 0;
  for (const s of studyIds) {
    i++;
    const label = s.cls ?? 'normal';
    await call('labels.set', { level: 'study', itemId: s.id, group: 'finding', labels: [label] });
    if (i % 9 === 0) await call('labels.flag', { level: 'study', itemId: s.id, flagged: true });
    if (i % 7 === 0) await call('labels.note', { level: 'study', itemId: s.id, note: `check "apex", then base,\nsecond line ${i}` });
    if (i % 5 === 0) await call('labels.set', { level: 'study', itemId: s.id, group: 'quality', labels: i % 10 === 0 ? [] : ['rotated', 'artefact'] });
  }
  const slices = app.store.db.prepare("SELECT i.id FROM instances i JOIN series s ON s.id = i.series_pk WHERE s.modality = 'CT' ORDER BY i.id LIMIT 6").pluck().all() as number[];
  for (const [k, id] of slices.entries()) await call('labels.set', { level: 'image', itemId: id, group: 'slice', labels: [k % 2 ? 'lung' : 'other'] });
  // A label changed and then undone: the export names the event that set the value in force.
  await call('labels.set', { level: 'study', itemId: studyIds[0]!.id, group: 'finding', labels: ['nodule'] });
  await call('labels.undo', {});
}, 120_000);

afterAll(async () => {
  await app?.close();
});

describe('tables', () => {
  let s: ExportSummary;
  beforeAll(async () => { s = await exportTo({ formats: ['csv', 'jsonl'] }); });

  it('pandas reads labels.csv and labels.jsonl with the documented columns, one row per accepted item and group', () => {
    const accepted = app.exports.repo.labelRows().filter((r) => !r.flagged).length;
    expect(s.rows).toBe(accepted);
    const out = JSON.parse(py(`
import json, sys, pandas as pd
c = pd.read_csv(sys.argv[1] + '/labels.csv', dtype=str, keep_default_na=False)
j = pd.read_json(sys.argv[1] + '/labels.jsonl', lines=True, dtype=False)
print(json.dumps({'csv': list(c.columns), 'json': list(j.columns), 'rows': len(c), 'jrows': len(j),
  'notes': sorted(set(c['note']) - {''}), 'multi': c[c.group == 'quality'].label.tolist(), 'jlabels': j[j.group == 'finding'].labels.tolist()[:3]}))`, s.out));
    expect(out.csv).toEqual(COLUMNS.map(([k]) => k));
    expect(out.json).toEqual(COLUMNS.map(([k]) => k));
    expect(out.rows).toBe(accepted);
    expect(out.jrows).toBe(accepted);
    // Quotes, commas and line breaks in notes survive the CSV.
    expect(out.notes.some((x: string) => x.includes('"apex", then base,\nsecond line'))).toBe(true);
    expect(out.multi).toContain('rotated;artefact');
    expect(out.multi).toContain('');
    expect(Array.isArray(out.jlabels[0])).toBe(true);
  });

  it('rows carry provenance: relative paths, hierarchy, annotator, source and the event in force after an undo', () => {
    const rows = readJsonl(path.join(s.out, 'labels.jsonl'));
    const effusion = rows.find((r) => r.group === 'finding' && (r.label as string[])[0] === 'effusion')!;
    expect(effusion.labels).toEqual(['abnormal', 'effusion']);
    expect(effusion.source).toBe('manual');
    expect(effusion.annotator).toMatch(/@/);
    expect(fs.existsSync(path.join(effusion.root as string, effusion.path as string))).toBe(true);
    expect(effusion.path).not.toMatch(/^\//);
    const image = rows.find((r) => r.level === 'image')!;
    expect(image.sop_uid).toBeTruthy();
    expect(fs.statSync(path.join(image.root as string, image.path as string)).isFile()).toBe(true);
    const undone = rows.find((r) => r.study_uid === studyIds[0]!.uid && r.group === 'finding')!;
    const ev = app.labels.repo.event(undone.event_id as number)!;
    expect(ev.action).toBe('set');
    expect(ev.value).toEqual(undone.labels);
  });

  it('filters by status, group, level and date', async () => {
    const flagged = app.exports.repo.labelRows().filter((r) => r.flagged).length;
    expect(flagged).toBeGreaterThan(0);
    expect((await call('export.preview', { statuses: ['accepted', 'flagged'] })).rows).toBe(s.rows + flagged);
    const onlyFlagged = readJsonl(path.join((await exportTo({ statuses: ['flagged'], formats: ['jsonl'] })).out, 'labels.jsonl'));
    expect(onlyFlagged.every((r) => r.status === 'flagged')).toBe(true);
    expect((await call('export.preview', { groups: ['quality'] })).balance).toEqual({ quality: expect.any(Object) });
    expect(Object.keys((await call('export.preview', { levels: ['image'] })).balance)).toEqual(['slice']);
    expect((await call('export.preview', { labelledTo: '2000-01-01' })).rows).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    expect((await call('export.preview', { labelledFrom: today, labelledTo: today })).rows).toBe(s.rows);
    expect((await app.call('export.preview', { groups: ['nope'] })).ok).toBe(false);
  });

  it('the manifest names schema, counts, options and the SHA-256 of every file; sha256sum verifies it and catches a change', () => {
    const m = JSON.parse(fs.readFileSync(path.join(s.out, 'manifest.json'), 'utf8'));
    expect(m.format).toBe('lightbox-export/1');
    expect(m.app.version).toBe(APP.version);
    expect(m.schema.groups.map((g: { key: string }) => g.key)).toEqual(['finding', 'quality', 'slice']);
    expect(m.counts.rows).toBe(s.rows);
    expect(m.options.formats).toEqual(['csv', 'jsonl']);
    for (const f of m.files as { path: string; sha256: string; bytes: number }[]) {
      const bytes = fs.readFileSync(path.join(s.out, f.path));
      expect(crypto.createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
      expect(bytes.length).toBe(f.bytes);
    }
    expect(spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: s.out }).status).toBe(0);
    const copy = path.join(outs, 'tampered');
    fs.cpSync(s.out, copy, { recursive: true });
    fs.appendFileSync(path.join(copy, 'labels.csv'), 'x');
    expect(spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: copy }).status).not.toBe(0);
  });

  it('the application version matches package.json, and the README documents every column', () => {
    expect(APP.version).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const [k] of COLUMNS) expect(readme, k).toContain(`| \`${k}\` |`);
  });
});

describe('splits', () => {
  it('keeps every patient in one split and one fold, stratified, reproducible from the seed', async () => {
    const a = readJsonl(path.join((await exportTo({ formats: ['jsonl'], split: [60, 20, 20], folds: 3, seed: 7 })).out, 'labels.jsonl'));
    const b = readJsonl(path.join((await exportTo({ formats: ['jsonl'], split: [60, 20, 20], folds: 3, seed: 7 })).out, 'labels.jsonl'));
    const c = readJsonl(path.join((await exportTo({ formats: ['jsonl'], split: [60, 20, 20], folds: 3, seed: 8 })).out, 'labels.jsonl'));
    const splitOf = new Map<string, Set<unknown>>();
    const foldOf = new Map<string, Set<unknown>>();
    for (const r of a) {
      splitOf.set(r.patient_id as string, (splitOf.get(r.patient_id as string) ?? new Set()).add(r.split));
      foldOf.set(r.patient_id as string, (foldOf.get(r.patient_id as string) ?? new Set()).add(r.fold));
      expect(['train', 'val', 'test']).toContain(r.split);
      if (r.split === 'test') expect(r.fold).toBeNull();
      else expect([0, 1, 2]).toContain(r.fold);
    }
    expect([...splitOf.values()].every((x) => x.size === 1)).toBe(true);
    expect([...foldOf.values()].every((x) => x.size === 1)).toBe(true);
    // Patients with follow-up studies exist, so grouping is really tested.
    expect(a.filter((r) => r.group === 'finding').length).toBeGreaterThan(splitOf.size);
    expect(b.map((r) => r.split)).toEqual(a.map((r) => r.split));
    expect(c.map((r) => r.split)).not.toEqual(a.map((r) => r.split));
    const share = (rows: Record<string, unknown>[], split: string): number => rows.filter((r) => r.split === split && r.group === 'finding').length / rows.filter((r) => r.group === 'finding').length;
    expect(share(a, 'train')).toBeGreaterThan(0.5);
    expect(share(a, 'train')).toBeLessThan(0.7);
  });

  it('stratifies: each label is spread over the parts in proportion', () => {
    // 300 single-item patients over three labels (one rare): greedy placement hits the targets closely.
    const units = Array.from({ length: 300 }, (_, i) => ({ key: `p${i}`, items: 1, counts: new Map([[i % 10 === 0 ? 'rare' : i % 2 ? 'a' : 'b', 1]]) }));
    const part = assignGroups(units, [0.7, 0.15, 0.15], 3);
    for (const label of ['rare', 'a', 'b']) {
      const of = units.filter((u) => u.counts.has(label));
      const train = of.filter((u) => part.get(u.key) === 0).length / of.length;
      expect(Math.abs(train - 0.7)).toBeLessThan(0.04);
    }
  });

  it('the preview reports counts and balance per split, and warns when a label is too rare for every split', async () => {
    const p = await call('export.preview', { split: [70, 15, 15], seed: 1 });
    expect(p.splits.map((x) => x.name)).toEqual(['train', 'val', 'test']);
    expect(p.splits.reduce((a, x) => a + x.rows, 0)).toBe(p.rows);
    expect(p.splits[0]!.balance.finding).toBeTruthy();
    const rare = await call('export.preview', { split: [70, 15, 15], stratify: 'slice', groups: ['slice'] });
    expect(rare.warnings.join(' ')).toMatch(/patient\(s\): not every split/);
    expect((await app.call('export.preview', { split: [70, 20] })).ok).toBe(false);
  });
});

describe('DICOM SR', () => {
  let s: ExportSummary;
  beforeAll(async () => { s = await exportTo({ formats: ['sr'], statuses: ['accepted', 'flagged'] }); });

  it('writes one TID 1500 report per study that dciodvfy accepts without errors and dsrdump reads', () => {
    const srs = s.files.filter((f) => f.path.startsWith('sr/'));
    expect(srs.length).toBe(s.studies);
    for (const f of srs.slice(0, 8)) {
      const file = path.join(s.out, f.path);
      const v = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
      const errors = `${v.stdout}${v.stderr}`.split('\n').filter((l) => /^Error/.test(l));
      expect(errors, `${f.path}:\n${v.stderr}`).toEqual([]);
      const d = spawnSync('dsrdump', [file], { encoding: 'utf8' });
      expect(d.status, d.stderr).toBe(0);
      expect(d.stdout).toMatch(/Imaging Measurement Report/);
      expect(d.stdout).toMatch(/Person Observer Name/);
      expect(d.stdout).toMatch(/CODE:\(,,"Finding"\)=\(\w+,99LBX,"(Normal|Pleural effusion|Cardiomegaly|Nodule)"\)/);
    }
  });

  it('sends the SRs to a folder as well', async () => {
    const folder = path.join(outs, 'pacs-in');
    const r = await exportTo({ formats: ['sr'], srFolder: folder });
    expect(r.srSent).toEqual({ folder, files: r.studies, error: '' });
    expect(fs.readdirSync(folder).filter((f) => f.endsWith('.dcm')).length).toBe(r.studies);
  });
});

/** Every value of an Annex E attribute in the source files (as text), with the study it belongs to. */
function sourceIdentifiers(files: string[]): { value: string; keyword: string; study: string }[] {
  const out: { value: string; keyword: string; study: string }[] = [];
  for (const f of files) {
    const b = fs.readFileSync(f);
    const msg = dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    const ds = msg.dict as Record<string, { vr: string; Value?: unknown[] }>;
    const study = String(ds['0020000D']?.Value?.[0] ?? '');
    for (const [tag, el] of Object.entries(ds)) {
      const rule = ANNEX_E.get(tag);
      const priv = parseInt(tag.slice(0, 4), 16) % 2 === 1;
      if (!priv && (!rule || rule.action === 'K')) continue;
      for (const v of el.Value ?? []) {
        const t = typeof v === 'string' ? v : v && typeof v === 'object' && 'Alphabetic' in v ? String((v as { Alphabetic: string }).Alphabetic) : '';
        if (t.trim().length >= 4) out.push({ value: t.trim(), keyword: rule?.keyword ?? `private ${tag}`, study });
      }
    }
  }
  return out;
}

describe('de-identification', () => {
  let s: ExportSummary;
  let original: { value: string; keyword: string; study: string }[];
  beforeAll(async () => {
    s = await exportTo({ formats: ['csv', 'jsonl', 'sr'], statuses: ['accepted', 'flagged'], deidentify: true, dicomCopies: true, split: [80, 20] });
    const files = app.store.db.prepare('SELECT path FROM files WHERE status = ?').pluck().all('imported') as string[];
    original = sourceIdentifiers(files);
  });

  it('the Annex E table names real attributes (checked against the DICOM dictionary)', () => {
    const names = dcmjs.data.DicomMetaDictionary.nameMap;
    expect(ANNEX_E.size).toBeGreaterThan(150);
    for (const e of ANNEX_E.values()) {
      // dcmjs names retired attributes with a RETIRED_ prefix.
      const d = names[e.keyword] ?? names[`RETIRED_${e.keyword}`];
      expect(d, e.keyword).toBeTruthy();
      expect(d!.tag.replace(/[(),]/g, '').toUpperCase(), e.keyword).toBe(e.tag);
    }
  });

  it('no identifier from the source files, and no source UID, appears anywhere in the export', () => {
    expect(original.some((o) => o.keyword === 'PatientAddress')).toBe(true);
    expect(original.some((o) => o.keyword.startsWith('private'))).toBe(true);
    // Dates are shifted (checked per patient below) and times of day kept: the Modified Dates option.
    const dates = new Set(['StudyDate', 'SeriesDate', 'AcquisitionDate', 'ContentDate', 'PatientBirthDate', 'InstanceCreationDate', 'StudyTime', 'SeriesTime', 'AcquisitionTime', 'ContentTime']);
    const global = [...new Set(original.filter((o) => !dates.has(o.keyword)).map((o) => o.value))];
    const uids = app.store.db.prepare('SELECT study_uid FROM studies UNION ALL SELECT series_uid FROM series UNION ALL SELECT sop_uid FROM instances').pluck().all() as string[];
    const exported = s.files.map((f) => path.join(s.out, f.path));
    expect(exported.some((f) => f.includes('/dicom/'))).toBe(true);
    const secret = app.store.db.prepare('SELECT secret FROM deid_key').pluck().get() as string;
    for (const f of exported) {
      const text = fs.readFileSync(f).toString('latin1');
      for (const v of [...global, ...uids, secret, project, 'Demo^Patient']) expect(text.includes(v), `${v} in ${path.relative(s.out, f)}`).toBe(false);
    }
  });

  it('dates are shifted per patient, consistently, and UIDs map the same way in tables, SRs and copies', () => {
    const rows = readJsonl(path.join(s.out, 'labels.jsonl'));
    const meta = app.exports.repo.itemMeta('study');
    const back = Pseudonymizer.reverse(app.exports.repo).uids;
    const shiftOf = new Map<string, number>();
    const studyRows = rows.filter((r) => r.level === 'study');
    expect(studyRows.length).toBeGreaterThan(50);
    for (const r of studyRows) {
      expect(r.patient_id).toMatch(/^LBX[0-9A-F]{10}$/);
      expect(r.note).toBe('');
      expect(r.root).toBe('');
      expect(fs.existsSync(path.join(s.out, r.path as string))).toBe(true);
      const m = meta.get(back.get(r.study_uid as string)!)!;
      const days = shiftDays(m.studyDate, r.study_date as string)!;
      expect(days).toBeLessThanOrEqual(-365);
      if (!shiftOf.has(m.patientKey)) shiftOf.set(m.patientKey, days);
      expect(days).toBe(shiftOf.get(m.patientKey));
    }
    // Patients with several studies are among them, so "one shift per patient" is really tested.
    expect(new Set(studyRows.filter((r) => r.group === 'finding').map((r) => r.patient_id)).size).toBeLessThan(studyRows.filter((r) => r.group === 'finding').length);
    // The SR of a study carries the same pseudonymous study UID as the table rows, and the copies the same SOP UIDs.
    const studyUids = new Set(rows.map((r) => r.study_uid));
    const copy = s.files.find((f) => f.path.startsWith('dicom/'))!;
    const b = fs.readFileSync(path.join(s.out, copy.path));
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer).dict) as Record<string, unknown>;
    expect(studyUids.has(ds.StudyInstanceUID)).toBe(true);
    expect(ds.PatientIdentityRemoved).toBe('YES');
    expect(ds.PatientBirthDate ?? '').toBe('');
    expect(ds.InstitutionName).toBeUndefined();
    expect(ds.Rows).toBeGreaterThan(0);
  });

  it('de-identified copies of every transfer syntax and photometric fixture keep their pixels (GDCM decodes both)', () => {
    const pz = new Pseudonymizer(app.exports.repo, ['fixture-patient']);
    const dir = tempDir('lightbox-deid-copies-');
    const pixels = (file: string): string => {
      const raw = path.join(dir, 'raw.dcm');
      execFileSync('gdcmconv', ['--raw', file, raw]);
      const b = fs.readFileSync(raw);
      const ds = dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer).dict as Record<string, { Value?: ArrayBuffer[] }>;
      return crypto.createHash('sha256').update(Buffer.from(ds['7FE00010']!.Value![0]!)).digest('hex');
    };
    let n = 0;
    for (const sub of ['syntax', 'photometric', 'multiframe']) {
      for (const f of fs.readdirSync(path.join(FIXTURE_DIR, sub))) {
        const src = path.join(FIXTURE_DIR, sub, f);
        const dest = path.join(dir, `${sub}-${f}`);
        writeDeidentifiedCopy(src, dest, pz, 'fixture-patient');
        expect(pixels(dest), `${sub}/${f}`).toBe(pixels(src));
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(15);
  });

  it('an image whose file is gone is listed as a failure, without its path, and the rest is exported', async () => {
    const file = app.store.db.prepare("SELECT f.path FROM files f JOIN instances i ON i.file_pk = f.id JOIN series s ON s.id = i.series_pk WHERE s.modality = 'DX' LIMIT 1").pluck().get() as string;
    const aside = `${file}.aside`;
    fs.renameSync(file, aside);
    try {
      const r = await exportTo({ formats: ['csv'], deidentify: true, dicomCopies: true });
      expect(r.failures).toHaveLength(1);
      expect(r.failures[0]!.reason).toMatch(/source file cannot be read \(ENOENT\)/);
      expect(r.files.filter((f) => f.path.startsWith('dicom/')).length).toBeGreaterThan(50);
      const manifest = fs.readFileSync(path.join(r.out, 'manifest.json'), 'utf8');
      expect(manifest).toContain('cannot be read');
      expect(manifest).not.toContain(path.dirname(file));
    } finally {
      fs.renameSync(aside, file);
    }
  });

  it('keeps the key in the project: the same patient gets the same pseudonym in the next export', async () => {
    const again = readJsonl(path.join((await exportTo({ formats: ['jsonl'], deidentify: true })).out, 'labels.jsonl'));
    const first = readJsonl(path.join(s.out, 'labels.jsonl'));
    const pick = (rows: Record<string, unknown>[]) => new Set(rows.map((r) => `${r.patient_id}|${r.study_uid}|${r.study_date}`));
    const a = pick(first);
    for (const k of pick(again)) expect(a.has(k)).toBe(true);
  });
});

const shiftDays = (from: string, to: string): number | null => {
  const d = (s: string) => Date.UTC(Number(s.slice(0, 4)), Number(s.slice(4, 6)) - 1, Number(s.slice(6, 8)));
  return /^\d{8}$/.test(from) && /^\d{8}$/.test(to) ? Math.round((d(to) - d(from)) / 86_400_000) : null;
};
describe('re-import', () => {
  /** A second project over the same DICOM files, with the same schema and no labels. */
  async function freshProject(): Promise<Lightbox> {
    const dir = tempDir();
    const b = Lightbox.open(dir, { create: true });
    await importInto(b, dataDir);
    await call('labels.setSchema', { schema: SCHEMA }, b);
    return b;
  }
  const groups = ['finding', 'quality', 'slice'];

  it('CSV and JSONL round trips reproduce the same labels, flags and notes, with provenance "imported"', async () => {
    const s = await exportTo({ formats: ['csv', 'jsonl'], statuses: ['accepted', 'flagged'] });
    for (const file of ['labels.csv', 'labels.jsonl']) {
      const b = await freshProject();
      try {
        const r = await call('labels.import', { path: path.join(s.out, file) }, b);
        expect(r.errors).toEqual([]);
        expect(r.imported).toBe(s.rows);
        expect(stateOf(b, groups)).toEqual(stateOf(app, groups));
        const ev = b.labels.repo.recentEvents(b.labels.profile().annotator, 1)[0]!;
        expect(ev.action).toBe('import');
        expect(ev.source).toBe('imported');
        expect(ev.modelDetail).toMatch(/imported from labels\.(csv|jsonl): manual by .+@/);
        // Importing again changes nothing.
        const again = await call('labels.import', { path: path.join(s.out, file) }, b);
        expect(again.imported).toBe(0);
        expect(again.unchanged).toBe(s.rows);
      } finally {
        await b.close();
      }
    }
  });

  it('an SR folder round trip reproduces the same labels', async () => {
    const s = await exportTo({ formats: ['sr'], statuses: ['accepted', 'flagged'] });
    const b = await freshProject();
    try {
      const r = await call('labels.import', { path: path.join(s.out, 'sr') }, b);
      expect(r.errors).toEqual([]);
      expect(r.imported).toBe(s.rows);
      const labelsOnly = (x: Record<string, unknown>) => Object.fromEntries(Object.entries(x).filter(([k]) => !k.endsWith('|')));
      expect(labelsOnly(stateOf(b, groups))).toEqual(labelsOnly(stateOf(app, groups)));
    } finally {
      await b.close();
    }
  });

  it('a de-identified export maps back through the project key, and an accepted row never clears a flag', async () => {
    const s = await exportTo({ formats: ['csv'], deidentify: true });
    // Flagged after the export: the export's row says "accepted", which must not undo a request for a second opinion.
    const study = studyIds[1]!;
    await call('labels.flag', { level: 'study', itemId: study.id, flagged: true });
    try {
      const r = await call('labels.import', { path: path.join(s.out, 'labels.csv') });
      expect(r.reidentified).toBe(true);
      expect(r.errors).toEqual([]);
      expect(r.unchanged).toBe(s.rows);
      expect(app.labels.repo.state('study', study.uid, '').flagged).toBe(true);
    } finally {
      await call('labels.flag', { level: 'study', itemId: study.id, flagged: false });
    }
  });

  it('bad rows are reported with their line and the rest imported; conflicts are kept unless overwrite', async () => {
    const s = await exportTo({ formats: ['csv'] });
    const lines = fs.readFileSync(path.join(s.out, 'labels.csv'), 'utf8').split('\r\n');
    const header = lines[0]!.split(',');
    const col = (name: string) => header.indexOf(name);
    // Three study-level "finding" rows (no quoted fields) to break: an unknown label, a short row, an unknown study.
    const at = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('study,') && l.split(',')[col('group')] === 'finding' && !l.includes('"')).map(([, i]) => i).slice(0, 3);
    const broken = [...lines];
    const cells = broken[at[0]!]!.split(',');
    cells[col('label')] = 'martian'; cells[col('labels')] = 'martian';
    broken[at[0]!] = cells.join(',');
    broken[at[1]!] = 'study,too,few';
    const other = broken[at[2]!]!.split(',');
    other[col('study_uid')] = '1.2.3.4.5.6.7';
    broken[at[2]!] = other.join(',');
    const file = path.join(outs, 'broken.csv');
    fs.writeFileSync(file, broken.join('\r\n'));
    const b = await freshProject();
    try {
      const r = await call('labels.import', { path: file }, b);
      const errs = [...r.errors].sort((x, y) => Number(x.where.split(':')[1]) - Number(y.where.split(':')[1]));
      expect(errs.map((e) => e.where)).toEqual(at.map((i) => `broken.csv:${i + 1}`));
      expect(errs[0]!.reason).toMatch(/"martian" is not a label of group "finding"/);
      expect(errs[1]!.reason).toMatch(/3 fields where the header has/);
      expect(errs[2]!.reason).toMatch(/not in this project/);
      expect(r.imported).toBe(s.rows - 3);
      // A different label already there is a conflict, kept; overwrite replaces it (recorded, so nothing is lost).
      const uid = readJsonlFromCsv(lines, at[2]!);
      const id = b.labels.repo.idOf('study', uid.study_uid)!;
      await call('labels.set', { level: 'study', itemId: id, group: 'finding', labels: [uid.label === 'normal' ? 'nodule' : 'normal'] }, b);
      const kept = await call('labels.import', { path: path.join(s.out, 'labels.csv') }, b);
      expect(kept.conflicts).toBe(1);
      const over = await call('labels.import', { path: path.join(s.out, 'labels.csv'), overwrite: true }, b);
      expect(over.imported).toBeGreaterThanOrEqual(1);
      expect(b.labels.repo.state('study', uid.study_uid, 'finding').labels).toContain(uid.label);
    } finally {
      await b.close();
    }
  });
});

function readJsonlFromCsv(lines: string[], i: number): { study_uid: string; label: string } {
  const header = lines[0]!.split(',');
  const cells = lines[i]!.split(',');
  return { study_uid: cells[header.indexOf('study_uid')]!, label: cells[header.indexOf('label')]! };
}

describe('atomic writes, jobs and the CLI', () => {
  it('refuses a destination that is not empty, leaves nothing after a cancel, and clears a crashed export\'s leftovers', async () => {
    const busy = outDir();
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'keep.txt'), 'mine');
    const r = await app.call('export.start', { out: busy, options: {} });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.message).toMatch(/already exists and is not an empty folder/);
    expect(fs.readdirSync(busy)).toEqual(['keep.txt']);

    const dest = outDir();
    const stale = path.join(path.dirname(dest), `.${path.basename(dest)}.partial-99999999-dead`);
    fs.mkdirSync(stale);
    const started = app.exports.start({ out: dest, options: ExportOptions.parse({ formats: ['sr'] }) });
    app.exports.cancel(started.jobId);
    const c = await started.done;
    expect(c.cancelled).toBe(true);
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.readdirSync(path.dirname(dest)).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it('runs as a job with progress through the API', async () => {
    const dest = outDir();
    const events: string[] = [];
    const off = app.on((name, p) => { if (name === 'job.progress') events.push((p as { phase: string }).phase); });
    const { jobId } = await call('export.start', { out: dest, options: { formats: ['csv', 'sr'] } });
    for (let i = 0; i < 200 && (await call('export.status', {})).job; i++) await new Promise((res) => setTimeout(res, 25));
    off();
    const st = await call('export.status', {});
    expect(jobId).toBeGreaterThan(0);
    expect(st.last?.out).toBe(dest);
    expect(st.error).toBe('');
    expect(events).toContain('done');
    expect(fs.existsSync(path.join(dest, 'manifest.json'))).toBe(true);
  });

  it('lightbox export and import-labels print JSON summaries', async () => {
    await app.close();
    try {
      const dest = outDir();
      const s = JSON.parse(cli('export', '--project', project, '--out', dest, '--format', 'csv,jsonl,sr', '--split', '70,15,15', '--seed', '3', '--json')) as ExportSummary;
      expect(s.splits.map((x) => x.name)).toEqual(['train', 'val', 'test']);
      expect(s.files.map((f) => f.path)).toEqual(expect.arrayContaining(['labels.csv', 'labels.jsonl', 'manifest.json']));
      const text = cli('export', '--project', project, '--out', outDir(), '--deidentify');
      expect(text).toMatch(/Exported to .*: \d+ rows/);
      expect(text).toMatch(/sha256sum -c SHA256SUMS/);
      const imp = JSON.parse(cli('import-labels', '--project', project, path.join(dest, 'labels.jsonl'), '--json'));
      expect(imp.unchanged).toBe(s.rows);
      const bad = spawnSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), 'export', '--project', project, '--out', outDir(), '--split', '70,10'], { encoding: 'utf8', env: { ...process.env, LIGHTBOX_HOME: HOME } });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/must add up to 100/);
    } finally {
      app = Lightbox.open(project);
    }
  });
});
