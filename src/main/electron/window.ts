// Electron shell pieces kept free of side effects so tests can check them against a fake electron module.
import type { BrowserWindowConstructorOptions, IpcMainInvokeEvent } from 'electron';
import { isAppUrl } from './policy.ts';

export { RENDERER_ORIGIN } from './policy.ts';

export function windowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1440,
    height: 900,
    backgroundColor: '#0b0d10',
    title: 'Lightbox',
    show: false,
    webPreferences: {
      preload: preloadPath,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}

/** Only our own top-level page may call main: not other frames, not navigated-away pages, not look-alike hosts. */
export function isTrustedSender(event: Pick<IpcMainInvokeEvent, 'senderFrame'>): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false;
  return isAppUrl(frame.url);
}
