// PACS over DIMSE against a real Orthanc (which knows Lightbox as a C-MOVE destination): C-ECHO, C-FIND at study
// and series level with filters, and C-MOVE into Lightbox's own C-STORE receiver, then indexed like any retrieve.
// The same Orthanc has HTTP basic auth on, so DICOMweb with basic credentials is checked here too.
import fs from 'node:fs';
import path from 'node:path';
import dcmjs from 'dcmjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { generateDemoData } from '../../src/main/demo/demo-data.ts';
import { readHeader } from '../../src/main/dicom/read-header.ts';
import type { CallInput, CallName, CallResult } from '../../src/shared/contract.ts';
import { tempDir } from '../helpers.ts';
import { Orthanc, filesUnder, freePort } from '../orthanc.ts';

interface Original { file: string; studyUid: string; seriesUid: string; sopUid: string; modality: string; patientId: string; date: string }

let orthanc: Orthanc;
let app: Lightbox;
let project: string;
let originals: Original[];
let receivePort: number;

async function call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallResult<N>> {
  return app.invoke(name, input as Record<string, unknown>);
}
const studyUids = (modality: string): string[] => [...new Set(originals.filter((o) => o.modality === modality).map((o) => o.studyUid))].sort();
function pixelData(file: string): Buffer {
  const b = fs.readFileSync(file);
  const msg = dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  const px = (msg.dict['7FE00010'] as { Value: ArrayBuffer[] }).Value[0]!;
  return Buffer.from(px);
}

beforeAll(async () => {
  process.env.LIGHTBOX_HOME = tempDir('lightbox-dimse-home-');
  const data = tempDir('lightbox-dimse-data-');
  generateDemoData(data, { count: 4, ctSeries: 1, seed: 5 });
  originals = filesUnder(data).map((file) => {
    const h = readHeader(file);
    if (h.kind !== 'dicom') throw new Error(`fixture ${file} is not DICOM`);
    const r = h.record;
    return { file, studyUid: r.study.studyUid, seriesUid: r.series.seriesUid, sopUid: r.instance.sopUid, modality: r.series.modality, patientId: r.patient.patientId, date: r.study.date };
  });
  receivePort = await freePort();
  orthanc = await Orthanc.start({ aet: 'TESTPACS', modalities: { lightbox: ['LIGHTBOX', '127.0.0.1', receivePort] }, users: { reader: 'pw-basic' } });
  expect(await orthanc.upload(originals.map((o) => o.file))).toBe(originals.length);
  project = tempDir();
  app = Lightbox.open(project, { create: true });
  await call('pacs.configure', { server: { name: 'dimse', dimse: { host: '127.0.0.1', port: orthanc.dicomPort, calledAet: 'TESTPACS', callingAet: 'LIGHTBOX', receivePort } } });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await orthanc?.dispose();
});

describe('DIMSE', () => {
  it('answers C-ECHO, and names the PACS and what to check when it is not there', async () => {
    const r = await call('pacs.echo', { server: 'dimse' });
    expect(r).toMatchObject({ dicomweb: null, dimse: { ok: true, message: expect.stringContaining(`TESTPACS@127.0.0.1:${orthanc.dicomPort}`) } });
    const port = await freePort();
    await call('pacs.configure', { server: { name: 'nobody', dimse: { host: '127.0.0.1', port, calledAet: 'NOBODY', timeoutSeconds: 5 } } });
    const down = await call('pacs.echo', { server: 'nobody' });
    expect(down.dimse!.ok).toBe(false);
    expect(down.dimse!.message).toMatch(new RegExp(`C-ECHO: cannot talk to NOBODY@127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); check that the PACS is running`));
  });

  it('finds studies with C-FIND, filtered by patient ID, modality and date, and a study\'s series', async () => {
    const all = await call('pacs.query', { server: 'dimse' });
    expect(all.studies.map((s) => s.studyUid).sort()).toEqual([...new Set(originals.map((o) => o.studyUid))].sort());
    const ct = all.studies.find((s) => s.studyUid === studyUids('CT')[0])!;
    expect(ct).toMatchObject({ patientId: 'DEMOCT01', modalities: ['CT'], instances: 24 });
    const byModality = await call('pacs.query', { server: 'dimse', modality: 'DX' });
    expect(byModality.studies.map((s) => s.studyUid).sort()).toEqual(studyUids('DX'));
    const one = originals.find((o) => o.modality === 'DX')!;
    const byId = await call('pacs.query', { server: 'dimse', patientId: one.patientId });
    expect(new Set(byId.studies.map((s) => s.patientId))).toEqual(new Set([one.patientId]));
    const byDate = await call('pacs.query', { server: 'dimse', dateFrom: one.date, dateTo: one.date });
    expect(new Set(byDate.studies.map((s) => s.studyUid))).toEqual(new Set(originals.filter((o) => o.date === one.date).map((o) => o.studyUid)));
    const series = await call('pacs.query', { server: 'dimse', level: 'series', studyUid: ct.studyUid });
    expect(series.series).toEqual([expect.objectContaining({ seriesUid: originals.find((o) => o.modality === 'CT')!.seriesUid, modality: 'CT', instances: 24 })]);
  });

  it('retrieves with C-MOVE into its own C-STORE receiver and indexes the complete study', async () => {
    const want = [studyUids('CT')[0]!, studyUids('DX')[0]!];
    const { jobId } = await call('pacs.retrieve', { server: 'dimse', items: want.map((studyUid) => ({ studyUid })) });
    const s = await app.jobs.finished('pacs', jobId);
    expect(s).toMatchObject({ via: 'dimse', studies: 2, instances: 25, received: 25, alreadyPresent: 0, cancelled: false });
    const rows = (await call('worklist.query', {})).rows;
    expect(new Map(rows.map((r) => [r.studyUid, r.instanceCount]))).toEqual(new Map(want.map((u) => [u, originals.filter((o) => o.studyUid === u).length])));
    // The receiver re-encodes the data set, so the files are not byte-identical: the pixels must be.
    for (const o of originals.filter((x) => want.includes(x.studyUid))) {
      const cached = path.join(project, 'pacs-cache', o.studyUid, o.seriesUid, `${o.sopUid}.dcm`);
      expect(pixelData(cached).equals(pixelData(o.file)), o.sopUid).toBe(true);
    }
    const again = await app.pacs.start({ server: 'dimse', items: [{ studyUid: want[0]! }] }).done;
    expect(again).toMatchObject({ received: 0, alreadyPresent: 24 });
  });

  it('fails a C-MOVE the PACS cannot deliver with a clear error, leaving nothing indexed', async () => {
    // A receiver port nobody listens on: the PACS's entry for LIGHTBOX points elsewhere than our receiver.
    const other = await freePort();
    await call('pacs.configure', { server: { name: 'wrong-port', dimse: { host: '127.0.0.1', port: orthanc.dicomPort, calledAet: 'TESTPACS', callingAet: 'LIGHTBOX', receivePort: other, timeoutSeconds: 10 } } });
    const uid = studyUids('DX')[1]!;
    await expect(app.pacs.start({ server: 'wrong-port', items: [{ studyUid: uid }] }).done).rejects.toThrow(/C-MOVE of series .*(failed to send|answered status).*Run the retrieve again to resume/);
    expect((await call('worklist.query', {})).rows.some((r) => r.studyUid === uid)).toBe(false);
  });
});

describe('DICOMweb with HTTP basic auth', () => {
  it('queries with the right password and is refused, clearly, with a wrong one', async () => {
    await call('pacs.configure', { server: { name: 'basic', dicomweb: { url: orthanc.dicomWebUrl, auth: { type: 'basic', username: 'reader', password: 'pw-basic' } } } });
    const r = await call('pacs.query', { server: 'basic', modality: 'CT' });
    expect(r.studies.map((s) => s.studyUid)).toEqual(studyUids('CT'));
    expect((await call('pacs.servers', {})).servers.find((s) => s.name === 'basic')!.dicomweb).toMatchObject({ auth: 'basic', username: 'reader' });
    await call('pacs.configure', { server: { name: 'basic', dicomweb: { url: orthanc.dicomWebUrl, auth: { type: 'basic', username: 'reader', password: 'wrong' } } } });
    await expect(call('pacs.query', { server: 'basic' })).rejects.toThrow(/refused the credentials \(HTTP 401\)/);
    await call('pacs.configure', { server: { name: 'none', dicomweb: { url: orthanc.dicomWebUrl } } });
    await expect(call('pacs.query', { server: 'none' })).rejects.toThrow(/refused the credentials \(HTTP 401\)/);
  });
});
