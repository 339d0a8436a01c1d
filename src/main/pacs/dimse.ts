// DIMSE for a PACS without DICOMweb, on dcmjs-dimse: C-ECHO, C-FIND (study, series, image level) and C-MOVE into
// Lightbox's own C-STORE receiver (an SCP on the configured port, AE title = the calling AE title). Each call opens
// its own association and turns network failures, rejections and failure statuses into clear errors.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dimse from 'dcmjs-dimse';
import { LightboxError } from '../../shared/contract.ts';
import type { DimseConfig, PacsQuery, PacsSeries, PacsStudy } from '../../shared/pacs-contract.ts';
import type { RetrieveSource } from './retrieve.ts';

const { Client, Server, Scp, Dataset } = dimse;
// dcmjs-dimse logs every PDU at info level to stdout, which would land in `--json` output and the app's log:
// its errors reach the caller as our own messages.
dimse.log.setLevel('silent');
const { CEchoRequest, CFindRequest, CMoveRequest } = dimse.requests;
const { CStoreResponse } = dimse.responses;
const { Status, PresentationContextResult, TransferSyntax, RejectResult, RejectSource, RejectReason } = dimse.constants;

type Elements = Record<string, unknown>;
type DimseRequest = InstanceType<typeof CEchoRequest> | InstanceType<typeof CFindRequest> | InstanceType<typeof CMoveRequest>;

function s(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.length ? s(v[0]) : '';
  if (typeof v === 'object') return String((v as { Alphabetic?: string }).Alphabetic ?? '');
  return String(v).trim();
}
function n(v: unknown): number | null {
  const x = Number(s(v));
  return s(v) !== '' && Number.isFinite(x) ? Math.trunc(x) : null;
}
function list(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(s).filter(Boolean);
  return s(v).split('\\').filter(Boolean);
}

function statusName(code: number): string {
  return `0x${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

// Statuses that end a request successfully (0x0000) or with warnings (0xB000 range) rather than failing.
function isSuccess(code: number): boolean {
  return code === Status.Success || (code & 0xf000) === 0xb000;
}

export class DimseClient {
  readonly config: DimseConfig;

  constructor(config: DimseConfig) {
    this.config = config;
  }

  get label(): string {
    return `${this.config.calledAet}@${this.config.host}:${this.config.port}`;
  }

  /**
   * Sends one request on its own association; `onResponse` sees every response. Resolves with the final status
   * when the request is done, rejects with a LightboxError naming the PACS on a network failure or rejection.
   */
  private send(request: DimseRequest, what: string, onResponse: (r: { getStatus(): number; hasDataset(): boolean; getDataset(): InstanceType<typeof Dataset> | undefined; getErrorComment(): string }) => void, signal?: AbortSignal): Promise<void> {
    const c = this.config;
    return new Promise((resolve, reject) => {
      const client = new Client();
      let final: number | null = null;
      let comment = '';
      let settled = false;
      const finish = (e?: LightboxError): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (e) reject(e);
        else if (final === null) reject(new LightboxError('unavailable', `${what}: ${this.label} closed the association without a final answer`));
        else if (!isSuccess(final)) reject(new LightboxError('unavailable', `${what}: ${this.label} answered status ${statusName(final)}${comment ? ` (${comment})` : ''}`));
        else resolve();
      };
      const onAbort = (): void => {
        try { client.abort(); } catch { /* already closed */ }
        finish(new LightboxError('io', `${what}: cancelled`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('response', (r) => {
        const st = r.getStatus();
        if (st !== Status.Pending) {
          final = st;
          comment = r.getErrorComment?.() ?? '';
        }
        onResponse(r);
      });
      client.addRequest(request);
      client.on('associationRejected', (r: { result: number; source: number; reason: number }) => {
        finish(new LightboxError('unavailable', `${what}: ${this.label} rejected the association (reason ${r.reason}); check that it knows the AE title ${c.callingAet} and that its AE title is ${c.calledAet}`));
      });
      client.on('networkError', (e: Error & { code?: string }) => {
        const code = e.code ?? /\bE[A-Z]{3,}\b/.exec(e.message)?.[0] ?? e.message.replace(/^\s*->\s*/, '');
        finish(new LightboxError('unavailable', `${what}: cannot talk to ${this.label} (${code}); check that the PACS is running, its host and port`));
      });
      client.on('closed', () => finish());
      const ms = c.timeoutSeconds * 1000;
      client.send(c.host, c.port, c.callingAet, c.calledAet, { connectTimeout: ms, associationTimeout: ms, pduTimeout: ms });
    });
  }

  async echo(): Promise<void> {
    await this.send(new CEchoRequest(), 'C-ECHO', () => {});
  }

  private async find(request: InstanceType<typeof CFindRequest>, what: string, limit: number): Promise<Elements[]> {
    const rows: Elements[] = [];
    await this.send(request, what, (r) => {
      if (r.getStatus() === Status.Pending && r.hasDataset() && rows.length < limit) rows.push(r.getDataset()!.getElements());
    });
    return rows;
  }

  async findStudies(q: Omit<PacsQuery, 'server' | 'level' | 'via'>): Promise<PacsStudy[]> {
    const keys: Elements = {};
    if (q.studyUid) keys.StudyInstanceUID = q.studyUid;
    if (q.patientName) keys.PatientName = q.patientName;
    if (q.patientId) keys.PatientID = q.patientId;
    if (q.accession) keys.AccessionNumber = q.accession;
    if (q.dateFrom || q.dateTo) keys.StudyDate = `${q.dateFrom ?? ''}-${q.dateTo ?? ''}`;
    if (q.modality) keys.ModalitiesInStudy = q.modality;
    const rows = await this.find(CFindRequest.createStudyFindRequest(keys), `C-FIND studies at ${this.label}`, q.offset + q.limit);
    return rows.slice(q.offset).map((e) => ({
      studyUid: s(e.StudyInstanceUID),
      patientName: s(e.PatientName),
      patientId: s(e.PatientID),
      studyDate: s(e.StudyDate),
      studyTime: s(e.StudyTime),
      accession: s(e.AccessionNumber),
      description: s(e.StudyDescription),
      modalities: list(e.ModalitiesInStudy),
      series: n(e.NumberOfStudyRelatedSeries),
      instances: n(e.NumberOfStudyRelatedInstances),
    })).filter((r) => r.studyUid);
  }

  async findSeries(studyUid: string, q: { modality?: string | undefined } = {}): Promise<PacsSeries[]> {
    const keys: Elements = { StudyInstanceUID: studyUid, ...(q.modality ? { Modality: q.modality } : {}) };
    const rows = await this.find(CFindRequest.createSeriesFindRequest(keys), `C-FIND series of study ${studyUid} at ${this.label}`, 100_000);
    return rows.map((e) => ({
      studyUid,
      seriesUid: s(e.SeriesInstanceUID),
      modality: s(e.Modality),
      seriesNumber: n(e.SeriesNumber),
      description: s(e.SeriesDescription),
      instances: n(e.NumberOfSeriesRelatedInstances),
    })).filter((r) => r.seriesUid);
  }

  async findInstances(studyUid: string, seriesUid: string): Promise<string[]> {
    const rows = await this.find(CFindRequest.createImageFindRequest({ StudyInstanceUID: studyUid, SeriesInstanceUID: seriesUid, SOPInstanceUID: '' }), `C-FIND instances of series ${seriesUid} at ${this.label}`, 1_000_000);
    return rows.map((e) => s(e.SOPInstanceUID)).filter(Boolean);
  }

  /** C-MOVE of a series to `destination` (our receiver's AE title); resolves when the PACS reports it done. */
  async move(studyUid: string, seriesUid: string, destination: string, signal: AbortSignal): Promise<void> {
    let failures = 0;
    await this.send(CMoveRequest.createSeriesMoveRequest(destination, studyUid, seriesUid), `C-MOVE of series ${seriesUid} to ${destination}`, (r) => {
      const f = (r as unknown as { getFailures?: () => number }).getFailures?.();
      if (typeof f === 'number') failures = f;
    }, signal);
    if (failures > 0) throw new LightboxError('unavailable', `C-MOVE of series ${seriesUid}: ${this.label} failed to send ${failures} instances to ${destination}; check that it knows ${destination} at this host and port ${this.config.receivePort}`);
  }
}

/** A received instance as Part 10 bytes with its UIDs. */
interface Received { studyUid: string; seriesUid: string; bytes: Buffer }

/**
 * Lightbox's C-STORE receiver: accepts storage associations on a port and hands every instance to `onInstance`,
 * which answers once the instance is safely taken (the PACS sees a failure status otherwise).
 */
export class StoreReceiver {
  private server: InstanceType<typeof Server> | null = null;
  private readonly tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-cstore-'));

  private readonly aet: string;
  private readonly onInstance: (r: Received) => void;

  constructor(aet: string, onInstance: (r: Received) => void) {
    this.aet = aet;
    this.onInstance = onInstance;
  }

  listen(port: number): Promise<void> {
    const aet = this.aet;
    const tmp = this.tmp;
    const deliver = this.onInstance;
    let seq = 0;
    class Receiver extends Scp {
      override associationRequested(association: Parameters<InstanceType<typeof Scp>['associationRequested']>[0]): void {
        // Only associations addressed to us (the PACS's C-MOVE destination entry names this AE title).
        if (association.getCalledAeTitle().trim() !== aet) {
          this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
          return;
        }
        // Every storage SOP class, in the first transfer syntax offered that we can keep (ours first).
        for (const c of association.getPresentationContexts() as { id: number }[]) {
          const ctx = association.getPresentationContext(c.id);
          const offered = ctx.getTransferSyntaxUids();
          const pick = [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian].find((t: string) => offered.includes(t)) ?? offered[0];
          if (pick) ctx.setResult(PresentationContextResult.Accept, pick);
          else ctx.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
        }
        this.sendAssociationAccept();
      }
      override cStoreRequest(request: Parameters<InstanceType<typeof Scp>['cStoreRequest']>[0], callback: Parameters<InstanceType<typeof Scp>['cStoreRequest']>[1]): void {
        const response = CStoreResponse.fromRequest(request);
        const ds = request.getDataset();
        if (!ds) {
          response.setStatus(0xa900);
          callback(response);
          return;
        }
        const file = path.join(tmp, `${process.pid}-${++seq}.dcm`);
        ds.toFile(file, (err) => {
          if (err) {
            response.setStatus(0xa700);
            callback(response);
            return;
          }
          try {
            const bytes = fs.readFileSync(file);
            deliver({ studyUid: s(ds.getElement('StudyInstanceUID')), seriesUid: s(ds.getElement('SeriesInstanceUID')), bytes });
            response.setStatus(Status.Success);
          } catch {
            response.setStatus(0xa700);
          } finally {
            fs.rmSync(file, { force: true });
          }
          callback(response);
        });
      }
      override associationReleaseRequested(): void {
        this.sendAssociationReleaseResponse();
      }
    }
    return new Promise((resolve, reject) => {
      const server = new Server(Receiver);
      server.on('networkError', (e: Error & { code?: string }) => reject(new LightboxError('io', `C-STORE receiver: cannot listen on port ${port} (${e.code ?? e.message}); choose another receivePort`)));
      server.on('listening', () => resolve());
      server.listen(port);
      this.server = server;
    });
  }

  close(): void {
    this.server?.close();
    this.server = null;
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** The retrieve source over DIMSE: C-FIND lists, C-MOVE sends to our receiver, received instances are yielded. */
export class DimseSource implements RetrieveSource {
  readonly via = 'dimse' as const;
  private readonly client: DimseClient;

  constructor(client: DimseClient) {
    this.client = client;
  }

  get label(): string {
    return this.client.label;
  }

  async listSeries(studyUid: string): Promise<string[]> {
    return (await this.client.findSeries(studyUid)).map((x) => x.seriesUid);
  }

  listInstances(studyUid: string, seriesUid: string): Promise<string[]> {
    return this.client.findInstances(studyUid, seriesUid);
  }

  async *fetch(studyUid: string, seriesUid: string, _missing: readonly string[], _all: readonly string[], signal: AbortSignal): AsyncIterable<Buffer> {
    const queue: Buffer[] = [];
    let wake: (() => void) | null = null;
    let ended = false;
    let failure: unknown = null;
    const receiver = new StoreReceiver(this.client.config.callingAet, (r) => {
      // Only this series: anything else the PACS sends is answered but not kept.
      if (r.studyUid === studyUid && r.seriesUid === seriesUid) queue.push(r.bytes);
      wake?.();
    });
    await receiver.listen(this.client.config.receivePort);
    try {
      this.client.move(studyUid, seriesUid, this.client.config.callingAet, signal).then(
        () => { ended = true; wake?.(); },
        (e: unknown) => { failure = e; ended = true; wake?.(); },
      );
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (ended) break;
        await new Promise<void>((r) => { wake = r; });
        wake = null;
      }
      while (queue.length) yield queue.shift()!;
      if (failure) throw failure;
    } finally {
      receiver.close();
    }
  }
}
