// `lightbox pacs …` against a real Orthanc (HTTP basic auth on): add a server with the password from the
// environment, echo, browse with filters and retrieve into a project, each with --json output a script can read.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData } from '../../src/main/demo/demo-data.ts';
import { readHeader } from '../../src/main/dicom/read-header.ts';
import type { PacsServerView, PacsSeries, PacsStudy, RetrieveSummary } from '../../src/shared/pacs-contract.ts';
import { tempDir } from '../helpers.ts';
import { Orthanc, filesUnder } from '../orthanc.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HOME = tempDir('lightbox-pacs-cli-home-');
const PASSWORD = 'cli-pa55word';
const env = { ...process.env, LIGHTBOX_HOME: HOME, PACS_PW: PASSWORD };
const cli = (...args: string[]): string =>
  execFileSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), ...args], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
const json = <T>(...args: string[]): T => JSON.parse(cli(...args, '--json')) as T;

let orthanc: Orthanc;
let byModality: Map<string, string[]>;

beforeAll(async () => {
  const data = tempDir('lightbox-pacs-cli-data-');
  generateDemoData(data, { count: 2, ctSeries: 1, seed: 9 });
  const files = filesUnder(data);
  byModality = new Map();
  for (const f of files) {
    const h = readHeader(f);
    if (h.kind !== 'dicom') continue;
    const l = byModality.get(h.record.series.modality) ?? [];
    if (!l.includes(h.record.study.studyUid)) l.push(h.record.study.studyUid);
    byModality.set(h.record.series.modality, l);
  }
  orthanc = await Orthanc.start({ users: { reader: PASSWORD } });
  await orthanc.upload(files);
}, 60_000);
afterAll(async () => { await orthanc?.dispose(); });

describe('lightbox pacs', () => {
  it('adds a server with the password from the environment and never prints it', () => {
    const out = cli('pacs', 'add', '--name', 'main', '--url', orthanc.dicomWebUrl, '--auth', 'basic', '--user', 'reader', '--password-env', 'PACS_PW', '--json');
    expect(out).not.toContain(PASSWORD);
    const { servers } = JSON.parse(out) as { servers: PacsServerView[] };
    expect(servers).toEqual([{ name: 'main', dicomweb: { url: orthanc.dicomWebUrl, auth: 'basic', username: 'reader', timeoutSeconds: 60 }, dimse: null }]);
    expect(cli('pacs', 'servers')).toMatch(/main: DICOMweb .* \(auth basic as reader\)/);
    expect(cli('pacs', 'echo', '--server', 'main')).toMatch(/DICOMweb: ok/);
    const unset = spawnSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), 'pacs', 'add', '--name', 'x', '--url', orthanc.dicomWebUrl, '--auth', 'bearer', '--token-env', 'NOT_SET_ANYWHERE'], { encoding: 'utf8', env });
    expect(unset.status).toBe(2);
    expect(unset.stderr).toMatch(/--token-env: the environment variable NOT_SET_ANYWHERE is not set/);
  });

  it('browses studies and series with filters', () => {
    const ct = json<{ studies: PacsStudy[] }>('pacs', 'query', '--server', 'main', '--modality', 'CT');
    expect(ct.studies.map((s) => s.studyUid)).toEqual(byModality.get('CT'));
    const series = json<{ series: PacsSeries[] }>('pacs', 'query', '--server', 'main', '--study', byModality.get('CT')![0]!);
    expect(series.series).toEqual([expect.objectContaining({ modality: 'CT', instances: 24 })]);
    expect(cli('pacs', 'query', '--server', 'main', '--patient-id', 'DEMOCT01')).toMatch(/DEMOCT01 .*CT .* 1 series +24 inst/);
    const bad = spawnSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), 'pacs', 'query', '--server', 'main', '--from', '2020-01-01'], { encoding: 'utf8', env });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/pacs query: dateFrom: dates are YYYYMMDD/);
    const nope = spawnSync(process.execPath, [path.join(ROOT, 'bin/lightbox.mjs'), 'pacs', 'query', '--server', 'nope'], { encoding: 'utf8', env });
    expect(nope.status).toBe(1);
    expect(nope.stderr).toMatch(/no server named "nope"; add it/);
  });

  it('retrieves studies into a project and indexes them; a second run fetches nothing', () => {
    const project = tempDir();
    const want = [byModality.get('CT')![0]!, byModality.get('DX')![0]!];
    const s = json<RetrieveSummary>('pacs', 'retrieve', '--project', project, '--server', 'main', '--study', want.join(','));
    expect(s).toMatchObject({ via: 'dicomweb', studies: 2, instances: 25, received: 25, alreadyPresent: 0, cancelled: false });
    expect(s.indexedStudies.sort()).toEqual([...want].sort());
    const info = json<{ studies: number; instances: number }>('info', '--project', project);
    expect(info).toMatchObject({ studies: 2, instances: 25 });
    const again = json<RetrieveSummary>('pacs', 'retrieve', '--project', project, '--server', 'main', '--study', want[0]!);
    expect(again).toMatchObject({ received: 0, alreadyPresent: 24 });
  });
});
