import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Lightbox } from '../../src/main/app.ts';
import { importFolder } from '../../src/main/dicom/import-service.ts';
import { startHttpHost } from '../../src/main/hosts/http-host.ts';
import type { HttpHost } from '../../src/main/hosts/http-host.ts';
import { FIXTURE_DIR, tempDir } from '../helpers.ts';

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
  await importFolder(app.store, FIXTURE_DIR);
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
    const bad = await request('/api/call/project.info', { method: 'POST', headers: auth(), body: '{not json' });
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
