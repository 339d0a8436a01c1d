// Host 1: the Electron desktop app. The only code that imports electron. Renderer and images are served by one
// privileged custom scheme; IPC calls are checked for their sender and validated by the shared dispatcher.
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BrowserWindow, app, dialog, ipcMain, net, protocol, shell } from 'electron';
import { channels } from '../../shared/contract.ts';
import { Lightbox, toApiError } from '../app.ts';
import { defaultDemoProject, ensureDemoProject } from '../demo/demo-project.ts';
import { RENDERER_ORIGIN, isTrustedSender, windowOptions } from './window.ts';

protocol.registerSchemesAsPrivileged([
  { scheme: channels.imageScheme, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, stream: true } },
]);

async function openProject(): Promise<Lightbox> {
  const arg = process.argv.find((a) => a.startsWith('--project='));
  const dir = arg ? path.resolve(arg.slice('--project='.length)) : defaultDemoProject();
  if (!arg && !fs.existsSync(path.join(dir, 'lightbox.db'))) await ensureDemoProject(dir);
  return Lightbox.open(dir, { create: true });
}

async function main(): Promise<void> {
  await app.whenReady();
  const lightbox = await openProject();
  const rendererDir = path.join(__dirname, '../renderer');

  protocol.handle(channels.imageScheme, async (request) => {
    const url = new URL(request.url);
    if (url.host === 'instance') {
      try {
        const { stream, size } = lightbox.openInstance(Number(url.pathname.slice(1)));
        return new Response(Readable.toWeb(stream) as ReadableStream, { headers: { 'content-type': 'application/dicom', 'content-length': String(size) } });
      } catch (e) {
        return new Response(toApiError(e).message, { status: 404 });
      }
    }
    if (url.host === 'app') {
      const file = path.resolve(rendererDir, `.${url.pathname === '/' ? '/index.html' : decodeURIComponent(url.pathname)}`);
      if (!file.startsWith(rendererDir + path.sep)) return new Response('not found', { status: 404 });
      return net.fetch(`file://${file}`);
    }
    return new Response('not found', { status: 404 });
  });

  ipcMain.handle(channels.ipcCall, async (event, name: unknown, input: unknown) => {
    if (!isTrustedSender(event, RENDERER_ORIGIN)) return { ok: false, error: { code: 'unauthorized', message: 'calls are accepted from the Lightbox window only' } };
    return lightbox.call(String(name), input);
  });
  // Choosing a folder is the host's native dialog; the renderer gets the chosen path (or null) and passes it to a
  // call, which validates it like any other input.
  ipcMain.handle(channels.ipcPickFolder, async (event, title: unknown) => {
    if (!isTrustedSender(event, RENDERER_ORIGIN)) return null;
    const parent = BrowserWindow.fromWebContents(event.sender);
    const options = { title: typeof title === 'string' ? title.slice(0, 200) : 'Choose a folder', properties: ['openDirectory' as const, 'createDirectory' as const] };
    const pick = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options);
    return pick.canceled ? null : (pick.filePaths[0] ?? null);
  });

  const win = new BrowserWindow(windowOptions(path.join(__dirname, '../preload/index.cjs')));
  lightbox.on((name, payload) => { if (!win.isDestroyed()) win.webContents.send(channels.ipcEvent, name, payload); });
  // Links never open inside the app window; navigation away from the app is refused.
  win.webContents.setWindowOpenHandler(({ url }) => { if (url.startsWith('https:')) void shell.openExternal(url); return { action: 'deny' }; });
  win.webContents.on('will-navigate', (e, url) => { if (!url.startsWith(RENDERER_ORIGIN)) e.preventDefault(); });
  win.once('ready-to-show', () => win.show());
  await win.loadURL(`${RENDERER_ORIGIN}/index.html`);
  app.on('window-all-closed', () => { void lightbox.close().then(() => app.quit()); });
}

void main();
