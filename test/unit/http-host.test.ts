import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Lightbox } from '../../src/main/app.ts';
import { startHttpHost } from '../../src/main/hosts/http-host.ts';
import type { HttpHost } from '../../src/main/hosts/http-host.ts';
import { FIXTURE_DIR, importInto, tempDir } from '../helpers.ts';

let app: Lightbox;
let host: HttpHost;

function request(p: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string; raw: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: host.port, path: p, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { const raw = Buffer.concat(chunks); resolve({ status: res.statusCode ?? 0, body: raw.toString('utf8'), raw, headers: res.headers }); });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
const auth = (): Record<string, string> => ({ authorization: `Bearer ${host.token}` });
const call = (name: string, input: unknown, headers = auth()) =>
  request(`/api/call/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(input) });

beforeAll(async () => {
  app = Lightbox.open(tempDir(), { create: true });
  await importInto(app, FIXTURE_DIR);
  host = await startHttpHost(app, { staticDir: path.resolve(import.meta.dirname, '../../out/renderer') });
});
afterAll(async () => {
  await host.close();
  await app.close();
});

describe('loopback host security', () => {
  it('binds to 127.0.0.1 only', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });
  it('refuses calls without the token', async () => {
    const r = await call('project.info', {}, {});
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).error.code).toBe('unauthorized');
    expect((await call('project.info', {}, { authorization: 'Bearer wrong' })).status).toBe(401);
  });
  it('refuses a foreign Host header (DNS rebinding) and foreign origins', async () => {
    expect((await call('project.info', {}, { ...auth(), host: 'evil.example:80' })).status).toBe(403);
    expect((await call('project.info', {}, { ...auth(), origin: 'http://evil.example' })).status).toBe(403);
    expect((await call('project.info', {}, { ...auth(), origin: `http://127.0.0.1:${host.port}` })).status).toBe(200);
  });
  it('trades the start URL token for an HttpOnly cookie', async () => {
    const r = await request(`/?token=${host.token}`);
    expect(r.status).toBe(303);
    expect(r.headers['set-cookie']?.[0]).toMatch(/HttpOnly; SameSite=Strict/);
    const cookie = r.headers['set-cookie']![0]!.split(';')[0]!;
    expect((await call('project.info', {}, { cookie })).status).toBe(200);
  });
  it('validates inputs and names the field', async () => {
    const r = await call('study.get', { studyId: -1 });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.message).toMatch(/studyId/);
    expect((await call('no.such', {})).status).toBe(404);
    const bad = await request('/api/call/project.info', { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: '{not json' });
    expect(bad.status).toBe(400);
  });
  it('does not serve files outside the renderer folder', async () => {
    const r = await request('/..%2f..%2fpackage.json', { headers: auth() });
    expect(r.status).toBe(404);
  });
  it('rejects a WebSocket without the token', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/api/events`);
    const outcome = await new Promise<string>((resolve) => { ws.on('open', () => resolve('open')); ws.on('error', () => resolve('refused')); });
    expect(outcome).toBe('refused');
  });
});

describe('malformed requests get a clean 4xx {code, message} (issue 16)', () => {
  const errorOf = (r: { body: string }): { code: string; message: string } => (JSON.parse(r.body) as { ok: false; error: { code: string; message: string } }).error;
  const noPaths = (message: string): void => {
    expect(message).not.toContain(path.resolve(import.meta.dirname, '../..'));
    expect(message).not.toMatch(/\/(work|home|tmp|usr)\//);
  };

  it('answers malformed %-encoding with 400 and no install path, in a page path and in a call name', async () => {
    for (const p of ['/%E0%A4%A', '/assets/%zz.js', '/%']) {
      const r = await request(p, { headers: auth() });
      expect(r.status, p).toBe(400);
      expect(errorOf(r).code).toBe('bad-request');
      noPaths(errorOf(r).message);
    }
    const r = await request('/api/call/%E0%A4%A', { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(400);
    expect(errorOf(r).code).toBe('bad-request');
  });
  it('answers a NUL in the path with 400 that names no file', async () => {
    for (const p of ['/a%00b', '/index.html%00.js', '/api/call/project.info%00']) {
      const r = await request(p, { method: p.startsWith('/api/') ? 'POST' : 'GET', headers: { ...auth(), 'content-type': 'application/json' }, body: '{}' });
      expect(r.status, p).toBe(400);
      expect(errorOf(r).code).toBe('bad-request');
      noPaths(errorOf(r).message);
    }
  });
  it('answers a body over the limit with 413 and a JSON error, then closes the connection', async () => {
    const r = await request('/api/call/project.info', { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: `{"x":"${'a'.repeat(3 * 1024 * 1024)}"}` });
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe('close');
    expect(errorOf(r).code).toBe('bad-request');
    expect(errorOf(r).message).toMatch(/MB/);
    // A declared length over the limit is refused before the body is read.
    const declared = await request('/api/call/project.info', { method: 'POST', headers: { ...auth(), 'content-type': 'application/json', 'content-length': String(64 * 1024 * 1024) } });
    expect(declared.status).toBe(413);
    expect((await call('project.info', {})).status).toBe(200);
  });
  it('requires Content-Type: application/json for calls (415 otherwise)', async () => {
    for (const type of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
      const r = await request('/api/call/project.info', { method: 'POST', headers: { ...auth(), ...(type ? { 'content-type': type } : {}) }, body: '{}' });
      expect(r.status, String(type)).toBe(415);
      expect(errorOf(r).code).toBe('bad-request');
      expect(errorOf(r).message).toMatch(/application\/json/);
    }
    const ok = await request('/api/call/project.info', { method: 'POST', headers: { ...auth(), 'content-type': 'Application/JSON; charset=utf-8' }, body: '{}' });
    expect(ok.status).toBe(200);
  });
  it('refuses a body that is not a JSON object (null, an array, a number, a string, nothing) with 400', async () => {
    for (const body of ['null', '[]', '1', '"x"', 'true', '', '  ']) {
      const r = await request('/api/call/project.info', { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(r).code).toBe('bad-request');
      expect(errorOf(r).message).toMatch(/JSON object/);
    }
    // What the renderer's client sends for a call without input.
    expect((await call('project.info', {})).status).toBe(200);
  });
  it('survives a WebSocket upgrade with a malformed Host header', async () => {
    const status = await new Promise<string>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: host.port, path: '/api/events', headers: { host: 'a b', connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      req.on('response', (res) => resolve(String(res.statusCode)));
      req.on('upgrade', () => resolve('upgraded'));
      req.on('error', () => resolve('error'));
      req.end();
    });
    expect(status).toBe('403');
    expect((await call('project.info', {})).status).toBe(200);
  });
});

describe('the token travels in the URL only once (issue 16) and each host has its own cookie (issue 15)', () => {
  it('refuses the token in the query string of a call, an instance file and the WebSocket', async () => {
    const r = await request(`/api/call/project.info?token=${host.token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(401);
    expect((await request(`/api/instances/1/file?token=${host.token}`)).status).toBe(401);
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/api/events?token=${host.token}`);
    const outcome = await new Promise<string>((resolve) => { ws.on('open', () => resolve('open')); ws.on('error', () => resolve('refused')); });
    expect(outcome).toBe('refused');
  });
  it('trades the token of the first page load for a cookie and strips it from the address', async () => {
    const r = await request(`/?token=${host.token}&view=label`);
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/?view=label');
    expect(r.headers['set-cookie']?.[0]).toContain(`lightbox_token_${host.port}=`);
    expect((await request(`/?token=wrong`)).status).toBe(401);
    // A path that would redirect off the host keeps to it.
    const offHost = await request(`/a/..//evil.example/?token=${host.token}`);
    expect(offHost.headers.location).toMatch(/^\/(?!\/)/);
  });
  it('two hosts in one browser keep their own cookies, so one tab does not log the other out', async () => {
    const other = await startHttpHost(app, {});
    try {
      const cookieOf = async (port: number, token: string): Promise<string> => {
        const r = await new Promise<http.IncomingMessage>((resolve, reject) => {
          http.get({ host: '127.0.0.1', port, path: `/?token=${token}` }, (res) => { res.resume(); resolve(res); }).on('error', reject);
        });
        return r.headers['set-cookie']![0]!.split(';')[0]!;
      };
      const a = await cookieOf(host.port, host.token);
      const b = await cookieOf(other.port, other.token);
      expect(a.split('=')[0]).not.toBe(b.split('=')[0]);
      // Cookies are not kept apart by port: the browser sends both to each host.
      const jar = `${a}; ${b}`;
      expect((await call('project.info', {}, { cookie: jar })).status).toBe(200);
      const onOther = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: other.port, path: '/api/call/project.info', method: 'POST', headers: { cookie: jar, 'content-type': 'application/json' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
        req.on('error', reject);
        req.end('{}');
      });
      expect(onOther).toBe(200);
      // One host's cookie is no key to the other.
      expect((await call('project.info', {}, { cookie: b.replace(`_${other.port}=`, `_${host.port}=`) })).status).toBe(401);
    } finally {
      await other.close();
    }
  });
});

describe('the API through the loopback host', () => {
  it('lists the worklist, opens a study and serves its DICOM bytes by instance id', async () => {
    const wl = JSON.parse((await call('worklist.query', { search: 'fixture' })).body);
    expect(wl.ok).toBe(true);
    expect(wl.result.total).toBe(1);
    const study = JSON.parse((await call('study.get', { studyId: wl.result.rows[0].id })).body).result;
    const image = study.series.flatMap((s: { instances: { id: number; isImage: boolean }[] }) => s.instances).find((i: { isImage: boolean }) => i.isImage);
    const file = await request(`/api/instances/${image.id}/file`, { headers: auth() });
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('application/dicom');
    expect(file.raw.subarray(128, 132).toString('latin1')).toBe('DICM');
    expect((await request('/api/instances/999999/file', { headers: auth() })).status).toBe(404);
  });
  it('filters and sorts the worklist', async () => {
    const none = JSON.parse((await call('worklist.query', { modality: 'CT' })).body).result;
    expect(none.total).toBe(0);
    const ot = JSON.parse((await call('worklist.query', { modality: 'OT', dateFrom: '20240101', dateTo: '20240131' })).body).result;
    expect(ot.total).toBe(1);
    const out = JSON.parse((await call('worklist.query', { dateFrom: '20250101' })).body).result;
    expect(out.total).toBe(0);
  });
  it('returns the tag dump of an instance, with names and nested sequences bounded', async () => {
    const r = JSON.parse((await call('instance.tags', { instanceId: 1 })).body);
    expect(r.ok).toBe(true);
    const byName = new Map(r.result.map((t: { name: string; value: string }) => [t.name, t.value]));
    expect(byName.get('PatientName')).toBe('Fixture^Pätient');
    expect(byName.get('Rows')).toBe('64');
  });
  it('pushes import progress over the WebSocket', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/api/events`, { headers: auth() });
    await new Promise((r) => ws.once('open', r));
    const events: { event: string; payload: { phase?: string } }[] = [];
    ws.on('message', (m) => events.push(JSON.parse(String(m))));
    const started = JSON.parse((await call('import.start', { folder: FIXTURE_DIR })).body);
    expect(started.ok).toBe(true);
    for (let i = 0; i < 100 && !events.some((e) => e.payload.phase === 'done'); i++) await new Promise((r) => setTimeout(r, 50));
    ws.close();
    expect(events.some((e) => e.event === 'job.progress' && e.payload.phase === 'done')).toBe(true);
    const report = JSON.parse((await call('import.report', {})).body).result;
    expect(report.total).toBeGreaterThanOrEqual(7);
  });
});
