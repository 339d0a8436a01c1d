// Text in a real browser: the top bar's text search finds the effusion studies from the words "pleural effusion",
// and the schema editor shows each saved label's prompt AUC against the accepted labels, live as it is reworded.
// Saves screenshots to test-output/e2e/text-search.png and prompt-auc.png.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import type { HttpHost } from '../../src/main/hosts/http-host.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { embedAll, openDemoProject, tempDir } from '../helpers.ts';
import { OUT, openSession } from './browser.ts';

process.env.LIGHTBOX_HOME = tempDir('lightbox-home-');

let app: Lightbox;
let host: HttpHost;
let browser: Browser;
let page: Page;
const studyClass = new Map<number, string>();

beforeAll(async () => {
  const demo = await openDemoProject({ count: 80, ctSeries: 0 });
  app = demo.app;
  await embedAll(app, { provider: 'cpu' });
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  const rows = app.store.db.prepare('SELECT st.id, i.sop_uid FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id').raw().all() as [number, string][];
  for (const [id, sop] of rows) studyClass.set(id, demo.truth.instances[sop]!.class);
  // A clinician has labelled 30 studies (their true class).
  for (const id of [...studyClass.keys()].slice(0, 30)) await app.call('labels.set', { level: 'study', itemId: id, group: 'finding', labels: [studyClass.get(id)!] });
  await app.labels.whenIdle();
  ({ host, browser, page } = await openSession(app));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await host?.close();
  await app?.close();
});

describe('text in the workstation', () => {
  it('typing "pleural effusion" lists effusion studies first; Open goes to the study', async () => {
    await page.goto(host.startUrl);
    await page.click('[data-testid=open-text-search]');
    await page.fill('[data-testid=text-search-input]', 'pleural effusion');
    await page.press('[data-testid=text-search-input]', 'Enter');
    await page.waitForSelector('[data-testid=text-search-item]');
    const ids = await page.$$eval('[data-testid=text-search-item]', (els) => els.map((e) => Number(e.getAttribute('data-study-id'))));
    const effusions = [...studyClass.values()].filter((c) => c === 'effusion').length;
    const top = ids.slice(0, Math.min(10, effusions));
    expect(top.filter((id) => studyClass.get(id) === 'effusion').length / top.length).toBeGreaterThanOrEqual(0.9);
    expect(await page.textContent('[data-testid=text-search-summary]')).toMatch(/^30 nearest at the study level · lightbox-builtin-baseline$/);
    await page.screenshot({ path: path.join(OUT, 'text-search.png') });
    await page.click('[data-testid=text-search-item] >> nth=0 >> button');
    await page.waitForFunction((id) => location.hash === `#/study/${id}`, ids[0]);
    // Words the toy model does not know: the reason, not an empty list.
    await page.fill('[data-testid=text-search-input]', 'zebra');
    await page.press('[data-testid=text-search-input]', 'Enter');
    expect(await (await page.waitForSelector('[data-testid=text-search-error]')).textContent()).toMatch(/finds nothing it knows in "zebra"/);
  });

  it('the schema editor shows a prompt\'s AUC and it follows the rewording', async () => {
    await page.click('[data-testid=text-search-close]');
    await page.click('[data-testid=open-label]');
    await page.click('[data-testid=open-schema]');
    await page.waitForSelector('[data-testid=schema-editor]');
    const row = page.locator('[data-testid=schema-label]').nth(3); // Pleural effusion
    expect(await row.locator('[data-testid=label-name]').inputValue()).toBe('Pleural effusion');
    const aucOf = async (): Promise<number> => {
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=schema-label]')[3]?.querySelector('[data-testid=prompt-auc]')?.getAttribute('data-auc') !== '');
      return Number(await row.locator('[data-testid=prompt-auc]').getAttribute('data-auc'));
    };
    const good = await aucOf();
    expect(good).toBeGreaterThan(0.9);
    await row.locator('[data-testid=label-prompt]').fill('a chest radiograph showing an enlarged heart');
    await page.waitForFunction((g) => {
      const v = document.querySelectorAll('[data-testid=schema-label]')[3]?.querySelector('[data-testid=prompt-auc]')?.getAttribute('data-auc');
      return v !== '' && v !== undefined && v !== null && Number(v) !== g;
    }, good);
    expect(await aucOf()).toBeLessThan(good - 0.2);
    // Other wordings side by side, each with its AUC; Use puts the best one back into the label.
    await row.locator('[data-testid=try-prompts]').click();
    await page.fill('[data-testid=alternative-prompts]', 'fluid in the pleural space\na lung nodule');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid=alternative]')];
      return rows.length === 3 && rows.every((r) => r.getAttribute('data-auc') !== '');
    });
    const alt = await page.$$eval('[data-testid=alternative]', (els) => els.map((e) => Number(e.getAttribute('data-auc'))));
    expect(alt[1]!).toBeGreaterThan(0.9);
    expect(alt[2]!).toBeLessThan(alt[1]! - 0.2);
    await page.screenshot({ path: path.join(OUT, 'prompt-auc.png') });
    await page.locator('[data-testid=use-alternative]').first().click();
    expect(await row.locator('[data-testid=label-prompt]').inputValue()).toBe('fluid in the pleural space');
  });
});
