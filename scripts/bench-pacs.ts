// npm run bench:pacs [-- --studies N --slices N --rows R]
// WADO-RS retrieval from a local Orthanc: Lightbox's retrieve job (multipart parsing, per-instance checks, the
// cache, the index) against `curl` fetching the same studies' WADO-RS answers to /dev/null, in the same run.
// Prints one JSON line at the end.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lightbox } from '../src/main/app.ts';
import { DicomWebClient } from '../src/main/pacs/index.ts';
import { Orthanc, filesUnder } from '../test/orthanc.ts';
import { numberArg, writeBenchSlices } from './bench-data.ts';

const studies = numberArg('studies', 3);
const slices = 200; // writeBenchSlices puts 200 slices in each study
const rows = numberArg('rows', 512);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-bench-pacs-'));
process.env.LIGHTBOX_HOME = path.join(work, 'home');
const data = path.join(work, 'data');
writeBenchSlices(data, studies * slices, rows);
const files = filesUnder(data);
const orthanc = await Orthanc.start();
try {
  const t0 = performance.now();
  await orthanc.upload(files);
  process.stderr.write(`uploaded ${files.length} files to Orthanc in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const client = new DicomWebClient({ url: orthanc.dicomWebUrl, auth: { type: 'none' }, timeoutSeconds: 120 });
  const uids = (await client.searchStudies({ limit: 1000, offset: 0 })).map((s) => s.studyUid);

  // curl: the same WADO-RS answers, one request per study, bytes to /dev/null.
  let curlBytes = 0;
  const tc = performance.now();
  for (const uid of uids) {
    const out = execFileSync('curl', ['-s', '-f', '-o', '/dev/null', '-w', '%{size_download}', '-H', 'Accept: multipart/related; type="application/dicom"; transfer-syntax=*', `${orthanc.dicomWebUrl}/studies/${uid}`], { encoding: 'utf8' });
    curlBytes += Number(out);
  }
  const curlSecs = (performance.now() - tc) / 1000;

  // Lightbox's client alone: WADO-RS streamed through the multipart parser, nothing written.
  let parsedBytes = 0;
  const tp = performance.now();
  for (const uid of uids) {
    for (const s of await client.searchSeries(uid)) {
      for await (const part of client.retrieve(uid, s.seriesUid, null)) parsedBytes += part.bytes.length;
    }
  }
  const parseSecs = (performance.now() - tp) / 1000;

  // The whole retrieve job into a fresh project: listed, fetched, checked, cached and indexed.
  const app = Lightbox.open(path.join(work, 'project'), { create: true });
  app.pacs.configure({ name: 'bench', dicomweb: { url: orthanc.dicomWebUrl, auth: { type: 'none' }, timeoutSeconds: 120 } });
  const tj = performance.now();
  const summary = await app.pacs.start({ server: 'bench', items: uids.map((studyUid) => ({ studyUid })) }).done;
  const jobSecs = (performance.now() - tj) / 1000;
  await app.close();
  if (summary.received !== files.length || summary.indexedStudies.length !== uids.length) throw new Error(`bench: retrieved ${summary.received} of ${files.length} instances`);

  const mb = (b: number, s: number): number => Number((b / 1e6 / s).toFixed(1));
  const perMin = (s: number): number => Number((uids.length / s * 60).toFixed(1));
  process.stderr.write(`curl ${mb(curlBytes, curlSecs)} MB/s; client parse ${mb(parsedBytes, parseSecs)} MB/s; retrieve job ${mb(summary.bytes, jobSecs)} MB/s (${perMin(jobSecs)} studies/min)\n`);
  console.log(JSON.stringify({
    bench: 'pacs',
    studies: uids.length,
    instancesPerStudy: slices,
    studyMB: Number((curlBytes / uids.length / 1e6).toFixed(1)),
    curlMBps: mb(curlBytes, curlSecs),
    curlStudiesPerMin: perMin(curlSecs),
    clientParseMBps: mb(parsedBytes, parseSecs),
    retrieveJobMBps: mb(summary.bytes, jobSecs),
    retrieveJobStudiesPerMin: perMin(jobSecs),
    retrieveJobVsCurl: Number((curlSecs / jobSecs).toFixed(2)),
    cores: os.cpus().length,
  }));
} finally {
  await orthanc.dispose();
  fs.rmSync(work, { recursive: true, force: true });
}
