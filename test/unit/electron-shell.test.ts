import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ELECTRON_CSP, PathGrants, isAppUrl, mayOpenExternal } from '../../src/main/electron/policy.ts';
import { RENDERER_ORIGIN, isTrustedSender, windowOptions } from '../../src/main/electron/window.ts';

describe('electron shell', () => {
  it('creates a sandboxed, context-isolated window without Node, webviews or insecure content', () => {
    const w = windowOptions('/x/preload.cjs').webPreferences!;
    expect(w.sandbox).toBe(true);
    expect(w.contextIsolation).toBe(true);
    expect(w.nodeIntegration).toBe(false);
    expect(w.nodeIntegrationInWorker).toBe(false);
    expect(w.nodeIntegrationInSubFrames).toBe(false);
    expect(w.webviewTag).toBe(false);
    expect(w.webSecurity).toBe(true);
    expect(w.allowRunningInsecureContent).toBe(false);
    expect(w.preload).toBe('/x/preload.cjs');
  });
  it('accepts calls only from the top frame of the app page, by exact origin', () => {
    const top = { url: `${RENDERER_ORIGIN}/index.html`, parent: null };
    expect(isTrustedSender({ senderFrame: top } as never)).toBe(true);
    expect(isTrustedSender({ senderFrame: { url: 'https://evil.example/', parent: null } } as never)).toBe(false);
    expect(isTrustedSender({ senderFrame: { url: `${RENDERER_ORIGIN}/x`, parent: top } } as never)).toBe(false);
    expect(isTrustedSender({ senderFrame: null } as never)).toBe(false);
    // A prefix match would take these for the app.
    expect(isTrustedSender({ senderFrame: { url: `${RENDERER_ORIGIN}.evil.example/index.html`, parent: null } } as never)).toBe(false);
    expect(isTrustedSender({ senderFrame: { url: `${RENDERER_ORIGIN}:8080/index.html`, parent: null } } as never)).toBe(false);
    expect(isAppUrl('lightbox-image://instance/3')).toBe(false);
    expect(isAppUrl('not a url')).toBe(false);
  });
  it('opens only allow-listed https documentation links outside the app', () => {
    expect(mayOpenExternal('https://www.dicomstandard.org/current')).toBe(true);
    expect(mayOpenExternal('https://evil.example/')).toBe(false);
    expect(mayOpenExternal('http://www.dicomstandard.org/')).toBe(false);
    expect(mayOpenExternal('https://www.dicomstandard.org.evil.example/')).toBe(false);
    expect(mayOpenExternal('https://user:pw@www.dicomstandard.org/')).toBe(false);
    expect(mayOpenExternal('file:///etc/passwd')).toBe(false);
  });
  it('serves app pages with a CSP that allows no remote origin, plugin or eval', () => {
    expect(ELECTRON_CSP).toContain("default-src 'self'");
    expect(ELECTRON_CSP).toContain("object-src 'none'");
    expect(ELECTRON_CSP).not.toMatch(/'unsafe-eval'|https?:|\*/);
  });
  it('lets calls name only paths the user chose in a native dialog (or the project)', () => {
    const g = new PathGrants();
    g.grantFolder('/data/project');
    expect(g.check('import.start', { folder: '/etc' })).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/folder "\/etc" was not chosen/) });
    g.grantFolder('/data/studies');
    expect(g.check('import.start', { folder: '/data/studies' })).toBeNull();
    expect(g.check('import.start', { folder: '/data/studies/ward 3' })).toBeNull();
    expect(g.check('import.start', { folder: '/data/studies/../../etc' })).not.toBeNull();
    expect(g.check('import.start', { folder: '/data/studies-other' })).not.toBeNull();
    expect(g.check('import.start', { folder: 'relative' })).not.toBeNull();
    // An export goes into a new folder inside a chosen one; its SR copy folder is checked too.
    expect(g.check('export.start', { out: '/data/project/export-1' })).toBeNull();
    expect(g.check('export.start', { out: '/data/project/export-1', options: { srFolder: '/srv/pacs-inbox' } })).not.toBeNull();
    expect(g.check('labels.import', { path: '/home/me/labels.csv' })).not.toBeNull();
    g.grantFile('/home/me/labels.csv');
    expect(g.check('labels.import', { path: '/home/me/labels.csv' })).toBeNull();
    expect(g.check('labels.import', { path: '/home/me/other.csv' })).not.toBeNull();
    expect(g.check('embed.start', { model: 'builtin' })).toBeNull();
    expect(g.check('embed.start', { model: '/opt/models/x' })).not.toBeNull();
    expect(g.check('embed.start', {})).toBeNull();
    expect(g.check('labels.set', { level: 'study', itemId: 1, group: 'g', labels: [] })).toBeNull();
    expect(g.check('folders.list', { path: '/' })).toMatchObject({ code: 'unauthorized' });
  });
});

describe('the packaging config', () => {
  const config = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../../electron-builder.json'), 'utf8')) as {
    asar: boolean; asarUnpack: string[]; npmRebuild: boolean; electronFuses: Record<string, boolean>;
    linux: { files: string[] }; win: { files: string[] }; mac: { files: string[] };
  };
  it('sets the fuses: no RunAsNode, no NODE_OPTIONS or inspect flags, asar integrity, app only from asar', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false, enableNodeOptionsEnvironmentVariable: false, enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true, onlyLoadAppFromAsar: true, grantFileProtocolExtraPrivileges: false,
    });
  });
  it('unpacks native modules and onnxruntime shared libraries from asar, without an Electron rebuild', () => {
    expect(config.asar).toBe(true);
    expect(config.npmRebuild).toBe(false);
    expect(config.asarUnpack).toEqual(expect.arrayContaining(['**/*.node', '**/*.so.*', '**/*.dylib', '**/*.dll']));
  });
  it('ships only the target platform binaries of onnxruntime-node and better-sqlite3', () => {
    const ort = (p: string): string => `!node_modules/onnxruntime-node/bin/napi-v6/${p}/**`;
    expect(config.linux.files).toEqual(expect.arrayContaining([ort('darwin'), ort('win32')]));
    expect(config.win.files).toEqual(expect.arrayContaining([ort('darwin'), ort('linux')]));
    expect(config.mac.files).toEqual(expect.arrayContaining([ort('linux'), ort('win32')]));
    for (const [platform, dirs] of Object.entries(PLATFORM_DIRS)) {
      const excluded = config[platform as keyof typeof PLATFORM_DIRS].files;
      // Every ort platform folder but the target's is excluded, and the target's is not.
      for (const d of fs.readdirSync(path.resolve(import.meta.dirname, '../../node_modules/onnxruntime-node/bin/napi-v6'))) {
        expect(excluded.includes(ort(d)), `${platform} ${d}`).toBe(!dirs.includes(d));
      }
    }
  });
});
const PLATFORM_DIRS: Record<'linux' | 'win' | 'mac', readonly string[]> = { linux: ['linux'], win: ['win32'], mac: ['darwin'] };
