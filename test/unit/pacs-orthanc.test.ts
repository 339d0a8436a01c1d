// The throwaway Orthanc the PACS tests run against: it starts on free loopback ports with its own storage, takes
// generated DICOM over REST, keeps it across a restart, and answers DICOMweb.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData } from '../../src/main/demo/demo-data.ts';
import { tempDir } from '../helpers.ts';
import { Orthanc, filesUnder } from '../orthanc.ts';

describe('test Orthanc', () => {
  let orthanc: Orthanc;
  let files: string[];
  beforeAll(async () => {
    const data = tempDir('lightbox-pacs-data-');
    generateDemoData(data, { count: 3, ctSeries: 1 });
    files = filesUnder(data);
    orthanc = await Orthanc.start();
  });
  afterAll(async () => { await orthanc?.dispose(); });

  it('stores uploaded files and answers QIDO-RS', async () => {
    expect(await orthanc.upload(files)).toBe(files.length);
    const studies = await orthanc.rest<string[]>('/studies');
    expect(studies).toHaveLength(4);
    const r = await fetch(`${orthanc.dicomWebUrl}/studies`, { headers: { Accept: 'application/dicom+json' } });
    expect(r.status).toBe(200);
    expect(((await r.json()) as unknown[]).length).toBe(4);
  });

  it('keeps its storage across a stop and a start', async () => {
    await orthanc.stop();
    await expect(fetch(`${orthanc.url}/system`)).rejects.toThrow();
    await orthanc.start();
    expect(await orthanc.rest<string[]>('/instances')).toHaveLength(files.length);
  });
});
