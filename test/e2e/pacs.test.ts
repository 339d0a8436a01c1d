// The PACS panel in a real browser against a real Orthanc: add the server, search with a filter, pick a study and
// one series of another, retrieve with progress, find them in the worklist and open one in the viewer.
// Saves test-output/e2e/pacs-*.png.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { generateDemoData } from '../../src/main/demo/demo-data.ts';
import type { HttpHost } from '../../src/main/hosts/http-host.ts';
import { tempDir } from '../helpers.ts';
import { Orthanc, filesUnder } from '../orthanc.ts';
import { OUT, openSession } from './browser.ts';

process.env.LIGHTBOX_HOME = tempDir('lightbox-home-');

let app: Lightbox;
let host: HttpHost;
let browser: Browser;
let page: Page;
let orthanc: Orthanc;

beforeAll(async () => {
  const data = tempDir('lightbox-e2e-pacs-');
  generateDemoData(data, { count: 3, ctSeries: 2, seed: 11 });
  orthanc = await Orthanc.start();
  await orthanc.upload(filesUnder(data));
  app = Lightbox.open(tempDir(), { create: true });
  ({ host, browser, page } = await openSession(app));
});

afterAll(async () => {
  await browser?.close();
  await host?.close();
  await app?.close();
  await orthanc?.dispose();
});

describe('PACS panel', () => {
  it('adds a server, searches, retrieves the picked studies with progress, and they appear in the worklist', async () => {
    await page.goto(host.startUrl);
    await page.click('[data-testid=open-pacs]');
    await page.waitForSelector('[data-testid=pacs-add]');
    await page.fill('[data-testid=pacs-add-name]', 'orthanc');
    await page.fill('[data-testid=pacs-add-url]', orthanc.dicomWebUrl);
    await page.click('[data-testid=pacs-add] button[type=submit]');
    await page.waitForSelector('[data-testid=pacs-add]', { state: 'detached' });
    await page.click('[data-testid=pacs-echo]');
    await page.waitForSelector('[data-testid=pacs-echo-result]');
    expect(await page.textContent('[data-testid=pacs-echo-result]')).toMatch(/^OK: QIDO-RS answered/);

    await page.fill('[data-testid=pacs-modality]', 'ct');
    await page.click('[data-testid=pacs-search]');
    await page.waitForSelector('[data-testid=pacs-study]');
    const rows = page.locator('[data-testid=pacs-study]');
    expect(await rows.count()).toBe(2);
    expect(await rows.first().textContent()).toMatch(/CT.*CT CHEST.*1.*24/);
    await rows.nth(0).locator('input[type=checkbox]').check();
    await rows.nth(1).locator('button', { hasText: 'series' }).click();
    await page.waitForSelector('[data-testid=pacs-series]');
    await page.locator('[data-testid=pacs-series] input[type=checkbox]').check();
    await page.screenshot({ path: path.join(OUT, 'pacs-search.png') });
    expect(await page.textContent('[data-testid=pacs-retrieve]')).toMatch(/Retrieve 2 studies/);
    await page.click('[data-testid=pacs-retrieve]');
    await page.waitForSelector('[data-testid=pacs-progress][data-phase=done]');
    expect(await page.textContent('[data-testid=pacs-progress]')).toMatch(/Retrieved 2 studies from .*: 48 instances fetched, 0 already here/);
    await page.screenshot({ path: path.join(OUT, 'pacs-done.png') });
    await page.click('[data-testid=pacs-panel] .row.end button');
    await page.waitForSelector('[data-testid=pacs-panel]', { state: 'detached' });
    await page.waitForFunction(() => document.querySelector('[data-testid=project-summary]')?.textContent?.includes('2 studies'));
    expect(await page.textContent('[data-testid=project-summary]')).toMatch(/2 patients · 2 studies · 2 series · 48 instances/);
    // The retrieved CT studies' worklist thumbnails are drawn images, not black squares: the phantom's body against
    // air spreads the grey levels (a black or flat canvas has none).
    await page.waitForFunction(() => {
      const t = [...document.querySelectorAll('[data-testid=worklist] [data-testid=row-thumb]')];
      return t.length === 2 && t.every((e) => e.getAttribute('data-state') !== 'waiting');
    }, undefined, { timeout: 30_000 });
    const thumbs = await page.$$eval('[data-testid=worklist] [data-testid=row-thumb]', (els) => els.map((e) => {
      const src = e.querySelector('canvas')!;
      const c = document.createElement('canvas');
      c.width = src.width; c.height = src.height;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(src, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      const lum: number[] = [];
      for (let i = 0; i < d.length; i += 4) lum.push((d[i]! + d[i + 1]! + d[i + 2]!) / 3);
      const mean = lum.reduce((a, b) => a + b, 0) / lum.length;
      return { state: e.getAttribute('data-state'), max: Math.max(...lum), sd: Math.sqrt(lum.reduce((a, b) => a + (b - mean) ** 2, 0) / lum.length) };
    }));
    for (const t of thumbs) {
      expect(t.state).toBe('drawn');
      expect(t.max).toBeGreaterThan(128);
      expect(t.sd).toBeGreaterThan(20);
    }
    await page.screenshot({ path: path.join(OUT, 'pacs-worklist.png') });

    // A retrieved study opens in the viewer like an imported one: a drawn CT slice, not a blank canvas.
    await page.waitForSelector('[data-testid=worklist] tbody tr');
    await page.click('[data-testid=worklist] tbody tr:first-child button.link');
    await page.waitForFunction(() => {
      const vp = document.querySelector('[data-testid=viewport]');
      return !!vp && vp.getAttribute('data-rendered') === 'true' && window.__lightboxDrawn?.()?.imageId === vp.getAttribute('data-stack');
    }, undefined, { timeout: 30_000 });
    await page.screenshot({ path: path.join(OUT, 'pacs-viewer.png') });
    expect(await page.$('[data-testid=viewer-error]')).toBeNull();
    const spread = await page.evaluate(() => {
      const c = document.querySelector('[data-testid=viewport] canvas') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let min = 255;
      let max = 0;
      for (let i = 0; i < d.length; i += 4 * 97) { min = Math.min(min, d[i]!); max = Math.max(max, d[i]!); }
      return max - min;
    });
    expect(spread).toBeGreaterThan(100);
  });
});
