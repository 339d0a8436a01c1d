// Reading in a real browser: the worklist as a reader uses it (labelling columns, thumbnails, names and dates for
// people, more than one page, coming back as it was left), hash routes with Back and Forward, window/level presets
// by modality named in the overlay, an image that keeps its shape when the tags open, the study view's ? help,
// and a top bar that stays on one line while a job runs.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import type { HttpHost } from '../../src/main/hosts/http-host.ts';
import { probeGpu } from '../../src/main/inference/gpu-probe.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { openDemoProject, tempDir } from '../helpers.ts';
import { OUT, openSession } from './browser.ts';

process.env.LIGHTBOX_HOME = tempDir('lightbox-home-');

let app: Lightbox;
let host: HttpHost;
let browser: Browser;
let page: Page;
let labelledStudy = 0;

const COUNT = 230;

beforeAll(async () => {
  ({ app } = await openDemoProject({ count: COUNT, ctSeries: 1 }));
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  // One study labelled at the study level and flagged; the worklist must show both.
  const first = (await app.invoke('worklist.query', { sort: 'patientName', direction: 'asc', limit: 1 })).rows[0]!;
  labelledStudy = first.id;
  await app.invoke('labels.set', { level: 'study', itemId: first.id, group: 'finding', labels: ['normal'], revealed: true });
  await app.invoke('labels.flag', { level: 'study', itemId: first.id, flagged: true });
  ({ host, browser, page } = await openSession(app));
});

afterAll(async () => {
  await browser?.close();
  await host?.close();
  await app?.close();
});

const route = (): Promise<string> => page.evaluate(() => location.hash);
const scrollTop = (): Promise<number> => page.$eval('[data-testid=worklist-scroll]', (e) => e.scrollTop);

/** How far the viewport canvas's drawing buffer is from the shape it is shown at (0: not stretched). */
const stretch = (): Promise<number> => page.$eval('[data-testid=viewport] canvas', (c) => {
  const el = c as HTMLCanvasElement;
  const r = el.getBoundingClientRect();
  return Math.abs(el.width / el.height - r.width / r.height);
});

describe('the worklist', () => {
  it('shows labelling columns, thumbnails, and names and dates written for people', async () => {
    await page.goto(host.startUrl);
    await page.waitForSelector('[data-testid=worklist] tbody tr');
    await page.click('th:has-text("Patient")');
    await page.waitForSelector('th[aria-sort=ascending]:has-text("Patient")');
    const row = page.locator(`[data-testid=worklist] tr[data-study-id="${labelledStudy}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-labelled')).toBe('1');
    expect(await row.getAttribute('data-flagged')).toBe('1');
    expect(await row.getAttribute('data-suggested')).toBe('0');
    // Demo^CT01 is family "Demo", given "CT01"; the date is ISO.
    expect(await row.locator('[data-testid=worklist-patient]').textContent()).toMatch(/^Demo, \w+$/);
    expect(await row.locator('[data-testid=worklist-date]').textContent()).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    await page.waitForSelector('[data-testid=worklist] tbody tr:first-child [data-testid=row-thumb][data-state=drawn]', { timeout: 30_000 });
    await page.screenshot({ path: path.join(OUT, 'worklist.png') });
  });

  it('loads more than a page, and comes back from a study with its filters, rows and scroll position', async () => {
    await page.waitForSelector(`[data-testid=worklist-count]:has-text("${COUNT + 1} studies (200 shown)")`);
    await page.click('[data-testid=worklist-more]');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=worklist] tbody tr').length === n, COUNT + 1);
    expect(await page.$('[data-testid=worklist-more]')).toBeNull();
    await page.selectOption('[data-testid=worklist-modality]', 'DX');
    await page.waitForSelector(`[data-testid=worklist-count]:has-text("${COUNT} studies (200 shown)")`);
    await page.click('[data-testid=worklist-more]');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=worklist] tbody tr').length === n, COUNT);
    await page.$eval('[data-testid=worklist-scroll]', (e) => { e.scrollTop = e.scrollHeight; });
    await page.waitForFunction(() => (document.querySelector('[data-testid=worklist-scroll]')?.scrollTop ?? 0) > 1000);
    const last = page.locator('[data-testid=worklist] tbody tr:last-child');
    const studyId = Number(await last.getAttribute('data-study-id'));
    await last.locator('td.num').first().click();
    await page.waitForSelector(`tr.cursor[data-study-id="${studyId}"]`);
    const top = await scrollTop();
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=study-view]');
    expect(await route()).toBe(`#/study/${studyId}`);
    await page.screenshot({ path: path.join(OUT, 'study-header.png') });
    await page.keyboard.press('Escape');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=worklist] tbody tr').length === n, COUNT);
    expect(await page.inputValue('[data-testid=worklist-modality]')).toBe('DX');
    await page.waitForFunction((t) => Math.abs((document.querySelector('[data-testid=worklist-scroll]')?.scrollTop ?? 0) - t) < 2, top)
      .catch(async (e: Error) => { throw new Error(`scrollTop ${await scrollTop()}, left at ${top}: ${await page.$eval('[data-testid=worklist-scroll]', (x) => `${x.scrollHeight} ${x.clientHeight} rows ${x.querySelectorAll('tr').length}`)} ${e.message}`); });
    expect(await page.getAttribute('tr.cursor', 'data-study-id')).toBe(String(studyId));
  });

  it('goes Back and Forward between the worklist and a study, and a study link opens the study', async () => {
    await page.goBack();
    await page.waitForSelector('[data-testid=study-view]');
    const hash = await route();
    expect(hash).toMatch(/^#\/study\/\d+$/);
    await page.goBack();
    await page.waitForSelector('[data-testid=worklist]');
    await page.goForward();
    await page.waitForSelector('[data-testid=study-view]');
    // A fresh tab given the link opens that study (the token is in the session cookie, not the link).
    const other = await browser.newContext().then((c) => c.newPage());
    await other.goto(`${host.startUrl}${hash}`);
    await other.waitForSelector('[data-testid=study-view]');
    expect(await other.evaluate(() => location.hash)).toBe(hash);
    await other.context().close();
  });
});

describe('the study view', () => {
  it('has the radiograph presets for a DX image, names the active one, and ignores a key past them', async () => {
    await page.evaluate(() => { location.hash = '#/'; });
    await page.fill('[data-testid=worklist-search]', '');
    await page.waitForSelector('[data-testid=worklist] tbody tr');
    await page.locator('[data-testid=worklist] tbody tr:first-child button.link').click();
    await page.waitForSelector('[data-testid=viewport][data-rendered=true]', { timeout: 20_000 });
    expect(await page.$$eval('[data-testid=voi-preset]', (b) => b.map((x) => x.getAttribute('data-preset')))).toEqual(['Default', 'Bone', 'Soft tissue']);
    await page.keyboard.press('2');
    await page.waitForSelector('[data-testid=voi][data-preset=Bone]');
    const bone = await page.textContent('[data-testid=voi]');
    expect(bone).toMatch(/^Bone · W \d+ L \d+$/);
    await page.keyboard.press('5');
    expect(await page.textContent('[data-testid=voi]')).toBe(bone);
    await page.keyboard.press('1');
    await page.waitForSelector('[data-testid=voi][data-preset=Default]');
    await page.screenshot({ path: path.join(OUT, 'dx-presets.png') });
    // A drag changes the window: the overlay no longer names a preset.
    const box = (await page.locator('[data-testid=viewport]').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 + 40, { steps: 5 });
    await page.mouse.up();
    await page.waitForSelector('[data-testid=voi][data-preset=""]');
  });

  it('keeps the image from stretching when the tags open, and heads the tags with the patient', async () => {
    await page.waitForFunction(() => document.querySelector('[data-testid=viewport] canvas') !== null);
    expect(await stretch()).toBeLessThan(0.01);
    const before = await page.$eval('[data-testid=viewport] canvas', (c) => (c as HTMLCanvasElement).width);
    await page.keyboard.press('t');
    await page.waitForSelector('[data-testid=tag-panel] td');
    await page.waitForFunction((w) => (document.querySelector('[data-testid=viewport] canvas') as HTMLCanvasElement).width < w, before);
    expect(await stretch()).toBeLessThan(0.01);
    expect(await page.textContent('[data-testid=tags-header]')).toMatch(/^Demo, Patient\d{4} .* · \d{4}-\d{2}-\d{2}/);
    expect(await page.textContent('[data-testid=study-patient]')).toMatch(/^Demo, Patient\d{4}$/);
    await page.screenshot({ path: path.join(OUT, 'tags-open.png') });
    await page.keyboard.press('t');
  });

  it('shows the keys with ? (generated from the keymap), and Esc closes the help before leaving the study', async () => {
    await page.keyboard.press('?');
    await page.waitForSelector('[data-testid=help] [data-context=study] [data-command="study.preset"]');
    expect(await page.$('[data-testid=help] [data-context=viewer] [data-command="viewer.similar"]')).not.toBeNull();
    await page.screenshot({ path: path.join(OUT, 'study-help.png') });
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=help]', { state: 'detached' });
    expect(await page.$('[data-testid=study-view]')).not.toBeNull();
  });

  it('has the CT presets for a CT series', async () => {
    await page.evaluate(() => { location.hash = '#/'; });
    await page.selectOption('[data-testid=worklist-modality]', 'CT');
    await page.waitForFunction(() => document.querySelector('[data-testid=worklist-count]')?.textContent === '1 studies');
    await page.locator('[data-testid=worklist] tbody tr:first-child button.link').click();
    await page.waitForSelector('[data-testid=viewport][data-rendered=true]', { timeout: 20_000 });
    expect(await page.$$eval('[data-testid=voi-preset]', (b) => b.map((x) => x.getAttribute('data-preset')))).toEqual(['Soft tissue', 'Lung', 'Bone', 'Brain', 'Abdomen']);
    await page.keyboard.press('2');
    await page.waitForSelector('[data-testid=voi][data-preset=Lung]:has-text("Lung · W 1500 L -600")');
    await page.screenshot({ path: path.join(OUT, 'ct-lung.png') });
  });
});

describe('the top bar', () => {
  it('stays on one line while a job runs, and CPU without a GPU is no warning', async () => {
    await page.setViewportSize({ width: 1000, height: 700 });
    await page.goto(host.startUrl);
    await page.waitForSelector('[data-testid=embed-start]');
    const height = async (): Promise<number> => (await page.locator('.topbar').boundingBox())!.height;
    const idle = await height();
    // 230 images embed in well under a second on an idle machine, so the job is held still for the measurement:
    // it is paused from here at its first progress report, and the bar then shows the same controls (Resume in
    // Pause's place, Cancel) with its longest text.
    let paused = false;
    const off = app.on((name, p) => {
      const job = p as { kind?: string; jobId?: number; phase?: string };
      if (name === 'job.progress' && job.kind === 'embed' && job.phase === 'embedding' && !paused) paused = app.embeddings.pause(job.jobId!);
    });
    await page.click('[data-testid=embed-start]');
    await page.waitForSelector('[data-testid=embed-progress][data-phase=paused]', { timeout: 30_000 });
    off();
    await page.screenshot({ path: path.join(OUT, 'topbar-job.png') });
    expect(await height()).toBe(idle);
    // Every control of the job is on screen, not cut off by the bar's edge.
    const bar = (await page.locator('.topbar').boundingBox())!;
    for (const id of ['embed-resume', 'embed-cancel', 'open-label', 'open-export']) {
      const b = (await page.locator(`[data-testid=${id}]`).boundingBox())!;
      expect(b.x + b.width, id).toBeLessThanOrEqual(bar.x + bar.width);
    }
    const cancel = (await page.locator('[data-testid=embed-cancel]').boundingBox())!;
    const label = (await page.locator('[data-testid=open-label]').boundingBox())!;
    expect(cancel.x + cancel.width, 'Cancel is not hidden under the next button').toBeLessThanOrEqual(label.x);
    expect(await page.getAttribute('[data-testid=embed-job-text]', 'title')).toMatch(/^\d+\/\d+ · paused/);
    if (probeGpu() === 'none') {
      await page.waitForSelector('[data-testid=embed-provider]');
      expect(await page.getAttribute('[data-testid=embed-provider]', 'data-warn')).toBe('false');
      expect(await page.$('[data-testid=provider-fallback]')).toBeNull();
    }
    await page.click('[data-testid=embed-cancel]');
    await page.waitForSelector('[data-testid=embed-start]', { timeout: 30_000 });
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
