// A tiny loopback HTTP server in front of the test Orthanc that misbehaves on demand: it truncates WADO-RS answers,
// answers a chosen status, or demands a bearer token — what a real Orthanc will not do when asked.
import http from 'node:http';
import type net from 'node:net';

export type ProxyMode =
  | { kind: 'pass' }
  /** WADO-RS series answers stop after this share of their bytes (the response itself ends cleanly). */
  | { kind: 'truncate-wado'; share: number }
  | { kind: 'status'; status: number; body: string }
  /** Multipart answers whose Content-Type has no boundary. */
  | { kind: 'no-boundary' }
  /** WADO-RS series answers break off: this share of the bytes is sent, then the connection is dropped. */
  | { kind: 'drop-wado'; share: number };

export class PacsProxy {
  mode: ProxyMode = { kind: 'pass' };
  /** When set, requests without `Authorization: Bearer <token>` get 401. */
  bearer: string | null = null;
  readonly seen: { method: string; url: string; authorization: string | undefined }[] = [];
  private readonly server: http.Server;
  private readonly target: string;

  private constructor(target: string) {
    this.target = target;
    this.server = http.createServer((req, res) => { void this.handle(req, res); });
  }

  static async start(target: string): Promise<PacsProxy> {
    const p = new PacsProxy(target);
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    if (this.bearer !== null && req.headers.authorization !== `Bearer ${this.bearer}`) {
      res.writeHead(401, { 'Content-Type': 'text/plain' }).end('bearer token required');
      return;
    }
    if (this.mode.kind === 'status') {
      res.writeHead(this.mode.status, { 'Content-Type': 'text/plain' }).end(this.mode.body);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers: Record<string, string> = {};
    for (const h of ['accept', 'content-type']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
    const upstream = await fetch(`${this.target}${req.url}`, { method: req.method ?? 'GET', headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
    const body = Buffer.from(await upstream.arrayBuffer());
    let ct = upstream.headers.get('content-type') ?? 'application/octet-stream';
    const isWado = /multipart\/related/i.test(ct);
    let out = body;
    if (isWado && this.mode.kind === 'truncate-wado') out = body.subarray(0, Math.floor(body.length * this.mode.share));
    if (isWado && this.mode.kind === 'no-boundary') ct = 'multipart/related; type="application/dicom"';
    if (isWado && this.mode.kind === 'drop-wado') {
      res.writeHead(upstream.status, { 'Content-Type': ct, 'Content-Length': String(body.length) });
      res.write(body.subarray(0, Math.floor(body.length * this.mode.share)), () => res.socket?.destroy());
      return;
    }
    res.writeHead(upstream.status, { 'Content-Type': ct });
    res.end(out);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
