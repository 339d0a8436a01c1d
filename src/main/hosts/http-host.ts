// Host 2: the same API over HTTP + WebSocket on 127.0.0.1, for any Chromium-based browser, e2e tests and scripts.
// Every request must carry the per-run token (an HttpOnly cookie, or `Authorization: Bearer`), name this host in its
// Host header (no DNS rebinding) and, when a browser sends one, come from this origin. The token travels in a URL
// only once: the start URL's page load trades it for the cookie and redirects to drop it from the address bar.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { MAX_PIXELS_SIDE, channels } from '../../shared/contract.ts';
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

// Room for embed.pixels (512×512 RGBA, base64) and nothing much larger.
const MAX_BODY = 2 * 1024 * 1024;
// A body a little over the limit is read to its end and dropped, so the client is done sending and reads the 413
// (closing while it still sends makes the kernel answer with a reset, and the 413 is lost); past this, we close.
const DRAIN_LIMIT = 16 * 1024 * 1024;
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon', '.map': 'application/json',
};

function sameToken(a: string | undefined | null, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function cookieValue(req: http.IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === name) return v;
  }
  return undefined;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const data = JSON.stringify(body);
  // Answered before its body was read (a refusal): close, or a keep-alive client would send its next request on a
  // connection that still holds the rest of this one.
  const unread = res.req.complete ? {} : { connection: 'close' };
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...unread, ...headers });
  res.end(data);
}

function sendError(res: http.ServerResponse, status: number, error: ApiError, headers: http.OutgoingHttpHeaders = {}): void {
  sendJson(res, status, { ok: false, error }, headers);
}

/** The request target, %-decoded, or why it cannot be one (the answer names no file: the path is the client's own). */
function parseTarget(raw: string | undefined): { path: string; encodedPath: string; query: URLSearchParams } | ApiError {
  let url: URL;
  let decoded: string;
  try {
    // A fixed base: the Host header is checked on its own, and a malformed one must not make the URL throw.
    url = new URL(raw ?? '/', 'http://127.0.0.1');
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return { code: 'bad-request', message: 'the request path is not valid %-encoding' };
  }
  if (decoded.includes('\0')) return { code: 'bad-request', message: 'the request path holds a NUL character' };
  return { path: decoded, encodedPath: url.pathname, query: url.searchParams };
}

const isJson = (type: string | undefined): boolean => /^application\/json\s*(;|$)/i.test((type ?? '').trim());

/** The body as text, or null when it is over MAX_BODY (read to its end and dropped, up to DRAIN_LIMIT). */
function readBody(req: http.IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    // Declared far over the limit: answer at once rather than read megabytes only to drop them.
    if (Number(req.headers['content-length']) > MAX_BODY + DRAIN_LIMIT) {
      resolve(null);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
      else if (size > MAX_BODY + DRAIN_LIMIT) resolve(null);
    });
    req.on('end', () => resolve(size > MAX_BODY ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startHttpHost(app: HostedApp, opts: HttpHostOptions = {}): Promise<HttpHost> {
  const token = opts.token ?? crypto.randomBytes(24).toString('base64url');
  const staticDir = opts.staticDir ? path.resolve(opts.staticDir) : undefined;
  let port = opts.port ?? 0;
  let allowedHosts = new Set<string>();
  let allowedOrigins = new Set<string>();
  // Browsers keep cookies per host name, not per port: one name per port lets two hosts (two projects in two tabs)
  // hold their tokens side by side instead of each overwriting the other's and logging its tab out.
  let cookie = 'lightbox_token';

  /** The token from the cookie or the Authorization header; never from the URL, which lands in history and logs. */
  const authorised = (req: http.IncomingMessage): boolean => {
    const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : undefined;
    return sameToken(cookieValue(req, cookie), token) || sameToken(bearer, token);
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

  const serveStatic = (res: http.ServerResponse, pathname: string): void => {
    if (!staticDir) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('This host serves the API only (no renderer build found; run "npm run build").');
      return;
    }
    const rel = pathname === '/' ? '/index.html' : pathname;
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

  const answerCall = async (req: http.IncomingMessage, res: http.ServerResponse, name: string): Promise<void> => {
    if (req.method !== 'POST') return sendError(res, 405, { code: 'bad-request', message: 'calls are POST with a JSON body' });
    // Only JSON: a form or text/plain body is what a cross-site page can send without asking first.
    if (!isJson(req.headers['content-type'])) {
      return sendError(res, 415, { code: 'bad-request', message: `calls need "Content-Type: application/json", not "${req.headers['content-type'] ?? '(none)'}"` });
    }
    const body = await readBody(req);
    if (body === null) {
      return sendError(res, 413, { code: 'bad-request', message: `the request body is over ${MAX_BODY / 2 ** 20} MB; embed.pixels takes images up to ${MAX_PIXELS_SIDE}×${MAX_PIXELS_SIDE}` }, { connection: 'close' });
    }
    let input: unknown;
    try {
      input = JSON.parse(body);
    } catch (e) {
      return sendError(res, 400, { code: 'bad-request', message: `the body is not JSON (${e instanceof Error ? e.message : String(e)}); send a JSON object, {} for a call without input` });
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return sendError(res, 400, { code: 'bad-request', message: `the body must be a JSON object, not ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}; send {} for a call without input` });
    }
    const response = await app.call(name, input);
    const status = response.ok ? 200 : { 'bad-request': 400, 'unknown-call': 404, 'not-found': 404, busy: 409, conflict: 409, unauthorized: 401, internal: 500, io: 500, unavailable: 502 }[response.error.code];
    sendJson(res, status, response);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const bad = checkOrigin(req);
    if (bad) return sendError(res, 403, { code: 'unauthorized', message: bad });
    const target = parseTarget(req.url);
    if ('code' in target) return sendError(res, 400, target);
    const { path: pathname, encodedPath, query } = target;
    const isApi = pathname.startsWith('/api/');
    if (!isApi && query.has('token') && (req.method === 'GET' || req.method === 'HEAD')) {
      if (!sameToken(query.get('token'), token)) {
        res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8' });
        return void res.end('Lightbox: this link holds a wrong or old token. Open the full URL printed by "npm start" or "lightbox serve".');
      }
      // Trade the token in the URL for an HttpOnly cookie, then drop it from the address bar and history. The
      // location keeps to this host: a path starting "//" would name another one.
      query.delete('token');
      const rest = query.size ? `?${query.toString()}` : '';
      const location = `/${encodedPath.replace(/^\/+/, '')}${rest}`;
      res.writeHead(303, { location, 'set-cookie': `${cookie}=${token}; HttpOnly; SameSite=Strict; Path=/` });
      return void res.end();
    }
    if (!authorised(req)) {
      if (isApi) return sendError(res, 401, { code: 'unauthorized', message: 'missing or wrong token; open the URL printed by "lightbox serve", or send "Authorization: Bearer <token>"' });
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end('Lightbox: this page needs the token. Open the full URL printed by "npm start" or "lightbox serve".');
    }
    if (pathname.startsWith(channels.httpCallPrefix)) return answerCall(req, res, pathname.slice(channels.httpCallPrefix.length));
    const inst = pathname.match(/^\/api\/instances\/(\d{1,15})\/file$/);
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
    const frame = pathname.match(/^\/api\/instances\/(\d{1,15})\/frames\/(\d{1,6})$/);
    if (frame && req.method === 'GET') {
      try {
        const body = await app.displayFrame(Number(frame[1]), Number(frame[2]));
        res.writeHead(200, { 'content-type': 'application/dicom', 'content-length': body.length, 'cache-control': 'private, max-age=600' });
        res.end(body);
      } catch (e) {
        // The viewer shows this message in the viewport: it names the file and why it cannot be drawn.
        const err = toApiError(e);
        sendError(res, err.code === 'not-found' ? 404 : err.code === 'io' || err.code === 'bad-request' ? 422 : 500, err);
      }
      return;
    }
    if (isApi) return sendError(res, 404, { code: 'unknown-call', message: `no route ${pathname}` });
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, { code: 'bad-request', message: 'method not allowed' });
    serveStatic(res, pathname);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      // A bug in this host: the details (which name files of this installation) go to the log, not to the page.
      console.error('lightbox: the HTTP host failed to answer', req.method, req.url, e);
      if (!res.headersSent) sendError(res, 500, { code: 'internal', message: 'the workstation failed to answer this request (a bug); its log has the details' });
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  const refuseUpgrade = (socket: Duplex): void => {
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
  };
  server.on('upgrade', (req, socket, head) => {
    // A raw socket without an error listener would take the process down on a reset.
    socket.on('error', () => socket.destroy());
    const target = checkOrigin(req) ? null : parseTarget(req.url);
    if (!target || 'code' in target || target.path !== channels.httpEvents || !authorised(req)) return refuseUpgrade(socket);
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
  cookie = `lightbox_token_${port}`;
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
