import { describe, expect, it } from 'vitest';
import { RENDERER_ORIGIN, isTrustedSender, windowOptions } from '../../src/main/electron/window.ts';

describe('electron shell', () => {
  it('creates a sandboxed, context-isolated window without Node', () => {
    const w = windowOptions('/x/preload.cjs').webPreferences!;
    expect(w.sandbox).toBe(true);
    expect(w.contextIsolation).toBe(true);
    expect(w.nodeIntegration).toBe(false);
    expect(w.preload).toBe('/x/preload.cjs');
  });
  it('accepts calls only from the top frame of the app page', () => {
    const top = { url: `${RENDERER_ORIGIN}/index.html`, parent: null };
    expect(isTrustedSender({ senderFrame: top } as never, RENDERER_ORIGIN)).toBe(true);
    expect(isTrustedSender({ senderFrame: { url: 'https://evil.example/', parent: null } } as never, RENDERER_ORIGIN)).toBe(false);
    expect(isTrustedSender({ senderFrame: { url: `${RENDERER_ORIGIN}/x`, parent: top } } as never, RENDERER_ORIGIN)).toBe(false);
    expect(isTrustedSender({ senderFrame: null } as never, RENDERER_ORIGIN)).toBe(false);
  });
});
