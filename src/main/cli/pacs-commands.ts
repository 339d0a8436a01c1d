// `lightbox pacs …`: PACS servers, browse, retrieve and STOW-RS from the command line, through the same schemas and
// services as the pacs.* calls. Secrets come from environment variables (never from argv, which `ps` shows).
import path from 'node:path';
import { LightboxError, formatIssues } from '../../shared/contract.ts';
import type { JobProgress } from '../../shared/contract.ts';
import { PacsQuery, PacsServer, RetrieveRequest } from '../../shared/pacs-contract.ts';
import type { PacsAuth, PacsSeries, PacsStudy } from '../../shared/pacs-contract.ts';
import { Lightbox } from '../app.ts';
import { PacsBrowser } from '../pacs/index.ts';
import { lightboxHome } from '../project/recent-projects.ts';

export const PACS_USAGE = `  pacs add --name <name> [--url <DICOMweb root>] [--auth none|basic|bearer] [--user <name>]
         [--password-env VAR | --token-env VAR] [--host <h> --port <p> --aet <PACS AE> [--calling-aet LIGHTBOX]
         [--receive-port 11112]] [--timeout S] [--json]
                                             add or replace a PACS (kept in ~/.lightbox/pacs-servers.json, 0600);
                                             the password or token is read from the named environment variable
  pacs servers [--json] | pacs remove --name <name> | pacs echo --server <name> [--json]
  pacs query --server <name> [--patient-name X] [--patient-id X] [--accession X] [--from YYYYMMDD]
         [--to YYYYMMDD] [--modality CT] [--study <uid> (its series)] [--limit N] [--offset N]
         [--via dicomweb|dimse] [--json]     browse the PACS (QIDO-RS or C-FIND)
  pacs retrieve --project <dir> --server <name> --study <uid>[,<uid>…] [--series <uid>,…] [--via …] [--json]
                                             retrieve into <project>/pacs-cache and index (WADO-RS or C-MOVE);
                                             run it again to resume; a study is indexed only when complete
  pacs stow --server <name> <folder> [--json]   send the DICOM files of a folder (an export's sr/) with STOW-RS`;

type Flags = ReadonlyMap<string, string | true>;
const text = (flags: Flags, name: string): string | undefined => {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
};
const need = (flags: Flags, name: string, what: string): string => {
  const v = text(flags, name);
  if (v === undefined) throw new LightboxError('bad-request', `--${name} ${what} is required`);
  return v;
};
const int = (flags: Flags, name: string): number | undefined => {
  const v = text(flags, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new LightboxError('bad-request', `--${name} must be a whole number, not "${v}"`);
  return n;
};
const list = (v: string | undefined): string[] | undefined => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined);
function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: Parameters<typeof formatIssues>[0] } }, raw: unknown, what: string): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new LightboxError('bad-request', `pacs ${what}: ${formatIssues(r.error)}`);
  return r.data;
}
const out = (json: boolean, value: unknown, human: () => void): void => {
  if (json) process.stdout.write(`${JSON.stringify(value)}\n`);
  else human();
};

function secret(flags: Flags, name: string): string {
  const v = need(flags, name, 'VAR (the environment variable that holds the secret)');
  const s = process.env[v];
  if (s === undefined) throw new LightboxError('bad-request', `--${name}: the environment variable ${v} is not set`);
  return s;
}

function serverFromFlags(flags: Flags): PacsServer {
  const auth: PacsAuth = ((): PacsAuth => {
    const kind = text(flags, 'auth') ?? 'none';
    if (kind === 'basic') return { type: 'basic', username: need(flags, 'user', '<name>'), password: secret(flags, 'password-env') };
    if (kind === 'bearer') return { type: 'bearer', token: secret(flags, 'token-env') };
    if (kind === 'none') return { type: 'none' };
    throw new LightboxError('bad-request', `--auth must be one of none, basic, bearer, not "${kind}"`);
  })();
  const timeoutSeconds = int(flags, 'timeout');
  const url = text(flags, 'url');
  const host = text(flags, 'host');
  return parse(PacsServer, {
    name: need(flags, 'name', '<name>'),
    ...(url ? { dicomweb: { url, auth, ...(timeoutSeconds ? { timeoutSeconds } : {}) } } : {}),
    ...(host ? {
      dimse: {
        host,
        port: int(flags, 'port'),
        calledAet: text(flags, 'aet'),
        ...(text(flags, 'calling-aet') ? { callingAet: text(flags, 'calling-aet') } : {}),
        ...(int(flags, 'receive-port') ? { receivePort: int(flags, 'receive-port') } : {}),
        ...(timeoutSeconds ? { timeoutSeconds } : {}),
      },
    } : {}),
  }, 'add');
}

function printStudies(studies: PacsStudy[]): void {
  for (const s of studies) {
    console.log(`${s.studyDate || '--------'}  ${s.patientId.padEnd(12)} ${s.patientName.padEnd(24)} ${s.modalities.join('/').padEnd(8)} ${String(s.series ?? '?').padStart(3)} series ${String(s.instances ?? '?').padStart(5)} inst  ${s.description}  ${s.studyUid}`);
  }
  console.log(`${studies.length} stud${studies.length === 1 ? 'y' : 'ies'}`);
}
function printSeries(series: PacsSeries[]): void {
  for (const s of series) console.log(`${String(s.seriesNumber ?? '').padStart(4)} ${s.modality.padEnd(4)} ${String(s.instances ?? '?').padStart(5)} inst  ${s.description}  ${s.seriesUid}`);
  console.log(`${series.length} series`);
}

export async function runPacsCommand(sub: string | undefined, flags: Flags, rest: string[]): Promise<number> {
  const json = flags.get('json') === true;
  const browser = new PacsBrowser(lightboxHome());
  switch (sub) {
    case 'add': {
      const servers = browser.configure(serverFromFlags(flags));
      out(json, { servers }, () => console.log(`saved; ${servers.length} server(s) in ${browser.config.file}`));
      return 0;
    }
    case 'servers': {
      const servers = browser.servers();
      out(json, { servers }, () => {
        for (const s of servers) {
          const w = s.dicomweb ? `DICOMweb ${s.dicomweb.url} (auth ${s.dicomweb.auth}${s.dicomweb.username ? ` as ${s.dicomweb.username}` : ''})` : '';
          const d = s.dimse ? `DIMSE ${s.dimse.calledAet}@${s.dimse.host}:${s.dimse.port} as ${s.dimse.callingAet}, receiving on ${s.dimse.receivePort}` : '';
          console.log(`${s.name}: ${[w, d].filter(Boolean).join('; ')}`);
        }
        if (servers.length === 0) console.log('no PACS configured; add one with: lightbox pacs add --name <name> --url <DICOMweb root>');
      });
      return 0;
    }
    case 'remove': {
      const servers = browser.remove(need(flags, 'name', '<name>'));
      out(json, { servers }, () => console.log(`removed; ${servers.length} server(s) left`));
      return 0;
    }
    case 'echo': {
      const r = await browser.echo(need(flags, 'server', '<name>'));
      out(json, r, () => {
        if (r.dicomweb) console.log(`DICOMweb: ${r.dicomweb.ok ? `ok (${r.dicomweb.ms} ms)` : 'FAILED'} — ${r.dicomweb.message}`);
        if (r.dimse) console.log(`DIMSE: ${r.dimse.ok ? `ok (${r.dimse.ms} ms)` : 'FAILED'} — ${r.dimse.message}`);
      });
      return (r.dicomweb?.ok ?? true) && (r.dimse?.ok ?? true) ? 0 : 1;
    }
    case 'query': {
      const study = text(flags, 'study');
      const q = parse(PacsQuery, {
        server: need(flags, 'server', '<name>'),
        level: study ? 'series' : 'studies',
        ...(study ? { studyUid: study } : {}),
        patientName: text(flags, 'patient-name'),
        patientId: text(flags, 'patient-id'),
        accession: text(flags, 'accession'),
        dateFrom: text(flags, 'from'),
        dateTo: text(flags, 'to'),
        modality: text(flags, 'modality'),
        limit: int(flags, 'limit'),
        offset: int(flags, 'offset'),
        via: text(flags, 'via'),
      }, 'query');
      const r = await browser.query(q);
      out(json, r, () => (study ? printSeries(r.series) : printStudies(r.studies)));
      return 0;
    }
    case 'stow': {
      const folder = rest[0];
      if (!folder) throw new LightboxError('bad-request', 'pacs stow needs a folder: lightbox pacs stow --server <name> <folder>');
      const r = await browser.stow(need(flags, 'server', '<name>'), path.resolve(folder));
      out(json, r, () => {
        console.log(`stored ${r.stored.length} instance(s)`);
        for (const f of r.failed) console.log(`  not stored: ${f.file}: ${f.reason}`);
      });
      return r.failed.length ? 1 : 0;
    }
    case 'retrieve': {
      const project = path.resolve(need(flags, 'project', '<dir>'));
      const studies = list(text(flags, 'study')) ?? [];
      const series = list(text(flags, 'series'));
      if (series && studies.length !== 1) throw new LightboxError('bad-request', '--series needs exactly one --study (the study they belong to)');
      const req = parse(RetrieveRequest, {
        server: need(flags, 'server', '<name>'),
        items: studies.map((studyUid) => ({ studyUid, ...(series ? { seriesUids: series } : {}) })),
        via: text(flags, 'via'),
      }, 'retrieve');
      const app = Lightbox.open(project, { create: true });
      const off = app.on((name, p) => {
        const j = p as JobProgress;
        if (name !== 'job.progress' || j.kind !== 'pacs' || json) return;
        const eta = j.etaSeconds === null ? '' : `, ETA ${Math.ceil(j.etaSeconds)} s`;
        process.stderr.write(`${j.message}${j.ratePerSecond ? `, ${j.ratePerSecond.toFixed(1)} instances/s` : ''}${eta}\n`);
      });
      let jobId = 0;
      const onSigint = (): void => { if (jobId) void app.invoke('pacs.cancel', { jobId }); };
      process.once('SIGINT', onSigint);
      try {
        ({ jobId } = await app.invoke('pacs.retrieve', req));
        const s = await app.jobs.finished('pacs', jobId);
        out(json, s, () => console.log(`${s.cancelled ? 'cancelled' : 'done'}: ${s.indexedStudies.length} of ${s.studies} studies indexed; ${s.received} instances fetched, ${s.alreadyPresent} already here, ${(s.bytes / 1e6).toFixed(1)} MB in ${s.seconds.toFixed(1)} s`));
        return s.cancelled ? 130 : 0;
      } finally {
        process.off('SIGINT', onSigint);
        off();
        await app.close();
      }
    }
    default:
      throw new LightboxError('bad-request', `pacs: unknown subcommand "${sub ?? ''}"; one of add, servers, remove, echo, query, retrieve, stow`);
  }
}
