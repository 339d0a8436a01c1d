// Switching projects behind one host: the workstation closes one project and opens (or creates) another; calls
// and events then belong to the new one, and the recent list remembers both.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventName } from '../../src/shared/contract.ts';
import { Workstation } from '../../src/main/workstation.ts';
import { tempDir } from '../helpers.ts';

let ws: Workstation;
let first: string;
const events: { name: EventName; reason?: string }[] = [];

beforeAll(() => {
  process.env.LIGHTBOX_HOME = tempDir('lightbox-home-');
  first = tempDir();
  ws = Workstation.open(first, { create: true });
  ws.on((name, payload) => events.push({ name, reason: (payload as { reason?: string }).reason }));
});
afterAll(async () => { await ws.close(); });

describe('workspace.open', () => {
  it('creates a new project in a new folder and serves it from then on', async () => {
    const second = path.join(tempDir(), 'ward-study');
    const r = await ws.call('workspace.open', { dir: second, create: true });
    expect(r).toMatchObject({ ok: true, result: { dir: second, name: 'ward-study', studies: 0 } });
    expect(fs.existsSync(path.join(second, 'lightbox.db'))).toBe(true);
    expect(await ws.call('project.info', {})).toMatchObject({ ok: true, result: { dir: second } });
    expect(events).toContainEqual({ name: 'project.changed', reason: 'switched' });
    // Events of the new project reach listeners subscribed before the switch.
    const before = events.length;
    await ws.call('labels.setProfile', { name: 'Reader Two' });
    ws.app.emit('project.changed', { reason: 'import' });
    expect(events.length).toBe(before + 1);
    const recent = await ws.call('project.recent', {});
    expect(recent.ok && (recent.result as { dir: string }[]).map((x) => x.dir).slice(0, 2)).toEqual([second, first]);
  });

  it('opens an existing project again, and refuses what cannot be a project with a message', async () => {
    expect(await ws.call('workspace.open', { dir: first })).toMatchObject({ ok: true, result: { dir: first } });
    const empty = tempDir();
    expect(await ws.call('workspace.open', { dir: empty })).toMatchObject({ ok: false, error: { code: 'not-found' } });
    const full = tempDir();
    fs.writeFileSync(path.join(full, 'notes.txt'), 'x');
    expect(await ws.call('workspace.open', { dir: full, create: true })).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/is not empty and holds no project/) } });
    expect(await ws.call('workspace.open', { dir: 'relative/dir' })).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    // After a refused switch the open project is still served.
    expect(await ws.call('project.info', {})).toMatchObject({ ok: true, result: { dir: first } });
  });
});
