// The PACS calls of the contract (pacs.*): configured servers (DICOMweb and/or DIMSE), browse, retrieve into the
// project's cache as a job, and send SRs back. Secrets are write-only here: no result ever carries a password or token.
import { z } from 'zod';
import { JobProgress } from './job-contract.ts';

const Uid = z.string().regex(/^[0-9]+(\.[0-9]+)*$/, 'must be a DICOM UID (digits and dots)').max(64);
const ServerName = z.string().trim().min(1, 'name must not be empty').max(64).regex(/^[\w .-]+$/, 'use letters, digits, space, dot, dash or underscore');
const Aet = z.string().trim().min(1).max(16).regex(/^[\x20-\x7e]+$/, 'AE titles are up to 16 printable ASCII characters').refine((s) => !s.includes('\\'), 'AE titles must not contain a backslash');
const DicomDate = z.string().regex(/^\d{8}$/, 'dates are YYYYMMDD');

export const PacsAuth = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z.object({ type: z.literal('basic'), username: z.string().min(1).max(256), password: z.string().max(4096) }).strict(),
  z.object({ type: z.literal('bearer'), token: z.string().min(1).max(16_384) }).strict(),
]);
export type PacsAuth = z.infer<typeof PacsAuth>;

export const DicomWebConfig = z.object({
  /** The DICOMweb root, e.g. http://pacs:8042/dicom-web (QIDO, WADO and STOW paths go below it). */
  url: z.string().url().max(2048).refine((u) => /^https?:\/\//i.test(u), 'only http:// and https:// URLs'),
  auth: PacsAuth.default({ type: 'none' }),
  /** Seconds without a byte from the server before a request fails. */
  timeoutSeconds: z.number().int().min(1).max(3600).default(60),
}).strict();
export type DicomWebConfig = z.infer<typeof DicomWebConfig>;

export const DimseConfig = z.object({
  /** A host name or an IP address (IPv6 without brackets); no spaces, no URL. */
  host: z.string().min(1).max(253).regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$|^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/, 'must be a host name or an IP address, e.g. pacs.hospital.org or 10.0.0.5'),
  port: z.number().int().min(1).max(65535),
  /** The PACS's AE title. */
  calledAet: Aet,
  /** Lightbox's AE title (also the C-MOVE destination, which the PACS must know with its host and port). */
  callingAet: Aet.default('LIGHTBOX'),
  /** Instances come back by C-MOVE to Lightbox's own C-STORE receiver on this port (the PACS's entry for callingAet names it). */
  receivePort: z.number().int().min(1).max(65535).default(11112),
  timeoutSeconds: z.number().int().min(1).max(3600).default(60),
}).strict();
export type DimseConfig = z.infer<typeof DimseConfig>;

export const PacsServer = z.object({
  name: ServerName,
  dicomweb: DicomWebConfig.optional(),
  dimse: DimseConfig.optional(),
}).strict().refine((s) => s.dicomweb || s.dimse, 'a server needs a dicomweb or a dimse section');
export type PacsServer = z.infer<typeof PacsServer>;

/** A server as results show it: the auth type and user, never the secret. */
export const PacsServerView = z.object({
  name: z.string(),
  dicomweb: z.object({ url: z.string(), auth: z.enum(['none', 'basic', 'bearer']), username: z.string().nullable(), timeoutSeconds: z.number() }).nullable(),
  dimse: z.object({ host: z.string(), port: z.number(), calledAet: z.string(), callingAet: z.string(), receivePort: z.number() }).nullable(),
});
export type PacsServerView = z.infer<typeof PacsServerView>;

const Via = z.enum(['dicomweb', 'dimse']).optional();

export const PacsQuery = z.object({
  server: ServerName,
  /** studies: the study list; series: the series of `studyUid`. */
  level: z.enum(['studies', 'series']).default('studies'),
  studyUid: Uid.optional(),
  /** Matched as the PACS matches names: `*` is a wildcard (Doe* finds Doe^John). */
  patientName: z.string().max(64).optional(),
  patientId: z.string().max(64).optional(),
  accession: z.string().max(64).optional(),
  dateFrom: DicomDate.optional(),
  dateTo: DicomDate.optional(),
  modality: z.string().regex(/^[A-Z0-9]{1,16}$/, 'a modality code such as CT').optional(),
  limit: z.number().int().min(1).max(5000).default(200),
  offset: z.number().int().min(0).default(0),
  via: Via,
}).strict().refine((q) => q.level === 'studies' || q.studyUid, { message: 'series queries need studyUid', path: ['studyUid'] });
export type PacsQuery = z.infer<typeof PacsQuery>;

export const PacsStudy = z.object({
  studyUid: z.string(),
  patientName: z.string(),
  patientId: z.string(),
  studyDate: z.string(),
  studyTime: z.string(),
  accession: z.string(),
  description: z.string(),
  modalities: z.array(z.string()),
  series: z.number().int().nullable(),
  instances: z.number().int().nullable(),
});
export type PacsStudy = z.infer<typeof PacsStudy>;

export const PacsSeries = z.object({
  studyUid: z.string(),
  seriesUid: z.string(),
  modality: z.string(),
  seriesNumber: z.number().int().nullable(),
  description: z.string(),
  instances: z.number().int().nullable(),
});
export type PacsSeries = z.infer<typeof PacsSeries>;

export const RetrieveItem = z.object({ studyUid: Uid, seriesUids: z.array(Uid).min(1).max(10_000).optional() }).strict();
export type RetrieveItem = z.infer<typeof RetrieveItem>;
export const RetrieveRequest = z.object({ server: ServerName, items: z.array(RetrieveItem).min(1).max(10_000), via: Via }).strict();
export type RetrieveRequest = z.infer<typeof RetrieveRequest>;

export const RetrieveSummary = z.object({
  server: z.string(),
  via: z.enum(['dicomweb', 'dimse']),
  studies: z.number().int(),
  /** Studies complete in the cache and indexed. */
  indexedStudies: z.array(z.string()),
  instances: z.number().int(),
  /** Instances fetched in this run. */
  received: z.number().int(),
  /** Instances already in the cache or the project (by SOP Instance UID): not fetched again. */
  alreadyPresent: z.number().int(),
  bytes: z.number().int(),
  seconds: z.number(),
  cancelled: z.boolean(),
});
export type RetrieveSummary = z.infer<typeof RetrieveSummary>;

const EchoResult = z.object({ ok: z.boolean(), ms: z.number().nullable(), message: z.string() });

export const pacsCalls = {
  'pacs.servers': { input: z.object({}).strict(), result: z.object({ servers: z.array(PacsServerView) }) },
  /** Adds or replaces a server by name (kept in the Lightbox home, never in a project database). */
  'pacs.configure': { input: z.object({ server: PacsServer }).strict(), result: z.object({ servers: z.array(PacsServerView) }) },
  'pacs.remove': { input: z.object({ name: ServerName }).strict(), result: z.object({ servers: z.array(PacsServerView) }) },
  /** Checks each configured protocol: a QIDO-RS request, a C-ECHO. */
  'pacs.echo': { input: z.object({ server: ServerName }).strict(), result: z.object({ dicomweb: EchoResult.nullable(), dimse: EchoResult.nullable() }) },
  'pacs.query': { input: PacsQuery, result: z.object({ studies: z.array(PacsStudy), series: z.array(PacsSeries) }) },
  /** Starts the retrieve job (job.progress kind "pacs"); running it again with the same items resumes it. */
  'pacs.retrieve': { input: RetrieveRequest, result: z.object({ jobId: z.number().int() }) },
  /** The running retrieve and the one that can be resumed (interrupted or failed), if any. */
  'pacs.status': {
    input: z.object({}).strict(),
    result: z.object({ job: JobProgress.nullable(), resumable: RetrieveRequest.extend({ reason: z.string() }).nullable(), last: RetrieveSummary.nullable() }),
  },
  'pacs.cancel': { input: z.object({ jobId: z.number().int() }).strict(), result: z.object({ cancelled: z.boolean() }) },
  /** Sends the DICOM files of a folder (an export's SRs) to the server with STOW-RS. */
  'pacs.stow': {
    input: z.object({ server: ServerName, folder: z.string().min(1).max(4096) }).strict(),
    result: z.object({ stored: z.array(z.object({ sopUid: z.string(), studyUid: z.string() })), failed: z.array(z.object({ file: z.string(), reason: z.string() })) }),
  },
};
