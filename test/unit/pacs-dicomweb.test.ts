// PACS over DICOMweb against a real Orthanc: browse with QIDO-RS, retrieve with WADO-RS into the project's cache
// as a resumable job, index, label, send the SR back with STOW-RS and read it from Orthanc again. A proxy in front
// of the same Orthanc truncates answers, fails with 5xx and demands a bearer token; Orthanc itself is stopped
// mid-retrieve. In every failure the job leaves a clear error, and no study is indexed until it is complete.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { generateDemoData } from '../../src/main/demo/demo-data.ts';
import { readHeader } from '../../src/main/dicom/read-header.ts';
import { parseSr } from '../../src/main/export/sr.ts';
import { DicomWebClient } from '../../src/main/pacs/index.ts';
import type { RetrieveTuning } from '../../src/main/pacs/index.ts';
import { ExportOptions } from '../../src/shared/contract.ts';
import type { CallInput, CallName, CallResult } from '../../src/shared/contract.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import type { RetrieveSummary } from '../../src/shared/pacs-contract.ts';
import { tempDir } from '../helpers.ts';
import { Orthanc, filesUnder, freePort } from '../orthanc.ts';
import { PacsProxy } from '../pacs-proxy.ts';

interface Original { file: string; studyUid: string; seriesUid: string; sopUid: string; modality: string; patientId: string; patientName: string; date: string }

let orthanc: Orthanc;
let proxy: PacsProxy;
let app: Lightbox;
let project: string;
let originals: Original[];
const SECRET = 'tok-5ecret-never-logged';

async function call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallResult<N>> {
  return app.invoke(name, input as Record<string, unknown>);
}
const studies = (): Map<string, Original[]> => {
  const m = new Map<string, Original[]>();
  for (const o of originals) m.set(o.studyUid, [...(m.get(o.studyUid) ?? []), o]);
  return m;
};
const ctStudies = (): string[] => [...studies()].filter(([, l]) => l[0]!.modality === 'CT').map(([u]) => u);
const cxrStudies = (): string[] => [...studies()].filter(([, l]) => l[0]!.modality === 'DX').map(([u]) => u);
async function worklist(): Promise<Map<string, number>> {
  const r = await call('worklist.query', { limit: 1000 });
  return new Map(r.rows.map((row) => [row.studyUid, row.instanceCount]));
}
/** Every indexed study from the PACS is complete: as many instances as Orthanc holds for it. */
async function expectNoHalfIndexedStudy(): Promise<void> {
  const wl = await worklist();
  for (const [uid, count] of wl) expect(count, `study ${uid} is indexed with ${count} of ${studies().get(uid)?.length}`).toBe(studies().get(uid)?.length);
}
async function retrieve(input: CallInput<'pacs.retrieve'>, tuning?: RetrieveTuning): Promise<RetrieveSummary> {
  if (tuning) return app.pacs.start(input as Parameters<typeof app.pacs.start>[0], tuning).done;
  const { jobId } = await call('pacs.retrieve', input);
  return app.jobs.finished('pacs', jobId);
}

beforeAll(async () => {
  // Server settings live in the Lightbox home: a home of this file's own.
  process.env.LIGHTBOX_HOME = tempDir('lightbox-pacs-home-');
  const data = tempDir('lightbox-pacs-data-');
  generateDemoData(data, { count: 6, ctSeries: 2 });
  originals = filesUnder(data).map((file) => {
    const h = readHeader(file);
    if (h.kind !== 'dicom') throw new Error(`fixture ${file} is not DICOM`);
    const r = h.record;
    return { file, studyUid: r.study.studyUid, seriesUid: r.series.seriesUid, sopUid: r.instance.sopUid, modality: r.series.modality, patientId: r.patient.patientId, patientName: r.patient.name, date: r.study.date };
  });
  orthanc = await Orthanc.start();
  expect(await orthanc.upload(originals.map((o) => o.file))).toBe(originals.length);
  proxy = await PacsProxy.start(orthanc.url);
  project = tempDir();
  app = Lightbox.open(project, { create: true });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await proxy?.close();
  await orthanc?.dispose();
});

describe('PACS servers', () => {
  it('keeps credentials in the Lightbox home (user-only), never in results or the project database', async () => {
    await call('pacs.configure', { server: { name: 'orthanc', dicomweb: { url: orthanc.dicomWebUrl } } });
    const r = await call('pacs.configure', { server: { name: 'proxy', dicomweb: { url: `${proxy.url}/dicom-web`, auth: { type: 'bearer', token: SECRET }, timeoutSeconds: 10 } } });
    expect(r.servers.map((s) => s.name).sort()).toEqual(['orthanc', 'proxy']);
    expect(r.servers.find((s) => s.name === 'proxy')!.dicomweb).toEqual({ url: `${proxy.url}/dicom-web`, auth: 'bearer', username: null, timeoutSeconds: 10 });
    expect(JSON.stringify(await call('pacs.servers', {}))).not.toContain(SECRET);
    const file = app.pacs.config.file;
    expect(path.dirname(file)).toBe(process.env.LIGHTBOX_HOME);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toContain(SECRET);
    for (const f of fs.readdirSync(project)) {
      if (fs.statSync(path.join(project, f)).isFile()) expect(fs.readFileSync(path.join(project, f)).includes(SECRET), f).toBe(false);
    }
    await expect(call('pacs.configure', { server: { name: 'bad', dicomweb: { url: 'ftp://x' } } })).rejects.toThrow(/only http:\/\/ and https:\/\//);
    await expect(call('pacs.query', { server: 'nope' })).rejects.toThrow(/no server named "nope"; add it/);
  });

  it('echoes over DICOMweb, with the bearer token sent and a clear refusal for a wrong one', async () => {
    proxy.bearer = SECRET;
    const ok = await call('pacs.echo', { server: 'proxy' });
    expect(ok.dicomweb).toMatchObject({ ok: true });
    expect(proxy.seen.at(-1)!.authorization).toBe(`Bearer ${SECRET}`);
    proxy.bearer = 'another-token';
    const refused = await call('pacs.echo', { server: 'proxy' });
    expect(refused.dicomweb!.ok).toBe(false);
    expect(refused.dicomweb!.message).toMatch(/refused the credentials \(HTTP 401\); check the server's auth settings/);
    expect(refused.dicomweb!.message).not.toContain(SECRET);
    proxy.bearer = SECRET;
  });
});

describe('QIDO-RS browse', () => {
  it('lists every study with its patient, date, modalities and counts', async () => {
    const r = await call('pacs.query', { server: 'orthanc' });
    expect(r.studies.map((s) => s.studyUid).sort()).toEqual([...studies().keys()].sort());
    const ct = r.studies.find((s) => s.studyUid === ctStudies()[0])!;
    const o = studies().get(ct.studyUid)![0]!;
    expect(ct).toMatchObject({ patientId: o.patientId, patientName: o.patientName, studyDate: o.date, modalities: ['CT'], series: 1, instances: 24 });
  });

  it('filters by patient name (wildcard), patient ID, date range and modality, and pages', async () => {
    const byName = await call('pacs.query', { server: 'orthanc', patientName: '*CT*' });
    expect(byName.studies.map((s) => s.studyUid).sort()).toEqual(ctStudies().sort());
    const one = originals.find((o) => o.modality === 'DX')!;
    const byId = await call('pacs.query', { server: 'orthanc', patientId: one.patientId });
    expect(new Set(byId.studies.map((s) => s.patientId))).toEqual(new Set([one.patientId]));
    expect(byId.studies.length).toBe(new Set(originals.filter((o) => o.patientId === one.patientId).map((o) => o.studyUid)).size);
    const dates = [...new Set(originals.map((o) => o.date))].sort();
    const from = dates[1]!;
    const to = dates.at(-2)!;
    const inRange = new Set(originals.filter((o) => o.date >= from && o.date <= to).map((o) => o.studyUid));
    const byDate = await call('pacs.query', { server: 'orthanc', dateFrom: from, dateTo: to });
    expect(new Set(byDate.studies.map((s) => s.studyUid))).toEqual(inRange);
    const byModality = await call('pacs.query', { server: 'orthanc', modality: 'DX' });
    expect(byModality.studies.map((s) => s.studyUid).sort()).toEqual(cxrStudies().sort());
    const page = await call('pacs.query', { server: 'orthanc', limit: 3 });
    expect(page.studies).toHaveLength(3);
    const series = await call('pacs.query', { server: 'orthanc', level: 'series', studyUid: ctStudies()[0]! });
    expect(series.series).toEqual([expect.objectContaining({ studyUid: ctStudies()[0], modality: 'CT', instances: 24, description: 'Axial 5mm' })]);
    await expect(call('pacs.query', { server: 'orthanc', level: 'series' })).rejects.toThrow(/series queries need studyUid/);
  });

  it('says what went wrong on 5xx, on a server that is not there, and on an answer that is not multipart', async () => {
    proxy.mode = { kind: 'status', status: 503, body: 'maintenance window' };
    await expect(call('pacs.query', { server: 'proxy' })).rejects.toThrow(/failed \(HTTP 503\): maintenance window; retry later or check the PACS's log/);
    proxy.mode = { kind: 'status', status: 400, body: 'bad filter' };
    await expect(call('pacs.query', { server: 'proxy' })).rejects.toThrow(/refused the request \(HTTP 400\): bad filter/);
    proxy.mode = { kind: 'pass' };
    const port = await freePort();
    await call('pacs.configure', { server: { name: 'gone', dicomweb: { url: `http://127.0.0.1:${port}/dicom-web`, timeoutSeconds: 5 } } });
    await expect(call('pacs.query', { server: 'gone' })).rejects.toThrow(new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/dicom-web \\(ECONNREFUSED\\); check that the PACS is running`));
    proxy.mode = { kind: 'no-boundary' };
    await expect(retrieve({ server: 'proxy', items: [{ studyUid: cxrStudies()[0]! }] })).rejects.toThrow(/boundary is missing or invalid/);
    proxy.mode = { kind: 'pass' };
    expect(await worklist()).toEqual(new Map());
    await expect(retrieve({ server: 'orthanc', items: [{ studyUid: '1.2.3.4.5.6' }] })).rejects.toThrow(/has no series for study 1\.2\.3\.4\.5\.6; check the study UID/);
  });
});

describe('WADO-RS retrieve', () => {
  it('brings chosen studies into the project cache byte for byte, then indexes them', async () => {
    const want = [ctStudies()[0]!, cxrStudies()[0]!];
    const events: { phase: string; done: number; total: number; rate: number; eta: number | null }[] = [];
    const off = app.on((name, p) => { if (name === 'job.progress' && (p as { kind: string }).kind === 'pacs') { const j = p as { phase: string; done: number; total: number; ratePerSecond: number; etaSeconds: number | null }; events.push({ phase: j.phase, done: j.done, total: j.total, rate: j.ratePerSecond, eta: j.etaSeconds }); } });
    const s = await retrieve({ server: 'orthanc', items: want.map((studyUid) => ({ studyUid })) });
    off();
    expect(s).toMatchObject({ via: 'dicomweb', studies: 2, instances: 25, received: 25, alreadyPresent: 0, cancelled: false });
    expect(s.indexedStudies.sort()).toEqual([...want].sort());
    expect(events.at(-1)).toMatchObject({ phase: 'done', done: 25, total: 25 });
    expect(events.some((e) => e.phase === 'retrieving' && e.total === 25)).toBe(true);
    const wl = await worklist();
    expect(wl).toEqual(new Map(want.map((u) => [u, studies().get(u)!.length])));
    for (const o of originals.filter((x) => want.includes(x.studyUid))) {
      const cached = path.join(project, 'pacs-cache', o.studyUid, o.seriesUid, `${o.sopUid}.dcm`);
      expect(crypto.hash('sha256', fs.readFileSync(cached)), o.sopUid).toBe(crypto.hash('sha256', fs.readFileSync(o.file)));
    }
    expect(fs.readdirSync(path.join(project, 'pacs-cache', '.partial'))).toEqual([]);
  });

  it('fetches nothing again that is already here (de-duplicated by SOP Instance UID)', async () => {
    const before = proxy.seen.length;
    const s = await retrieve({ server: 'proxy', items: [{ studyUid: ctStudies()[0]! }, { studyUid: cxrStudies()[0]! }] });
    expect(s).toMatchObject({ instances: 25, received: 0, alreadyPresent: 25 });
    expect(proxy.seen.slice(before).filter((r) => !r.url.includes('/instances') && /\/series\/[\d.]+$/.test(r.url))).toEqual([]);
  });

  it('refuses a truncated answer, keeps the whole instances, indexes nothing, and resumes to completion', async () => {
    const uid = ctStudies()[1]!;
    proxy.mode = { kind: 'truncate-wado', share: 0.6 };
    await expect(retrieve({ server: 'proxy', items: [{ studyUid: uid }] }))
      .rejects.toThrow(/truncated.*instances are in the cache; nothing of an incomplete study is indexed\. Run the retrieve again to resume/);
    expect((await worklist()).has(uid)).toBe(false);
    const partialDir = path.join(project, 'pacs-cache', '.partial', uid);
    const kept = filesUnder(partialDir).filter((f) => f.endsWith('.dcm'));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(24);
    for (const f of kept) expect(readHeader(f).kind).toBe('dicom');
    const status = await call('pacs.status', {});
    expect(status.resumable).toMatchObject({ server: 'proxy', items: [{ studyUid: uid }], reason: expect.stringMatching(/truncated/) });
    await expectNoHalfIndexedStudy();

    proxy.mode = { kind: 'pass' };
    const s = await retrieve({ server: 'proxy', items: [{ studyUid: uid }] });
    expect(s).toMatchObject({ instances: 24, alreadyPresent: kept.length, received: 24 - kept.length, indexedStudies: [uid] });
    expect((await worklist()).get(uid)).toBe(24);
    expect(fs.existsSync(partialDir)).toBe(false);
    expect((await call('pacs.status', {})).resumable).toBeNull();
  });

  it('fails clearly when the connection drops mid-answer, with nothing of the study indexed', async () => {
    // A fresh project, so every study is still to be fetched.
    const other = Lightbox.open(tempDir(), { create: true });
    try {
      const uid = ctStudies()[0]!;
      proxy.mode = { kind: 'drop-wado', share: 0.5 };
      await expect(other.pacs.start({ server: 'proxy', items: [{ studyUid: uid }] }).done)
        .rejects.toThrow(/WADO-RS series .*: the connection (broke while receiving|closed before the answer was complete).*Run the retrieve again to resume/);
      expect((await other.invoke('worklist.query', {})).total).toBe(0);
      proxy.mode = { kind: 'pass' };
      const s = await other.pacs.start({ server: 'proxy', items: [{ studyUid: uid }] }).done;
      expect(s.alreadyPresent).toBeGreaterThan(0);
      expect(s.alreadyPresent + s.received).toBe(24);
      expect((await other.invoke('worklist.query', {})).rows[0]!.instanceCount).toBe(24);
    } finally {
      proxy.mode = { kind: 'pass' };
      await other.close();
    }
  });

  it('fails clearly when the PACS goes away mid-retrieve, and completes after it is back', async () => {
    const want = cxrStudies().slice(1);
    let stopped = false;
    const tuning: RetrieveTuning = {
      afterInstance: async () => {
        if (stopped) return;
        stopped = true;
        await orthanc.stop();
      },
    };
    await expect(retrieve({ server: 'orthanc', items: want.map((studyUid) => ({ studyUid })) }, tuning))
      .rejects.toThrow(/cannot reach .*check that the PACS is running.*Run the retrieve again to resume/);
    expect(stopped).toBe(true);
    await expectNoHalfIndexedStudy();
    const indexedBefore = [...(await worklist()).keys()].filter((u) => want.includes(u));
    expect(indexedBefore.length).toBeLessThan(want.length);

    await orthanc.start();
    const s = await retrieve({ server: 'orthanc', items: want.map((studyUid) => ({ studyUid })) });
    expect(s.alreadyPresent).toBeGreaterThanOrEqual(1);
    expect(s.received + s.alreadyPresent).toBe(want.length);
    const wl = await worklist();
    for (const u of want) expect(wl.get(u)).toBe(1);
    await expectNoHalfIndexedStudy();
  });

  it('cancels at the next instance, leaving the study unindexed and resumable', async () => {
    // A fresh project, so the CT study is not here yet.
    const other = Lightbox.open(tempDir(), { create: true });
    try {
      let jobId = 0;
      const s = await new Promise<RetrieveSummary>((resolve, reject) => {
        const started = other.pacs.start({ server: 'orthanc', items: [{ studyUid: ctStudies()[0]! }] }, {
          afterInstance: () => { other.pacs.cancel(jobId); },
        });
        jobId = started.jobId;
        started.done.then(resolve, reject);
      });
      expect(s).toMatchObject({ cancelled: true, received: 1, indexedStudies: [] });
      expect((await other.invoke('worklist.query', {})).total).toBe(0);
      const again = await other.pacs.start({ server: 'orthanc', items: [{ studyUid: ctStudies()[0]! }] }).done;
      expect(again).toMatchObject({ cancelled: false, alreadyPresent: 1, received: 23 });
      expect((await other.invoke('worklist.query', {})).rows[0]!.instanceCount).toBe(24);
    } finally {
      await other.close();
    }
  });
});

describe('STOW-RS', () => {
  it('sends the SR of a labelled study back to Orthanc, which serves it again with the same labels', async () => {
    await call('labels.setSchema', { schema: DEMO_SCHEMA });
    const uid = cxrStudies()[0]!;
    const row = (await call('worklist.query', {})).rows.find((r) => r.studyUid === uid)!;
    await call('labels.set', { level: 'study', itemId: row.id, group: 'finding', labels: ['effusion'] });
    const out = path.join(tempDir('lightbox-pacs-export-'), 'export');
    const summary = await app.exports.start({ out, options: ExportOptions.parse({ formats: ['sr'] }) }).done;
    expect(summary.files.filter((f) => f.path.startsWith('sr/'))).toHaveLength(1);

    const sent = await call('pacs.stow', { server: 'proxy', folder: path.join(out, 'sr') });
    expect(sent.failed).toEqual([]);
    expect(sent.stored).toEqual([{ sopUid: expect.any(String), studyUid: uid }]);
    expect(proxy.seen.at(-1)).toMatchObject({ method: 'POST', authorization: `Bearer ${SECRET}` });

    const client = new DicomWebClient({ url: orthanc.dicomWebUrl, auth: { type: 'none' }, timeoutSeconds: 30 });
    const series = (await client.searchSeries(uid)).filter((s) => s.modality === 'SR');
    expect(series).toHaveLength(1);
    const parts: Buffer[] = [];
    for await (const p of client.retrieve(uid, series[0]!.seriesUid, null)) parts.push(p.bytes);
    expect(parts).toHaveLength(1);
    const sr = parseSr(parts[0]!);
    expect(sr.studyUid).toBe(uid);
    expect(sr.labels).toEqual([expect.objectContaining({ level: 'study', uid, group: 'finding', labels: ['effusion'] })]);
    await expect(call('pacs.stow', { server: 'orthanc', folder: path.join(out, 'nothing-here') })).rejects.toThrow(/does not exist; choose the folder that holds the SRs/);
  });
});
