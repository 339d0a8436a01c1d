// Host 2: the same API over HTTP + WebSocket on 127.0.0.1, for any Chromium-based browser, e2e tests and scripts.
// Every request must carry the per-run token (cookie set from the start URL, or `Authorization: Bearer`), name
// this host in its Host header (no DNS rebinding) and, when a browser sends one, come from this origin.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { channels } from '../../shared/contract.ts';
import type { ApiError } from '../../shared/contract.ts';
import type { HostedApp } from '../workstation.ts';
import { toApiError } from '../app.ts';

export interface HttpHostOptions {
  port?: number;
  staticDir?: string;
  token?: string;
}

export interface HttpHost {
  url: string;
  /** The URL to open: it carries the token once and the page then holds it in an HttpOnly cookie. */
  startUrl: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

const COOKIE = 'lightbox_token';
// Room for embed.pixels (512×512 RGBA, base64) and nothing much larger.
const MAX_BODY = 2 * 1024 * 1024;
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon', '.map': 'application/json',
};

function sameToken(a: string | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function cookieToken(req: http.IncomingMessage): string | undefined {
  const header = req.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === COOKIE) return v;
  }
  return undefined;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(data);
}

function sendError(res: http.ServerResponse, status: number, error: ApiError): void {
  sendJson(res, status, { ok: false, error });
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error(`request body over ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startHttpHost(app: HostedApp, opts: HttpHostOptions = {}): Promise<HttpHost> {
  const token = opts.token ?? crypto.randomBytes(24).toString('base64url');
  const staticDir = opts.staticDir ? path.resolve(opts.staticDir) : undefined;
  let port = opts.port ?? 0;
  let allowedHosts = new Set<string>();
  let allowedOrigins = new Set<string>();

  const authorised = (req: http.IncomingMessage, url: URL): boolean => {
    const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : undefined;
    return sameToken(cookieToken(req), token) || sameToken(bearer, token) || sameToken(url.searchParams.get('token') ?? undefined, token);
  };

  const checkOrigin = (req: http.IncomingMessage): string | null => {
    if (!allowedHosts.has(req.headers.host ?? '')) return `Host "${req.headers.host ?? ''}" is not this workstation's loopback address`;
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin)) return `Origin "${origin}" may not call this workstation`;
    return null;
  };

  const csp = (): string =>
    ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "worker-src 'self' blob:", "img-src 'self' data: blob:",
      "style-src 'self' 'unsafe-inline'", `connect-src 'self' ${[...allowedOrigins].map((o) => o.replace('http:', 'ws:')).join(' ')}`,
      "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"].join('; ');

  const serveStatic = (req: http.IncomingMessage, res: http.ServerResponse, url: URL): void => {
    if (!staticDir) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('This host serves the API only (no renderer build found; run "npm run build").');
      return;
    }
    const rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    const file = path.resolve(staticDir, `.${rel}`);
    if (!file.startsWith(staticDir + path.sep)) {
      res.writeHead(404).end();
      return;
    }
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, {
        'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
        'content-length': st.size,
        'content-security-policy': csp(),
        'x-content-type-options': 'nosniff',
        'cache-control': rel.startsWith('/assets/') ? 'max-age=3600' : 'no-store',
      });
      fs.createReadStream(file).pipe(res);
    });
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const bad = checkOrigin(req);
      if (bad) return sendError(res, 403, { code: 'unauthorized', message: bad });
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      if (!authorised(req, url)) {
        if (url.pathname.startsWith('/api/')) {
          return sendError(res, 401, { code: 'unauthorized', message: 'missing or wrong token; open the URL printed by "lightbox serve"' });
        }
        res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8' });
        return res.end('Lightbox: this page needs the token. Open the full URL printed by "npm start" or "lightbox serve".');
      }
      if (url.searchParams.has('token') && !url.pathname.startsWith('/api/')) {
        // Trade the token in the URL for an HttpOnly cookie, then drop it from the address bar and history.
        res.writeHead(303, { location: url.pathname, 'set-cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/` });
        return res.end();
      }
      if (url.pathname.startsWith(channels.httpCallPrefix)) {
        if (req.method !== 'POST') return sendError(res, 405, { code: 'bad-request', message: 'calls are POST with a JSON body' });
        let input: unknown;
        try {
          const body = await readBody(req);
          input = body.trim() ? JSON.parse(body) : {};
        } catch (e) {
          return sendError(res, 400, { code: 'bad-request', message: `body is not JSON: ${e instanceof Error ? e.message : String(e)}` });
        }
        const response = await app.call(decodeURIComponent(url.pathname.slice(channels.httpCallPrefix.length)), input);
        const status = response.ok ? 200 : { 'bad-request': 400, 'unknown-call': 404, 'not-found': 404, busy: 409, conflict: 409, unauthorized: 401, internal: 500, io: 500 }[response.error.code];
        return sendJson(res, status, response);
      }
      const inst = url.pathname.match(/^\/api\/instances\/(\d{1,15})\/file$/);
      if (inst && req.method === 'GET') {
        try {
          const { stream, size } = app.openInstance(Number(inst[1]));
          res.writeHead(200, { 'content-type': 'application/dicom', 'content-length': size, 'cache-control': 'private, max-age=600' });
          stream.on('error', () => res.destroy());
          stream.pipe(res);
        } catch (e) {
          const err = toApiError(e);
          sendError(res, err.code === 'not-found' ? 404 : 500, err);
        }
        return;
      }
      if (url.pathname.startsWith('/api/')) return sendError(res, 404, { code: 'unknown-call', message: `no route ${url.pathname}` });
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, { code: 'bad-request', message: 'method not allowed' });
      serveStatic(req, res, url);
    })().catch((e: unknown) => {
      if (!res.headersSent) sendError(res, 500, toApiError(e));
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    if (checkOrigin(req) || !authorised(req, url) || url.pathname !== channels.httpEvents) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      // The socket is a one-way event stream; anything the page sends is ignored.
    });
  });
  const unsubscribe = app.on((name, payload) => {
    const msg = JSON.stringify({ event: name, payload });
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(msg);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  port = typeof addr === 'object' && addr ? addr.port : port;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  allowedOrigins = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    startUrl: `${url}?token=${token}`,
    token,
    port,
    close: async () => {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      // Keep-alive connections would hold close() open: drop them as it starts.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
