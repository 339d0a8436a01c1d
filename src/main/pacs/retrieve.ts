// Retrieving studies from a PACS into the project's cache, as a job. The unit that becomes visible is a study:
// instances land in `pacs-cache/.partial/<study>/<series>/<sop>.dcm` (each checked: whole DICOM, the study and
// series asked for), and only when every instance the PACS listed for the requested series is there do the series
// move to `pacs-cache/<study>/` and the normal import index that folder. A retrieve that stops (cancel, a PACS gone,
// a crash) leaves the partial files; running it again fetches only what is missing, so nothing is half-indexed and
// nothing is fetched twice (SOP Instance UIDs already cached or indexed are skipped).
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { LightboxError } from '../../shared/contract.ts';
import type { RetrieveItem, RetrieveSummary } from '../../shared/pacs-contract.ts';
import { readHeader } from '../dicom/read-header.ts';
import type { JobContext, JobEnd } from '../jobs/index.ts';
import type { PacsRepository } from '../project/pacs-repo.ts';

const UID_RE = /^[0-9]+(\.[0-9]+)*$/;

/** Where instances come from: DICOMweb (QIDO + WADO-RS) or DIMSE (C-FIND + C-MOVE/C-GET). */
export interface RetrieveSource {
  readonly via: 'dicomweb' | 'dimse';
  /** The server as messages name it. */
  readonly label: string;
  listSeries(studyUid: string): Promise<string[]>;
  listInstances(studyUid: string, seriesUid: string): Promise<string[]>;
  /**
   * The instances of a series as Part 10 bytes. `missing` are the ones still needed (a source may fetch only those
   * or the whole series, `all`; extra ones are skipped). Throws when the transfer breaks off.
   */
  fetch(studyUid: string, seriesUid: string, missing: readonly string[], all: readonly string[], signal: AbortSignal): AsyncIterable<Buffer>;
}

export interface RetrieveDeps {
  cacheDir: string;
  repo: PacsRepository;
  /** Indexes a complete study folder with the normal import; resolves when it is indexed. */
  importStudy: (folder: string) => Promise<void>;
  /** Test hook: called after each instance is safely in the cache. */
  afterInstance?: ((sopUid: string) => Promise<void> | void) | undefined;
}

function checkUid(u: string, what: string): string {
  if (!UID_RE.test(u) || u.length > 64) throw new LightboxError('unavailable', `${what}: the PACS named an invalid UID ("${u.slice(0, 70)}"); it cannot be retrieved`);
  return u;
}

function listDcm(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith('.dcm')).map((f) => f.slice(0, -4));
  } catch {
    return [];
  }
}

interface SeriesPlan { seriesUid: string; expected: string[]; present: Set<string> }
interface StudyPlan { studyUid: string; series: SeriesPlan[] }

export async function runRetrieve(source: RetrieveSource, items: readonly RetrieveItem[], deps: RetrieveDeps, job: JobContext): Promise<JobEnd<RetrieveSummary>> {
  const started = performance.now();
  const partialRoot = path.join(deps.cacheDir, '.partial');
  const signal = job.signal;
  job.progress({ phase: 'scanning', done: 0, total: 0, message: `Listing what to retrieve from ${source.label}` }, true);

  // Plan: every instance of every requested series, and which are here already (cached or indexed).
  const plans: StudyPlan[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    if (signal.aborted) break;
    const studyUid = checkUid(item.studyUid, 'retrieve');
    if (seen.has(studyUid)) continue;
    seen.add(studyUid);
    const seriesUids = item.seriesUids ?? await source.listSeries(studyUid);
    if (seriesUids.length === 0) throw new LightboxError('not-found', `retrieve: ${source.label} has no series for study ${studyUid}; check the study UID`);
    const series: SeriesPlan[] = [];
    for (const s of seriesUids) {
      const seriesUid = checkUid(s, `study ${studyUid}`);
      const expected = [...new Set((await source.listInstances(studyUid, seriesUid)).map((u) => checkUid(u, `series ${seriesUid}`)))];
      if (expected.length === 0) throw new LightboxError('not-found', `retrieve: ${source.label} lists no instances in series ${seriesUid} of study ${studyUid}`);
      const present = new Set([
        ...listDcm(path.join(deps.cacheDir, studyUid, seriesUid)),
        ...listDcm(path.join(partialRoot, studyUid, seriesUid)),
        ...deps.repo.indexedSops(expected),
      ].filter((u) => expected.includes(u)));
      series.push({ seriesUid, expected, present });
    }
    plans.push({ studyUid, series });
    job.progress({ phase: 'scanning', done: plans.length, total: 0, message: `Listed ${plans.length} of ${items.length} studies` });
  }
  const total = plans.reduce((n, p) => n + p.series.reduce((m, s) => m + s.expected.length, 0), 0);
  const alreadyPresent = plans.reduce((n, p) => n + p.series.reduce((m, s) => m + s.present.size, 0), 0);
  let done = alreadyPresent;
  let received = 0;
  let bytes = 0;
  const indexed: string[] = [];
  const mbps = (): string => {
    const s = job.activeSeconds();
    return s > 0 ? `, ${(bytes / 1e6 / s).toFixed(1)} MB/s` : '';
  };
  job.progress({ phase: 'retrieving', done, total, message: `Retrieving ${total - done} of ${total} instances (${alreadyPresent} already here)` }, true);

  for (let si = 0; si < plans.length && !signal.aborted; si++) {
    const study = plans[si]!;
    for (const series of study.series) {
      if (signal.aborted) break;
      const missing = series.expected.filter((u) => !series.present.has(u));
      if (missing.length === 0) continue;
      const dir = path.join(partialRoot, study.studyUid, series.seriesUid);
      fs.mkdirSync(dir, { recursive: true });
      const what = `series ${series.seriesUid} of study ${study.studyUid} from ${source.label}`;
      try {
        for await (const bytesIn of source.fetch(study.studyUid, series.seriesUid, missing, series.expected, signal)) {
          const sop = storeInstance(bytesIn, dir, study.studyUid, series.seriesUid, what);
          if (series.present.has(sop)) continue;
          series.present.add(sop);
          if (!series.expected.includes(sop)) series.expected.push(sop);
          received++;
          done++;
          bytes += bytesIn.length;
          job.progress({ phase: 'retrieving', done, total, message: `Study ${si + 1} of ${plans.length}: ${done} of ${total} instances${mbps()}` });
          await deps.afterInstance?.(sop);
          if (signal.aborted) break;
        }
      } catch (e) {
        if (signal.aborted) break;
        const why = e instanceof Error ? e.message : String(e);
        throw new LightboxError(e instanceof LightboxError ? e.code : 'io',
          `${why}. ${done} of ${total} instances are in the cache; nothing of an incomplete study is indexed. Run the retrieve again to resume`);
      }
    }
    if (signal.aborted) break;
    const short = study.series.flatMap((s) => s.expected.filter((u) => !s.present.has(u)).map((u) => `${s.seriesUid}/${u}`));
    if (short.length > 0) {
      throw new LightboxError('unavailable', `retrieve: ${source.label} did not send ${short.length} instance${short.length === 1 ? '' : 's'} of study ${study.studyUid} (e.g. ${short[0]}); the study stays unindexed. Run the retrieve again to resume`);
    }
    await completeStudy(study, deps);
    indexed.push(study.studyUid);
    job.progress({ phase: 'retrieving', done, total, message: `Indexed study ${si + 1} of ${plans.length}: ${study.studyUid}` }, true);
    await yieldToLoop();
  }
  const cancelled = signal.aborted;
  const summary: RetrieveSummary = {
    server: source.label,
    via: source.via,
    studies: plans.length,
    indexedStudies: indexed,
    instances: total,
    received,
    alreadyPresent,
    bytes,
    seconds: (performance.now() - started) / 1000,
    cancelled,
  };
  return {
    result: summary,
    cancelled,
    message: cancelled
      ? `Retrieve cancelled after ${done} of ${total} instances; run it again to resume (incomplete studies are not indexed)`
      : `Retrieved ${plans.length} ${plans.length === 1 ? 'study' : 'studies'} from ${source.label}: ${received} instances fetched, ${alreadyPresent} already here${mbps()}`,
  };
}

/**
 * Checks one received instance and puts it in the partial folder (temp file, then rename): whole DICOM, the study
 * and series asked for, a valid SOP Instance UID. Returns its SOP Instance UID.
 */
function storeInstance(bytes: Buffer, dir: string, studyUid: string, seriesUid: string, what: string): string {
  const tmp = path.join(dir, `.incoming-${process.pid}.tmp`);
  fs.writeFileSync(tmp, bytes);
  try {
    const h = readHeader(tmp);
    if (h.kind !== 'dicom') {
      throw new LightboxError('unavailable', `${what}: an instance is not valid DICOM (${h.kind === 'rejected' ? h.reason : h.why}); the PACS sent a broken object`);
    }
    const r = h.record;
    if (r.study.studyUid !== studyUid || r.series.seriesUid !== seriesUid) {
      throw new LightboxError('unavailable', `${what}: the PACS sent instance ${r.instance.sopUid} of series ${r.series.seriesUid} (study ${r.study.studyUid}), which was not asked for`);
    }
    const sop = checkUid(r.instance.sopUid, what);
    fs.renameSync(tmp, path.join(dir, `${sop}.dcm`));
    return sop;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Moves a complete study's series from the partial folder into the cache and indexes the study folder. */
async function completeStudy(study: StudyPlan, deps: RetrieveDeps): Promise<void> {
  const finalStudy = path.join(deps.cacheDir, study.studyUid);
  const partialStudy = path.join(deps.cacheDir, '.partial', study.studyUid);
  for (const s of study.series) {
    const from = path.join(partialStudy, s.seriesUid);
    const to = path.join(finalStudy, s.seriesUid);
    fs.mkdirSync(to, { recursive: true });
    for (const f of fs.existsSync(from) ? fs.readdirSync(from) : []) {
      if (f.endsWith('.dcm')) fs.renameSync(path.join(from, f), path.join(to, f));
    }
    fs.rmSync(from, { recursive: true, force: true });
  }
  fs.rmSync(partialStudy, { recursive: true, force: true });
  await deps.importStudy(finalStudy);
  // Instances the project held before (imported from elsewhere) count as present; all the others are in the cache.
  const expected = study.series.flatMap((s) => s.expected);
  const indexedNow = deps.repo.indexedSops(expected);
  const notIndexed = expected.filter((u) => !indexedNow.has(u));
  if (notIndexed.length > 0) {
    throw new LightboxError('io', `retrieve: ${notIndexed.length} instance${notIndexed.length === 1 ? '' : 's'} of study ${study.studyUid} were received but not indexed (e.g. ${notIndexed[0]}); see the import report`);
  }
}
