// The desktop host's security policy as plain functions, so tests check it without Electron: which URLs are the
// app, which links may leave it, the content security policy, and which paths a renderer call may name.
import path from 'node:path';
import { PATH_INPUTS, channels } from '../../shared/contract.ts';
import type { ApiError, CallName } from '../../shared/contract.ts';

export const APP_HOST = 'app';
export const INSTANCE_HOST = 'instance';
export const RENDERER_ORIGIN = `${channels.imageScheme}://${APP_HOST}`;

/** Exactly the app's own pages: our scheme and the app host (not a prefix match: `…://app.evil` is not the app). */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${channels.imageScheme}:` && u.host === APP_HOST && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/**
 * Served with every app page. Scripts only from the app (plus WebAssembly for the codecs), pixels from the
 * instance host, no plugins, no framing, no other origin reachable.
 */
export const ELECTRON_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  `connect-src 'self' ${channels.imageScheme}://${INSTANCE_HOST}`,
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The only places a link in the app may open in the system browser (documentation; patient data never leaves). */
export const EXTERNAL_ORIGINS: readonly string[] = ['https://www.dicomstandard.org', 'https://dicom.nema.org', 'https://onnxruntime.ai'];

export function mayOpenExternal(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && EXTERNAL_ORIGINS.includes(u.origin) && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

function valueAt(input: unknown, dotted: string): unknown {
  let v: unknown = input;
  for (const key of dotted.split('.')) {
    if (typeof v !== 'object' || v === null || !Object.prototype.hasOwnProperty.call(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

const inside = (p: string, root: string): boolean => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

/**
 * Paths the user chose in a native dialog this session (and the open project's folder). A call may name a chosen
 * file, a chosen folder or anything inside one (an export destination that does not exist yet included).
 */
export class PathGrants {
  private readonly folders = new Set<string>();
  private readonly files = new Set<string>();

  grantFolder(dir: string): void { this.folders.add(path.resolve(dir)); }
  grantFile(file: string): void { this.files.add(path.resolve(file)); }

  allows(p: string): boolean {
    const full = path.resolve(p);
    if (this.files.has(full)) return true;
    for (const f of this.folders) if (inside(full, f)) return true;
    return false;
  }

  /** Null when every path the call names was granted; otherwise the error for the renderer. */
  check(name: string, input: unknown): ApiError | null {
    if (name === 'folders.list') return { code: 'unauthorized', message: 'folders.list serves the browser host; the desktop app chooses folders with the system dialog (Browse…)' };
    for (const field of PATH_INPUTS[name as CallName] ?? []) {
      const v = valueAt(input, field);
      if (typeof v !== 'string' || v === '' || (name === 'embed.start' && v === 'builtin')) continue;
      if (!path.isAbsolute(v) || !this.allows(v)) {
        return { code: 'unauthorized', message: `${name}: ${field} "${v}" was not chosen in this session; choose it with Browse… (the desktop app only opens paths you picked)` };
      }
    }
    return null;
  }
}
