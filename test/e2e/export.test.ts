// The export dialog in a real browser: the preview follows the options (counts, balance, splits), the export runs
// with progress and lists the files it wrote with their hashes, and an export re-imports from the same dialog.
// Saves a screenshot of the dialog to test-output/e2e/export-dialog.png.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import type { HttpHost } from '../../src/main/hosts/http-host.ts';
import type { DemoTruth } from '../../src/main/demo/demo-data.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { openDemoProject, tempDir } from '../helpers.ts';
import { OUT, openSession } from './browser.ts';

process.env.LIGHTBOX_HOME = tempDir('lightbox-home-');

let app: Lightbox;
let host: HttpHost;
let browser: Browser;
let page: Page;
let labelled = 0;

beforeAll(async () => {
  let truth: DemoTruth;
  ({ app, truth } = await openDemoProject({ count: 40, ctSeries: 0 }));
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  const rows = app.store.db.prepare('SELECT st.id, min(i.sop_uid) FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id GROUP BY st.id').raw().all() as [number, string][];
  for (const [id, sop] of rows) {
    app.labels.actions.set({ level: 'study', itemId: id, group: 'finding', labels: [truth.instances[sop]!.class], revealed: true });
    labelled++;
  }
  ({ host, browser, page } = await openSession(app));
});

afterAll(async () => {
  await browser?.close();
  await host?.close();
  await app?.close();
});

describe('export dialog', () => {
  it('previews counts and balance per split, exports with progress, lists the files, and re-imports', async () => {
    await page.goto(host.startUrl);
    await page.click('[data-testid=open-export]');
    await page.waitForSelector('[data-testid=preview-splits]');
    expect(Number(await page.textContent('[data-testid=preview-rows]'))).toBe(labelled);
    const splitRows = await page.locator('[data-testid=preview-splits] tbody tr').allTextContents();
    expect(splitRows.map((r) => r.slice(0, 5))).toEqual([expect.stringMatching(/^train/), expect.stringMatching(/^val/), expect.stringMatching(/^test/)]);
    expect(await page.textContent('[data-testid=export-preview]')).toMatch(/Pleural effusion|Cardiomegaly|Nodule/);

    // Turning the split off drops the split table; de-identify keeps the counts.
    await page.click('[data-testid=split-on]');
    await page.waitForSelector('[data-testid=preview-splits]', { state: 'detached' });
    await page.click('[data-testid=split-on]');
    await page.click('[data-testid=deidentify]');
    await page.waitForSelector('[data-testid=preview-splits]');

    const out = path.join(tempDir('lightbox-e2e-export-'), 'labels-export');
    await page.fill('[data-testid=export-out]', out);
    await page.screenshot({ path: path.join(OUT, 'export-dialog.png') });
    await page.click('[data-testid=export-start]');
    await page.waitForSelector('[data-testid=export-result]');
    // The result appears on the 'done' event; the progress line must say what was written where.
    expect(await page.textContent('[data-testid=export-progress]')).toContain(`Exported ${labelled} rows to ${out}`);
    const result = await page.textContent('[data-testid=export-result]');
    expect(result).toContain(out);
    expect(result).toMatch(/labels\.csv/);
    expect(result).toMatch(/manifest\.json/);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.counts.rows).toBe(labelled);
    expect(manifest.deidentification).not.toBeNull();
    expect(fs.readdirSync(path.join(out, 'sr')).length).toBe(labelled);
    await page.screenshot({ path: path.join(OUT, 'export-done.png') });

    // Exporting to the same folder again is refused with the reason on screen.
    await page.click('[data-testid=export-start]');
    await page.waitForSelector('[data-testid=export-error]');
    expect(await page.textContent('[data-testid=export-error]')).toMatch(/already exists and is not an empty folder/);

    // The de-identified table maps back through this project's key: every label already there.
    await page.click('.import-labels summary');
    await page.fill('[data-testid=import-labels-path]', path.join(out, 'labels.csv'));
    await page.click('[data-testid=import-labels-start]');
    await page.waitForSelector('[data-testid=import-labels-result]');
    expect(await page.textContent('[data-testid=import-labels-result]')).toMatch(new RegExp(`${labelled} entries: imported 0, unchanged ${labelled}.*mapped back`));
  });
});
