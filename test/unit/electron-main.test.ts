// The Electron shell's wiring, loaded against a fake `electron` module (the binary cannot run here): permissions
// are denied, app pages carry the CSP, calls from other frames and paths nobody chose are refused, the native
// dialog grants what it returns, and only allow-listed links leave the app.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../helpers.ts';

type Listener = (...args: never[]) => unknown;
const fake = vi.hoisted(() => ({
  protocolHandler: null as null | ((req: { url: string }) => Promise<Response>),
  ipc: new Map<string, (event: unknown, ...args: unknown[]) => Promise<unknown>>(),
  permissionRequest: null as null | ((wc: unknown, permission: string, cb: (ok: boolean) => void) => void),
  permissionCheck: null as null | ((...a: unknown[]) => boolean),
  windowOpen: null as null | ((d: { url: string }) => { action: string }),
  webContentsOn: new Map<string, Listener>(),
  opened: [] as string[],
  dialogAnswer: { canceled: false, filePaths: [] as string[] },
  loaded: null as null | ((url: string) => void),
  fetched: [] as string[],
}));

vi.mock('electron', () => {
  class BrowserWindow {
    static fromWebContents(): null { return null; }
    webContents = {
      send: (): void => {},
      setWindowOpenHandler: (h: (d: { url: string }) => { action: string }): void => { fake.windowOpen = h; },
      on: (name: string, l: Listener): void => { fake.webContentsOn.set(name, l); },
    };
    isDestroyed(): boolean { return false; }
    once(): void {}
    async loadURL(url: string): Promise<void> { fake.loaded?.(url); }
  }
  return {
    BrowserWindow,
    app: { whenReady: async () => {}, on: () => {}, quit: () => {} },
    dialog: { showOpenDialog: async () => fake.dialogAnswer },
    ipcMain: { handle: (ch: string, h: (event: unknown, ...args: unknown[]) => Promise<unknown>) => { fake.ipc.set(ch, h); } },
    net: { fetch: async (url: string) => { fake.fetched.push(url); return new Response('<!doctype html>', { headers: { 'content-type': 'text/html' } }); } },
    protocol: { registerSchemesAsPrivileged: () => {}, handle: (_s: string, h: (req: { url: string }) => Promise<Response>) => { fake.protocolHandler = h; } },
    session: { defaultSession: {
      setPermissionRequestHandler: (h: typeof fake.permissionRequest) => { fake.permissionRequest = h; },
      setPermissionCheckHandler: (h: typeof fake.permissionCheck) => { fake.permissionCheck = h; },
    } },
    shell: { openExternal: async (url: string) => { fake.opened.push(url); } },
  };
});

const project = tempDir();
const appFrame = { senderFrame: { url: 'lightbox-image://app/index.html', parent: null }, sender: {} };
const call = (event: unknown, name: string, input: unknown): Promise<unknown> => fake.ipc.get('lightbox:call')!(event, name, input);

beforeAll(async () => {
  process.argv.push(`--project=${project}`);
  const loaded = new Promise<string>((resolve) => { fake.loaded = resolve; });
  await import('../../src/main/electron/main.ts');
  expect(await loaded).toBe('lightbox-image://app/index.html');
});
afterAll(() => { process.argv = process.argv.filter((a) => !a.startsWith('--project=')); });

describe('the Electron shell, wired', () => {
  it('denies every permission request and check', () => {
    const answers: boolean[] = [];
    fake.permissionRequest!({}, 'media', (ok) => answers.push(ok));
    fake.permissionRequest!({}, 'notifications', (ok) => answers.push(ok));
    expect(answers).toEqual([false, false]);
    expect(fake.permissionCheck!({}, 'clipboard-read')).toBe(false);
  });

  it('serves app pages with the CSP and refuses paths outside the renderer build', async () => {
    const page = await fake.protocolHandler!({ url: 'lightbox-image://app/index.html' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    // The page comes from the renderer build beside main (src/main/renderer when run from source).
    expect(fake.fetched).toEqual([`file://${path.resolve(import.meta.dirname, '../../src/main/renderer/index.html')}`]);
    expect((await fake.protocolHandler!({ url: 'lightbox-image://app/..%2f..%2fetc%2fpasswd' })).status).toBe(404);
    expect((await fake.protocolHandler!({ url: 'lightbox-image://elsewhere/x' })).status).toBe(404);
  });

  it('answers calls from the app frame only, and refuses paths nobody chose', async () => {
    expect(await call(appFrame, 'project.info', {})).toMatchObject({ ok: true, result: { dir: project } });
    expect(await call({ senderFrame: { url: 'https://evil.example/', parent: null } }, 'project.info', {})).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(await call(appFrame, 'import.start', { folder: '/etc' })).toMatchObject({ ok: false, error: { code: 'unauthorized', message: expect.stringMatching(/choose it with Browse/) } });
    expect(await call(appFrame, 'folders.list', { path: '/' })).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
  });

  it('grants the folder the user picked in the native dialog', async () => {
    const studies = tempDir('lightbox-studies-');
    fake.dialogAnswer = { canceled: false, filePaths: [studies] };
    const pick = fake.ipc.get('lightbox:pick-path')!;
    expect(await pick({ senderFrame: { url: 'https://evil.example/', parent: null }, sender: {} }, 'folder', 'x')).toBeNull();
    expect(await pick(appFrame, 'folder', 'Choose a folder')).toBe(studies);
    const started = await call(appFrame, 'import.start', { folder: studies }) as { ok: boolean };
    expect(started.ok).toBe(true);
    fake.dialogAnswer = { canceled: true, filePaths: [] };
    expect(await pick(appFrame, 'file', 'Choose a file')).toBeNull();
  });

  it('opens only allow-listed links outside, never a new window, and refuses navigation away', () => {
    expect(fake.windowOpen!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(fake.windowOpen!({ url: 'https://www.dicomstandard.org/current' })).toEqual({ action: 'deny' });
    expect(fake.opened).toEqual(['https://www.dicomstandard.org/current']);
    let prevented = 0;
    const e = { preventDefault: () => { prevented++; } };
    (fake.webContentsOn.get('will-navigate') as (ev: typeof e, url: string) => void)(e, 'https://evil.example/');
    (fake.webContentsOn.get('will-navigate') as (ev: typeof e, url: string) => void)(e, 'lightbox-image://app/index.html');
    (fake.webContentsOn.get('will-attach-webview') as (ev: typeof e) => void)(e);
    expect(prevented).toBe(2);
  });
});
