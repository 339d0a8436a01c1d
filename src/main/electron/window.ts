// Electron shell pieces kept free of side effects so tests can check them against a fake electron module.
import type { BrowserWindowConstructorOptions, IpcMainInvokeEvent } from 'electron';
import { channels } from '../../shared/contract.ts';

export const RENDERER_ORIGIN = `${channels.imageScheme}://app`;

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
      spellcheck: false,
    },
  };
}

/** Only our own top-level page may call main: not other frames, not navigated-away pages. */
export function isTrustedSender(event: Pick<IpcMainInvokeEvent, 'senderFrame'>, appUrlPrefix: string): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false;
  return frame.url.startsWith(appUrlPrefix);
}
