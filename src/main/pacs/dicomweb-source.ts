// The retrieve source over DICOMweb: QIDO-RS lists what a complete series holds, WADO-RS brings it. A series that
// is mostly missing comes in one request; a few missing instances (a resume) come one by one.
import { LightboxError } from '../../shared/contract.ts';
import type { DicomWebClient } from './dicomweb.ts';
import type { RetrieveSource } from './retrieve.ts';

export class DicomWebSource implements RetrieveSource {
  readonly via = 'dicomweb' as const;
  private readonly client: DicomWebClient;

  constructor(client: DicomWebClient) {
    this.client = client;
  }

  get label(): string {
    return this.client.name;
  }

  async listSeries(studyUid: string): Promise<string[]> {
    return (await this.client.searchSeries(studyUid)).map((s) => s.seriesUid);
  }

  listInstances(studyUid: string, seriesUid: string): Promise<string[]> {
    return this.client.searchInstances(studyUid, seriesUid);
  }

  async *fetch(studyUid: string, seriesUid: string, missing: readonly string[], all: readonly string[], signal: AbortSignal): AsyncIterable<Buffer> {
    const one = missing.length * 2 < all.length;
    const requests = one ? missing : [null];
    for (const sop of requests) {
      for await (const part of this.client.retrieve(studyUid, seriesUid, sop, signal)) {
        const type = part.contentType.split(';')[0]!.trim().toLowerCase();
        if (type && type !== 'application/dicom') {
          throw new LightboxError('unavailable', `WADO-RS series ${seriesUid} from ${this.label}: a part is "${type}", not application/dicom`);
        }
        yield part.bytes;
      }
    }
  }
}
