// A DICOMweb client on Node's fetch (dicomweb-client needs XMLHttpRequest and fails in Node, dicomweb-client#101):
// QIDO-RS search, WADO-RS retrieve streamed through our multipart parser, STOW-RS store. Every failure is a
// LightboxError that names the server, the request and what to do; credentials never appear in a message.
import http from 'node:http';
import https from 'node:https';
import { LightboxError } from '../../shared/contract.ts';
import type { DicomWebConfig, PacsQuery, PacsSeries, PacsStudy } from '../../shared/pacs-contract.ts';
import { DEFAULT_LIMITS, boundaryOf, buildMultipart, newBoundary, readMultipart } from './multipart.ts';
import type { MultipartLimits } from './multipart.ts';

/** The largest JSON answer (QIDO, STOW) we read: a search page of a few thousand studies is well below. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

type DicomJson = Record<string, { vr?: string; Value?: unknown[] } | undefined>;

function str(ds: DicomJson, tag: string): string {
  const v = ds[tag]?.Value?.[0];
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return String((v as { Alphabetic?: string }).Alphabetic ?? '');
  return String(v);
}
function strs(ds: DicomJson, tag: string): string[] {
  return (ds[tag]?.Value ?? []).filter((v): v is string => typeof v === 'string');
}
function int(ds: DicomJson, tag: string): number | null {
  const n = Number(ds[tag]?.Value?.[0]);
  return Number.isFinite(n) && ds[tag]?.Value?.length ? Math.trunc(n) : null;
}

/** What a DICOMweb answer's body is read as: chunks, stopped when no byte arrives for the idle time. */
async function* idleBounded(body: ReadableStream<Uint8Array>, idleMs: number, what: string, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new LightboxError('unavailable', `${what}: no data for ${Math.round(idleMs / 1000)} s; the server stopped sending. Retry (the retrieve resumes)`)), idleMs);
      });
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await Promise.race([reader.read(), idle]);
      } catch (e) {
        if (e instanceof LightboxError) throw e;
        if (signal?.aborted) throw new LightboxError('io', `${what}: cancelled`);
        throw new LightboxError('unavailable', `${what}: the connection broke while receiving (${causeOf(e)}); check that the server is running, then retry (the retrieve resumes)`);
      } finally {
        clearTimeout(timer);
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function causeOf(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}

function dicomDateRange(from?: string, to?: string): string | null {
  if (!from && !to) return null;
  return `${from ?? ''}-${to ?? ''}`;
}

export interface RetrievedInstance { bytes: Buffer; contentType: string }

export class DicomWebClient {
  private readonly base: string;
  private readonly shown: string;
  private readonly config: DicomWebConfig;
  readonly limits: MultipartLimits;

  constructor(config: DicomWebConfig, limits: MultipartLimits = DEFAULT_LIMITS) {
    this.config = config;
    this.base = config.url.replace(/\/+$/, '');
    const u = new URL(this.base);
    u.username = '';
    u.password = '';
    this.shown = u.toString().replace(/\/+$/, '');
    this.limits = limits;
  }

  /** The server as messages name it (no credentials). */
  get name(): string {
    return this.shown;
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    const a = this.config.auth;
    if (a.type === 'basic') return { ...extra, Authorization: `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}` };
    if (a.type === 'bearer') return { ...extra, Authorization: `Bearer ${a.token}` };
    return extra;
  }

  /** One request: auth added, connection failures and non-2xx answers turned into errors that say what to do. */
  private async request(pathname: string, init: { method?: string; accept: string; body?: Buffer; contentType?: string; signal?: AbortSignal | undefined }, what: string): Promise<Response> {
    // The time limit covers the wait for the answer's head only; a long body is bounded by its idle time instead.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.config.timeoutSeconds * 1000);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout.signal]) : timeout.signal;
    let r: Response;
    try {
      r = await fetch(`${this.base}${pathname}`, {
        method: init.method ?? 'GET',
        headers: this.headers({ Accept: init.accept, ...(init.contentType ? { 'Content-Type': init.contentType } : {}) }),
        // A Buffer is a valid body; the DOM typings only want an ArrayBuffer-backed view.
        ...(init.body ? { body: init.body as unknown as NonNullable<RequestInit['body']> } : {}),
        signal,
        redirect: 'error',
      });
    } catch (e) {
      if (init.signal?.aborted) throw new LightboxError('io', `${what}: cancelled`);
      if (timeout.signal.aborted) throw new LightboxError('unavailable', `${what}: ${this.shown} did not answer within ${this.config.timeoutSeconds} s; check the server, or raise its timeout`);
      throw new LightboxError('unavailable', `${what}: cannot reach ${this.shown} (${causeOf(e)}); check that the PACS is running and the URL is right`);
    } finally {
      clearTimeout(timer);
    }
    if (r.ok) return r;
    throw this.statusError(r.status, await r.text().catch(() => ''), what);
  }

  private statusError(status: number, body: string, what: string): LightboxError {
    const text = body.replace(/\s+/g, ' ').trim().slice(0, 200);
    const detail = text ? `: ${text}` : '';
    if (status === 401 || status === 403) {
      return new LightboxError('unauthorized', `${what}: ${this.shown} refused the credentials (HTTP ${status}); check the server's auth settings (pacs.configure)`);
    }
    if (status === 404) return new LightboxError('not-found', `${what}: ${this.shown} has no such resource (HTTP 404)${detail}; check the UIDs and that the URL is the DICOMweb root`);
    if (status >= 500) return new LightboxError('unavailable', `${what}: ${this.shown} failed (HTTP ${status})${detail}; retry later or check the PACS's log`);
    if (status >= 300 && status < 400) return new LightboxError('bad-request', `${what}: ${this.shown} redirects (HTTP ${status}); configure the URL it redirects to`);
    return new LightboxError('bad-request', `${what}: ${this.shown} refused the request (HTTP ${status})${detail}`);
  }

  /**
   * A GET whose body is streamed with node:http (several times faster than fetch's web streams for large WADO-RS
   * answers): the head within the timeout, then the body as Buffers, failing when no byte comes for the idle time
   * or the connection breaks.
   */
  private streamGet(pathname: string, accept: string, what: string, signal?: AbortSignal): Promise<{ contentType: string | null; body: AsyncIterable<Buffer>; close: () => void }> {
    const url = new URL(`${this.base}${pathname}`);
    const idleMs = this.config.timeoutSeconds * 1000;
    const shown = this.shown;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new LightboxError('io', `${what}: cancelled`));
        return;
      }
      const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'GET', headers: this.headers({ Accept: accept }) });
      const onAbort = (): void => { req.destroy(new LightboxError('io', `${what}: cancelled`)); };
      signal?.addEventListener('abort', onAbort, { once: true });
      const head = setTimeout(() => req.destroy(new LightboxError('unavailable', `${what}: ${shown} did not answer within ${this.config.timeoutSeconds} s; check the server, or raise its timeout`)), idleMs);
      req.once('error', (e) => {
        clearTimeout(head);
        signal?.removeEventListener('abort', onAbort);
        reject(e instanceof LightboxError ? e : new LightboxError('unavailable', `${what}: cannot reach ${shown} (${causeOf(e)}); check that the PACS is running and the URL is right`));
      });
      req.once('response', (res) => {
        clearTimeout(head);
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => { if (text.length < 1000) text += c; });
          res.once('end', () => reject(this.statusError(status, text, what)));
          res.once('error', () => reject(this.statusError(status, text, what)));
          return;
        }
        async function* body(): AsyncGenerator<Buffer> {
          let timer: NodeJS.Timeout | undefined;
          const arm = (): void => {
            clearTimeout(timer);
            timer = setTimeout(() => res.destroy(new LightboxError('unavailable', `${what}: no data for ${Math.round(idleMs / 1000)} s; the server stopped sending. Retry (the retrieve resumes)`)), idleMs);
          };
          arm();
          try {
            for await (const c of res) {
              arm();
              yield c as Buffer;
            }
            // A body that stops short of its Content-Length ends without an error on some Node versions.
            if (!res.complete) throw new LightboxError('unavailable', `${what}: the connection closed before the answer was complete; check that the server is running, then retry (the retrieve resumes)`);
          } catch (e) {
            if (e instanceof LightboxError) throw e;
            throw new LightboxError('unavailable', `${what}: the connection broke while receiving (${causeOf(e)}); check that the server is running, then retry (the retrieve resumes)`);
          } finally {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            res.destroy();
          }
        }
        resolve({ contentType: typeof res.headers['content-type'] === 'string' ? res.headers['content-type'] : null, body: body(), close: () => res.destroy() });
      });
      req.end();
    });
  }

  private async json(r: Response, what: string): Promise<unknown> {
    if (r.status === 204) return [];
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of idleBounded(r.body!, this.config.timeoutSeconds * 1000, what)) {
      n += c.length;
      if (n > MAX_JSON_BYTES) throw new LightboxError('unavailable', `${what}: the answer is larger than ${MAX_JSON_BYTES} bytes; narrow the search`);
      chunks.push(Buffer.from(c));
    }
    if (n === 0) return [];
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new LightboxError('unavailable', `${what}: ${this.shown} answered with something that is not JSON`);
    }
  }

  private async search(pathname: string, params: URLSearchParams, what: string): Promise<DicomJson[]> {
    const q = params.toString();
    const r = await this.request(`${pathname}${q ? `?${q}` : ''}`, { accept: 'application/dicom+json' }, what);
    const body = await this.json(r, what);
    if (!Array.isArray(body) || body.some((x) => typeof x !== 'object' || x === null)) {
      throw new LightboxError('unavailable', `${what}: ${this.shown} answered JSON that is not a list of DICOM data sets`);
    }
    return body as DicomJson[];
  }

  async searchStudies(q: Omit<PacsQuery, 'server' | 'level' | 'via'>): Promise<PacsStudy[]> {
    const p = new URLSearchParams();
    if (q.studyUid) p.set('StudyInstanceUID', q.studyUid);
    if (q.patientName) p.set('PatientName', q.patientName);
    if (q.patientId) p.set('PatientID', q.patientId);
    if (q.accession) p.set('AccessionNumber', q.accession);
    const dates = dicomDateRange(q.dateFrom, q.dateTo);
    if (dates) p.set('StudyDate', dates);
    if (q.modality) p.set('ModalitiesInStudy', q.modality);
    p.set('limit', String(q.limit));
    if (q.offset) p.set('offset', String(q.offset));
    for (const f of ['00081030', '00201206', '00201208', '00080061', '00080050']) p.append('includefield', f);
    const rows = await this.search('/studies', p, `QIDO-RS studies at ${this.shown}`);
    return rows.map((ds) => ({
      studyUid: str(ds, '0020000D'),
      patientName: str(ds, '00100010'),
      patientId: str(ds, '00100020'),
      studyDate: str(ds, '00080020'),
      studyTime: str(ds, '00080030'),
      accession: str(ds, '00080050'),
      description: str(ds, '00081030'),
      modalities: strs(ds, '00080061'),
      series: int(ds, '00201206'),
      instances: int(ds, '00201208'),
    })).filter((s) => s.studyUid);
  }

  async searchSeries(studyUid: string, q: { modality?: string | undefined } = {}): Promise<PacsSeries[]> {
    const p = new URLSearchParams();
    if (q.modality) p.set('Modality', q.modality);
    for (const f of ['0008103E', '00201209']) p.append('includefield', f);
    const rows = await this.search(`/studies/${studyUid}/series`, p, `QIDO-RS series of study ${studyUid} at ${this.shown}`);
    return rows.map((ds) => ({
      studyUid,
      seriesUid: str(ds, '0020000E'),
      modality: str(ds, '00080060'),
      seriesNumber: int(ds, '00200011'),
      description: str(ds, '0008103E'),
      instances: int(ds, '00201209'),
    })).filter((s) => s.seriesUid);
  }

  /** The SOP Instance UIDs of a series (what a complete retrieve must bring). */
  async searchInstances(studyUid: string, seriesUid: string): Promise<string[]> {
    const p = new URLSearchParams();
    const rows = await this.search(`/studies/${studyUid}/series/${seriesUid}/instances`, p, `QIDO-RS instances of series ${seriesUid} at ${this.shown}`);
    return rows.map((ds) => str(ds, '00080018')).filter(Boolean);
  }

  /**
   * WADO-RS: the instances of a series (or of one instance) as they arrive, in their stored transfer syntax.
   * Throws (after the whole parts before it) when the answer breaks off or is malformed.
   */
  async *retrieve(studyUid: string, seriesUid: string, sopUid: string | null, signal?: AbortSignal): AsyncGenerator<RetrievedInstance> {
    const pathname = `/studies/${studyUid}/series/${seriesUid}${sopUid ? `/instances/${sopUid}` : ''}`;
    const what = `WADO-RS ${sopUid ? `instance ${sopUid}` : `series ${seriesUid}`} from ${this.shown}`;
    const r = await this.streamGet(pathname, 'multipart/related; type="application/dicom"; transfer-syntax=*', what, signal);
    let boundary: string;
    try {
      boundary = boundaryOf(r.contentType, what);
    } catch (e) {
      r.close();
      throw e;
    }
    for await (const part of readMultipart(r.body, boundary, what, this.limits)) {
      yield { bytes: part.body, contentType: part.headers['content-type'] ?? '' };
    }
  }

  /** STOW-RS: stores Part 10 files; the SOP Instance UIDs the server stored and the ones it refused (with why). */
  async store(files: readonly Buffer[], studyUid?: string): Promise<{ stored: string[]; failed: { sopUid: string; reason: string }[] }> {
    const boundary = newBoundary();
    const what = `STOW-RS to ${this.shown}`;
    const r = await this.request(studyUid ? `/studies/${studyUid}` : '/studies', {
      method: 'POST',
      accept: 'application/dicom+json',
      contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`,
      body: buildMultipart(files, boundary),
    }, what);
    const body = (await this.json(r, what)) as DicomJson;
    const seq = (tag: string): DicomJson[] => (body?.[tag]?.Value ?? []) as DicomJson[];
    return {
      stored: seq('00081199').map((ds) => str(ds, '00081155')),
      failed: seq('00081198').map((ds) => ({ sopUid: str(ds, '00081155'), reason: `failure reason ${str(ds, '00081197') || 'unknown'}` })),
    };
  }

  /** A cheap request that proves the server answers DICOMweb with these credentials. */
  async echo(): Promise<void> {
    await this.search('/studies', new URLSearchParams({ limit: '1' }), `QIDO-RS at ${this.shown}`);
  }
}
