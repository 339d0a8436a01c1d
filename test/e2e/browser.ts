// The e2e tests' browser session: Debian's Chromium, headless, driving the built renderer on the loopback host.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import type { HostedApp } from '../../src/main/workstation.ts';
import { startHttpHost } from '../../src/main/hosts/http-host.ts';
import type { HttpHost } from '../../src/main/hosts/http-host.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const OUT = path.join(ROOT, 'test-output', 'e2e');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface Session { host: HttpHost; browser: Browser; page: Page }

/** Serves the renderer build for `app` and opens a 1280×800 page in headless Chromium. */
export async function openSession(app: HostedApp): Promise<Session> {
  if (!fs.existsSync(path.join(ROOT, 'out/renderer/index.html'))) throw new Error('e2e needs the renderer build: run "npm run build" first (npm test does)');
  fs.mkdirSync(OUT, { recursive: true });
  const host = await startHttpHost(app, { staticDir: path.join(ROOT, 'out/renderer') });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (e) => console.error('pageerror:', e.message));
  return { host, browser, page };
}
