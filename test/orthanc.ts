// A throwaway Orthanc (Debian's `orthanc` + `orthanc-dicomweb`) for the PACS tests and the bench: its own temp
// storage, free loopback ports, started and awaited by polling its REST API, loaded over REST, stopped by pid.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The DICOMweb plugin's shared object, found the way Debian installs it (`dpkg -L orthanc-dicomweb`). */
export function dicomWebPlugin(): string {
  const known = ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so'];
  for (const p of known) if (fs.existsSync(p)) return p;
  try {
    const listed = execFileSync('dpkg', ['-L', 'orthanc-dicomweb'], { encoding: 'utf8' }).split('\n');
    const so = listed.find((l) => /libOrthancDicomWeb\.so/.test(l));
    if (so) return so;
  } catch { /* not a Debian system */ }
  throw new Error('orthanc-dicomweb is not installed: apt-get install orthanc orthanc-dicomweb (see .ci/run)');
}

export function orthancAvailable(): boolean {
  try {
    execFileSync('Orthanc', ['--version'], { stdio: 'ignore' });
    dicomWebPlugin();
    return true;
  } catch {
    return false;
  }
}

/** A loopback port nobody listens on now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface OrthancOptions {
  /** Remote modalities Orthanc may C-MOVE to: name → [AE title, host, port]. */
  modalities?: Record<string, [string, string, number]>;
  /** HTTP basic users (turns authentication on). */
  users?: Record<string, string>;
  aet?: string;
}

export class Orthanc {
  readonly dir: string;
  readonly httpPort: number;
  readonly dicomPort: number;
  readonly aet: string;
  private readonly users: Record<string, string> | undefined;
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private log = '';

  private constructor(dir: string, httpPort: number, dicomPort: number, opts: OrthancOptions) {
    this.dir = dir;
    this.httpPort = httpPort;
    this.dicomPort = dicomPort;
    this.aet = opts.aet ?? 'ORTHANC';
    this.users = opts.users;
    const config = {
      Name: 'lightbox-test',
      HttpPort: httpPort,
      DicomPort: dicomPort,
      DicomAet: this.aet,
      StorageDirectory: path.join(dir, 'db'),
      IndexDirectory: path.join(dir, 'db'),
      RemoteAccessAllowed: false,
      AuthenticationEnabled: opts.users !== undefined,
      RegisteredUsers: opts.users ?? {},
      DicomModalities: opts.modalities ?? {},
      DicomAlwaysAllowEcho: true,
      DicomCheckCalledAet: false,
      // Orthanc answers C-FIND from any calling AE only when it does not check them against DicomModalities.
      DicomCheckModalityHost: false,
      UnknownSopClassAccepted: true,
      Plugins: [dicomWebPlugin()],
      DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true, StudiesMetadata: 'Full' },
    };
    fs.mkdirSync(path.join(dir, 'db'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'orthanc.json'), JSON.stringify(config, null, 2));
  }

  /** Starts a fresh Orthanc on free ports with its own storage and waits until its REST API answers. */
  static async start(opts: OrthancOptions = {}): Promise<Orthanc> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-orthanc-'));
    const o = new Orthanc(dir, await freePort(), await freePort(), opts);
    await o.start();
    return o;
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get dicomWebUrl(): string {
    return `${this.url}/dicom-web`;
  }

  /** (Re)starts the process on the same ports and storage; resolves once /system answers. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.proc) return;
    this.log = '';
    const proc = spawn('Orthanc', [path.join(this.dir, 'orthanc.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    const keep = (b: Buffer): void => { this.log = (this.log + b.toString()).slice(-8000); };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => proc.once('exit', () => { if (this.proc === proc) this.proc = null; resolve(); }));
    const deadline = Date.now() + timeoutMs;
    let exitedEarly = false;
    void this.exited.then(() => { exitedEarly = true; });
    for (;;) {
      if (exitedEarly) throw new Error(`Orthanc exited while starting:\n${this.log}`);
      try {
        const r = await fetch(`${this.url}/system`, { headers: this.authHeader(), signal: AbortSignal.timeout(1000) });
        if (r.ok) return;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`Orthanc did not answer on ${this.url} within ${timeoutMs} ms:\n${this.log}`);
      }
      // Poll: the next attempt after the event loop has turned (no fixed wait for "long enough").
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops the process (SIGTERM, then SIGKILL) and waits for it to exit; storage is kept for a restart. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    p.kill('SIGTERM');
    const killer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(killer);
  }

  /** Stops the process and removes its storage. */
  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  authHeader(): Record<string, string> {
    const u = this.users && Object.entries(this.users)[0];
    return u ? { Authorization: `Basic ${Buffer.from(`${u[0]}:${u[1]}`).toString('base64')}` } : {};
  }

  /** Uploads DICOM files through the REST API (POST /instances); returns how many Orthanc stored. */
  async upload(files: string[]): Promise<number> {
    let stored = 0;
    for (const f of files) {
      const r = await fetch(`${this.url}/instances`, { method: 'POST', body: fs.readFileSync(f), headers: { 'Content-Type': 'application/dicom', ...this.authHeader() } });
      if (!r.ok) throw new Error(`Orthanc refused ${f}: HTTP ${r.status} ${await r.text()}`);
      const body = (await r.json()) as { Status?: string };
      if (body.Status === 'Success' || body.Status === 'AlreadyStored') stored++;
    }
    return stored;
  }

  async rest<T>(pathname: string, init: RequestInit = {}): Promise<T> {
    const r = await fetch(`${this.url}${pathname}`, { ...init, headers: { ...this.authHeader(), ...(init.headers as Record<string, string> | undefined) } });
    if (!r.ok) throw new Error(`Orthanc ${pathname}: HTTP ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  }

  /** Orthanc's recent output, for a failing test's message. */
  output(): string {
    return this.log;
  }
}

/** Every regular file under a folder (for uploading a generated data set). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (ent.isFile()) out.push(path.join(ent.parentPath, ent.name));
  }
  return out.sort();
}
