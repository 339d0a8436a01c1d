// A retrieve killed with SIGKILL mid-transfer: the next process sees it as resumable, nothing of the study is
// indexed, and resuming fetches only what had not arrived.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { generateDemoData } from '../../src/main/demo/demo-data.ts';
import { tempDir } from '../helpers.ts';
import { Orthanc, filesUnder } from '../orthanc.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
let orthanc: Orthanc;
let studyUid: string;

beforeAll(async () => {
  process.env.LIGHTBOX_HOME = tempDir('lightbox-pacs-crash-home-');
  const data = tempDir('lightbox-pacs-crash-data-');
  generateDemoData(data, { count: 0, ctSeries: 1, seed: 3 });
  orthanc = await Orthanc.start();
  await orthanc.upload(filesUnder(data));
  studyUid = (await orthanc.rest<{ MainDicomTags: { StudyInstanceUID: string } }[]>('/studies?expand'))[0]!.MainDicomTags.StudyInstanceUID;
}, 60_000);
afterAll(async () => { await orthanc?.dispose(); });

describe('a retrieve killed mid-transfer', () => {
  it('is resumable in the next process, with no half-indexed study and nothing fetched twice', async () => {
    const project = tempDir();
    const marker = path.join(project, 'three-received');
    const child = spawn(process.execPath, ['--input-type=module', '-e', `
      const { Lightbox } = await import(${JSON.stringify(path.join(ROOT, 'src/main/app.ts'))});
      const fs = await import('node:fs');
      const app = Lightbox.open(${JSON.stringify(project)}, { create: true });
      app.pacs.configure({ name: 'o', dicomweb: { url: ${JSON.stringify(orthanc.dicomWebUrl)}, auth: { type: 'none' }, timeoutSeconds: 60 } });
      let n = 0;
      app.pacs.start({ server: 'o', items: [{ studyUid: ${JSON.stringify(studyUid)} }] }, {
        // After the third instance is safely cached: say so, then hang until killed.
        afterInstance: async () => { if (++n === 3) { fs.writeFileSync(${JSON.stringify(marker)}, ''); await new Promise(() => {}); } },
      });
    `], { env: { ...process.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Wait for the state (the marker), polling; the child cannot go further until it is killed.
    while (!fs.existsSync(marker)) {
      if (child.exitCode !== null) throw new Error(`the retrieving process exited early: ${stderr}`);
      await sleep(20);
    }
    child.kill('SIGKILL');
    await exited;

    const app = Lightbox.open(project);
    try {
      const status = await app.invoke('pacs.status', {});
      expect(status.job).toBeNull();
      expect(status.resumable).toMatchObject({ server: 'o', items: [{ studyUid }], reason: expect.stringMatching(/interrupted/) });
      expect((await app.invoke('worklist.query', {})).total).toBe(0);
      const { jobId } = await app.invoke('pacs.retrieve', { server: status.resumable!.server, items: status.resumable!.items });
      const s = await app.jobs.finished('pacs', jobId);
      expect(s).toMatchObject({ instances: 24, alreadyPresent: 3, received: 21, indexedStudies: [studyUid] });
      expect((await app.invoke('worklist.query', {})).rows[0]!.instanceCount).toBe(24);
      expect((await app.invoke('pacs.status', {})).resumable).toBeNull();
    } finally {
      await app.close();
    }
  });
});
