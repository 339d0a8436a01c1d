// Host 1: the Electron desktop app. The only code that imports electron. Renderer and images are served by one
// privileged custom scheme; IPC calls are checked for their sender, for the paths they name (PathGrants) and then
// validated by the shared handlers. The policy itself lives in policy.ts and window.ts, where tests check it.
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BrowserWindow, app, dialog, ipcMain, net, protocol, session, shell } from 'electron';
import type { OpenDialogOptions } from 'electron';
import { channels } from '../../shared/contract.ts';
import { toApiError } from '../app.ts';
import { recentProjects } from '../project/recent-projects.ts';
import { Workstation } from '../workstation.ts';
import { defaultDemoProject, ensureDemoProject } from '../demo/demo-project.ts';
import { APP_HOST, ELECTRON_CSP, INSTANCE_HOST, PathGrants, isAppUrl, mayOpenExternal } from './policy.ts';
import { RENDERER_ORIGIN, isTrustedSender, windowOptions } from './window.ts';

protocol.registerSchemesAsPrivileged([
  { scheme: channels.imageScheme, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, stream: true } },
]);

async function openProject(): Promise<Workstation> {
  // `npm start -- --project <dir>` passes "--project <dir>"; "--project=<dir>" works too.
  const at = process.argv.indexOf('--project');
  const arg = at >= 0 ? process.argv[at + 1] : process.argv.find((a) => a.startsWith('--project='))?.slice('--project='.length);
  const dir = arg ? path.resolve(arg) : defaultDemoProject();
  if (!arg && !fs.existsSync(path.join(dir, 'lightbox.db'))) await ensureDemoProject(dir);
  return Workstation.open(dir, { create: true });
}

async function main(): Promise<void> {
  await app.whenReady();
  const lightbox = await openProject();
  const rendererDir = path.join(__dirname, '../renderer');
  // The project the user opened is theirs to read and export into; other paths need a native dialog first.
  const grants = new PathGrants();
  grants.grantFolder(lightbox.app.store.dir);
  // Projects opened before were chosen then; the recent list is main's own file.
  for (const r of recentProjects()) grants.grantFolder(r.dir);

  // No web permission (camera, notifications, geolocation, …) is ever needed: deny every request and check.
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);

  protocol.handle(channels.imageScheme, async (request) => {
    const url = new URL(request.url);
    const frame = url.pathname.match(/^\/(\d{1,15})\/frames\/(\d{1,6})$/);
    if (url.host === INSTANCE_HOST && frame) {
      try {
        const body = await lightbox.displayFrame(Number(frame[1]), Number(frame[2]));
        return new Response(new Uint8Array(body), { headers: { 'content-type': 'application/dicom', 'content-length': String(body.length) } });
      } catch (e) {
        const err = toApiError(e);
        return new Response(JSON.stringify(err), { status: err.code === 'not-found' ? 404 : 422, headers: { 'content-type': 'application/json' } });
      }
    }
    if (url.host === INSTANCE_HOST) {
      try {
        const { stream, size } = lightbox.openInstance(Number(url.pathname.slice(1)));
        return new Response(Readable.toWeb(stream) as ReadableStream, { headers: { 'content-type': 'application/dicom', 'content-length': String(size) } });
      } catch (e) {
        return new Response(toApiError(e).message, { status: 404 });
      }
    }
    if (url.host === APP_HOST) {
      const file = path.resolve(rendererDir, `.${url.pathname === '/' ? '/index.html' : decodeURIComponent(url.pathname)}`);
      if (!file.startsWith(rendererDir + path.sep)) return new Response('not found', { status: 404 });
      const res = await net.fetch(`file://${file}`);
      const headers = new Headers(res.headers);
      headers.set('content-security-policy', ELECTRON_CSP);
      headers.set('x-content-type-options', 'nosniff');
      return new Response(res.body, { status: res.status, headers });
    }
    return new Response('not found', { status: 404 });
  });

  ipcMain.handle(channels.ipcCall, async (event, name: unknown, input: unknown) => {
    if (!isTrustedSender(event)) return { ok: false, error: { code: 'unauthorized', message: 'calls are accepted from the Lightbox window only' } };
    const denied = grants.check(String(name), input);
    if (denied) return { ok: false, error: denied };
    return lightbox.call(String(name), input);
  });
  // Choosing a file or folder is the host's native dialog; what the user chose is granted for this session and
  // returned to the renderer, which passes it to a call that validates it again.
  ipcMain.handle(channels.ipcPickPath, async (event, kind: unknown, title: unknown) => {
    if (!isTrustedSender(event) || (kind !== 'folder' && kind !== 'file')) return null;
    const parent = BrowserWindow.fromWebContents(event.sender);
    const options: OpenDialogOptions = {
      title: typeof title === 'string' ? title.slice(0, 200) : 'Choose',
      properties: kind === 'folder' ? ['openDirectory', 'createDirectory'] : ['openFile'],
    };
    const pick = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options);
    const chosen = pick.canceled ? undefined : pick.filePaths[0];
    if (!chosen) return null;
    if (kind === 'folder') grants.grantFolder(chosen);
    else grants.grantFile(chosen);
    return chosen;
  });

  const win = new BrowserWindow(windowOptions(path.join(__dirname, '../preload/index.cjs')));
  lightbox.on((name, payload) => { if (!win.isDestroyed()) win.webContents.send(channels.ipcEvent, name, payload); });
  // No new windows; a few documentation links may open in the system browser. Navigation away from the app, and
  // any webview, is refused.
  win.webContents.setWindowOpenHandler(({ url }) => { if (mayOpenExternal(url)) void shell.openExternal(url); return { action: 'deny' }; });
  win.webContents.on('will-navigate', (e, url) => { if (!isAppUrl(url)) e.preventDefault(); });
  win.webContents.on('will-redirect', (e, url) => { if (!isAppUrl(url)) e.preventDefault(); });
  win.webContents.on('will-attach-webview', (e) => e.preventDefault());
  win.once('ready-to-show', () => win.show());
  await win.loadURL(`${RENDERER_ORIGIN}/index.html`);
  app.on('window-all-closed', () => { void lightbox.close().then(() => app.quit()); });
}

void main();
