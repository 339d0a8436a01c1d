// A reading study in a real browser: two readers are added and one is switched to explicitly in the top bar; a
// small study blinded to the model is made from pasted UIDs; each reader reads it in their own order with no
// suggestion or score anywhere in the page (though the model has suggestions for those items), one resumes where
// they stopped; the study is unblinded, one disagreement adjudicated with both reads side by side, and the
// agreement view shows Cohen's κ as the API computes it. Screenshots: test-output/e2e/readers-*.png.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import type { HttpHost } from '../../src/main/hosts/http-host.ts';
import { DEMO_READERS, simulateReads } from '../../src/main/readers/simulate-readers.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { embedAll, openDemoProject, tempDir } from '../helpers.ts';
import { OUT, openSession } from './browser.ts';

process.env.LIGHTBOX_HOME = tempDir('lightbox-home-');

let app: Lightbox;
let host: HttpHost;
let browser: Browser;
let page: Page;
/** Study UID → true finding, and → study id. */
const truthOf = new Map<string, string>();
const idOf = new Map<string, number>();
let items: string[] = [];
let outside = 0;
const SHORTCUT: Record<string, string> = Object.fromEntries(DEMO_SCHEMA.groups[0]!.labels.map((l) => [l.key, l.shortcut!]));

beforeAll(async () => {
  let truth;
  ({ app, truth } = await openDemoProject({ count: 10, ctSeries: 0 }));
  await embedAll(app, { provider: 'cpu' });
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  await app.labels.whenIdle();
  const rows = app.store.db.prepare('SELECT st.id, st.study_uid, i.sop_uid FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id ORDER BY st.id').raw().all() as [number, string, string][];
  for (const [id, uid, sop] of rows) {
    truthOf.set(uid, truth.instances[sop]!.class);
    idOf.set(uid, id);
  }
  items = [...truthOf.keys()].slice(0, 4);
  outside = idOf.get([...truthOf.keys()][6]!)!;
  ({ host, browser, page } = await openSession(app));
  page.on('dialog', (d) => void d.accept());
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await host?.close();
  await app?.close();
});

const shot = (name: string): Promise<Buffer> => page.screenshot({ path: path.join(OUT, `readers-${name}.png`) });
const panel = (attr: string): Promise<string | null> => page.getAttribute('[data-testid=reading-panel]', attr);

/** What a page says of the model: a suggestion box, an Accept button, or a probability-like number or word. */
async function modelOnPage(): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    for (const sel of ['[data-testid=suggestion]', '[data-testid=accept]', '[data-testid=reject]', '[data-testid=suggestion-hidden]']) {
      if (document.querySelector(sel)) found.push(sel);
    }
    const text = document.body.innerText;
    for (const re of [/suggest/i, /probabilit/i, /score/i, /\b0\.\d\d\b/, /\d+ ?%/, /zero-shot|adapter/i]) if (re.test(text)) found.push(`text matches ${re}`);
    return found;
  });
}

async function switchReader(name: string): Promise<void> {
  await page.selectOption('[data-testid=reader-select]', name);
  await page.waitForSelector(`[data-testid=reader-switch][data-current="${name}"]`);
}

/** Reads as the current reader until `stopAfter` reads (or the end); `choose` decides each item's label. */
async function readItems(choose: (uid: string, k: number) => string, stopAfter = Infinity, byKey = true, shotAt = -1): Promise<string[]> {
  const seen: string[] = [];
  for (let k = 0; k < stopAfter; k++) {
    const state = await page.waitForSelector('[data-testid=reading-panel]:not([data-item-uid=""]), [data-testid=reading-empty]:has-text("every item")');
    if ((await state.getAttribute('data-testid')) === 'reading-empty') break;
    const uid = (await panel('data-item-uid'))!;
    const position = (await panel('data-position'))!;
    await page.waitForSelector('[data-testid=viewport] canvas');
    expect(await modelOnPage(), `read ${k}`).toEqual([]);
    seen.push(uid);
    if (k === shotAt) await shot('reading');
    const label = choose(uid, k);
    if (byKey) await page.keyboard.press(SHORTCUT[label]!);
    else await page.click(`[data-testid=reading-label][data-label="${label}"]`);
    await page.waitForFunction((p) => document.querySelector('[data-testid=reading-panel]')?.getAttribute('data-position') !== p, position);
  }
  return seen;
}

describe('a reading study in the browser', () => {
  it('adds two readers; the first becomes current and is shown in the top bar', async () => {
    await page.goto(host.startUrl);
    await page.click('[data-testid=open-readers]');
    await page.waitForSelector('[data-testid=reading-studies]');
    expect(await page.evaluate(() => location.hash)).toBe('#/readers');
    for (const name of ['ann', 'bob']) {
      await page.fill('[data-testid=new-reader-name]', name);
      await page.click('[data-testid=add-reader]');
      await page.waitForSelector(`[data-testid=reader-chip][data-reader="${name}"]`);
    }
    await page.waitForSelector('[data-testid=reader-switch][data-current="ann"]');
  });

  it('creates a study blinded to the model from pasted UIDs, with both readers', async () => {
    await page.click('[data-testid=new-study]');
    await page.fill('[data-testid=study-name]', 'CXR pilot');
    await page.click('[data-testid=items-uids]');
    await page.fill('[data-testid=study-uids]', items.join('\n'));
    for (const r of ['ann', 'bob']) await page.check(`[data-testid=study-reader][data-reader="${r}"]`);
    expect(await page.isChecked('[data-testid=study-blinded]')).toBe(true);
    await page.fill('[data-testid=study-seed]', '7');
    await page.click('[data-testid=create-study-submit]');
    const row = page.locator('[data-testid=reading-study][data-name="CXR pilot"]');
    await row.waitFor();
    expect(await row.locator('[data-testid=reader-progress]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-reader')} ${e.getAttribute('data-done')}/${e.getAttribute('data-total')}`))).toEqual(['ann 0/4', 'bob 0/4']);
    expect(await row.textContent()).toContain('blinded to the model');
    await shot('list');
  });

  it('shows a reader of the study no suggestion for its items in the labelling view, though there is one for others', async () => {
    // Sanity first: an item outside the study has a suggestion on screen.
    await page.goto(`${host.startUrl.split('#')[0]}#/label/study/${outside}`);
    await page.waitForSelector('[data-testid=suggestion]', { timeout: 30_000 });
    await page.goto(`${host.startUrl.split('#')[0]}#/label/study/${idOf.get(items[0]!)}`);
    await page.waitForSelector(`[data-testid=label-panel][data-item-id="${idOf.get(items[0]!)}"]`);
    await page.waitForSelector('[data-testid=viewport] canvas');
    expect(await page.$('[data-testid=suggestion]')).toBeNull();
    expect(await page.$('[data-testid=accept]')).toBeNull();
  });

  it('ann reads two items by key with nothing of the model on screen; bob reads all four; ann resumes at her third', async () => {
    await page.goto(`${host.startUrl.split('#')[0]}#/readers`);
    await page.click('[data-testid=reading-study][data-name="CXR pilot"] [data-testid=study-read]');
    await page.waitForSelector('[data-testid=reading-screen][data-reader="ann"]');
    const annFirst = await readItems((uid) => truthOf.get(uid)!, 2, true, 1);
    expect(annFirst).toHaveLength(2);

    await switchReader('bob');
    await page.waitForSelector('[data-testid=reading-screen][data-reader="bob"]');
    // bob disagrees with the truth on his first item only (read with the mouse).
    const bobs = await readItems((uid, k) => (k === 0 ? (truthOf.get(uid) === 'normal' ? 'nodule' : 'normal') : truthOf.get(uid)!), Infinity, false);
    expect(new Set(bobs)).toEqual(new Set(items));
    await page.waitForSelector('[data-testid=reading-empty]:has-text("every item")');
    expect(await modelOnPage()).toEqual([]);

    await switchReader('ann');
    await page.waitForSelector('[data-testid=reading-screen][data-reader="ann"]');
    await page.waitForSelector('[data-testid=reading-panel] >> text=Read 3');
    const annRest = await readItems((uid) => truthOf.get(uid)!);
    expect(new Set([...annFirst, ...annRest])).toEqual(new Set(items));
    // Going back shows her own read, not anyone else's.
    await page.keyboard.press('p');
    await page.waitForSelector('[data-testid=reading-current]');
    expect(await modelOnPage()).toEqual([]);
  });

  it('unblinds, adjudicates the disagreement with both reads side by side, and shows kappa', async () => {
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=reading-studies]');
    const row = page.locator('[data-testid=reading-study][data-name="CXR pilot"]');
    expect(await row.locator('[data-testid=reader-progress]').evaluateAll((els) => els.map((e) => e.getAttribute('data-done')))).toEqual(['4', '4']);
    await row.locator('[data-testid=study-unblind]').click();
    await page.waitForSelector('[data-testid=reading-study][data-name="CXR pilot"][data-unblinded="1"]');

    await row.locator('[data-testid=study-adjudicate]').click();
    await page.waitForSelector('[data-testid=adjudication][data-queue="1"]');
    await page.waitForSelector('[data-testid=adjudication-read]');
    const reads = await page.$$eval('[data-testid=adjudication-read]', (els) => els.map((e) => `${e.getAttribute('data-reader')}:${e.getAttribute('data-label')}`));
    const uid = (await page.getAttribute('[data-testid=adjudication-panel]', 'data-item-uid'))!;
    expect(reads).toHaveLength(2);
    expect(reads).toContain(`ann:${truthOf.get(uid)}`);
    await page.waitForSelector('[data-testid=viewport] canvas');
    await shot('adjudication');
    await page.click(`[data-testid=adjudicate-label][data-label="${truthOf.get(uid)}"]`);
    await page.waitForSelector('[data-testid=adjudication][data-queue="0"]');
    expect(await page.textContent('[data-testid=reference-summary]')).toMatch(/3 unanimous · 0 majority · 1 adjudicated · 0 pending/);
    const ref = await app.invoke('reading.reference', { study: 1, rule: 'majority' });
    expect(ref.items.find((x) => x.itemUid === uid)).toMatchObject({ basis: 'adjudicated', adjudicator: 'ann', label: truthOf.get(uid) });

    await page.goto(`${host.startUrl.split('#')[0]}#/readers/1/agreement`);
    const kappa = page.locator('[data-testid=agreement-level][data-level=label] [data-testid=cohen-kappa]');
    await kappa.waitFor();
    const api = await app.invoke('reading.agreement', { study: 1, resamples: 1000, seed: 1 });
    const expected = api.levels.find((l) => l.level === 'label')!.pairs[0]!.kappa.value;
    expect(expected).not.toBeNull();
    expect(Number(await kappa.getAttribute('data-value'))).toBeCloseTo(expected!, 10);
    expect(await kappa.textContent()).toContain(expected!.toFixed(2));
    expect(await page.locator('[data-testid=agreement-level]').count()).toBeGreaterThanOrEqual(2);
    await shot('agreement');
  });

  it('shows the model against three simulated readers: a table per sub-task and an ROC figure with their points, exported as SVG, PNG, CSV and JSON', async () => {
    for (const r of DEMO_READERS) await app.invoke('readers.create', { name: r.name });
    const s = await app.invoke('reading.create', { name: 'simulated', group: 'finding', items: [...truthOf.keys()], readers: DEMO_READERS.map((r) => r.name), seed: 2 });
    await simulateReads(app.invoke.bind(app), s.id, DEMO_READERS, (u) => truthOf.get(u)!, ['normal', 'cardiomegaly', 'effusion', 'nodule'], 3);
    await app.invoke('reading.unblind', { study: s.id });
    for (const u of (await app.invoke('reading.reference', { study: s.id, rule: 'majority' })).queue) await app.invoke('reading.adjudicate', { study: s.id, itemUid: u, label: truthOf.get(u)! });
    await page.goto(`${host.startUrl.split('#')[0]}#/readers`);
    await page.click(`[data-testid=reading-study][data-study="${s.id}"] [data-testid=study-compare]`);
    await page.waitForSelector('[data-testid=compare-table][data-level=top]');
    const raters = await page.$$eval('[data-testid=compare-rater]', (els) => els.map((e) => e.getAttribute('data-name')));
    expect(raters).toEqual(['adapter (out-of-fold)', 'zero-shot', ...DEMO_READERS.map((r) => r.name)]);
    const api = await app.invoke('reading.compare', { study: s.id });
    const top = api.levels.find((l) => l.level === 'top')!;
    const zs = top.raters.find((r) => r.name === 'zero-shot')!;
    expect(Number(await page.getAttribute('[data-testid=compare-rater][data-name=zero-shot] [data-testid=macro-auc]', 'data-value'))).toBeCloseTo(zs.macroAuc!.value!, 10);
    // The figure: a curve per model source and a point per reader, for "abnormal vs rest".
    expect(await page.getAttribute('[data-testid=roc-figure]', 'data-category')).toBe('abnormal');
    expect(await page.$$eval('[data-testid=roc-figure] path[data-rater]', (els) => els.map((e) => e.getAttribute('data-rater')))).toEqual(['adapter (out-of-fold)', 'zero-shot']);
    expect(await page.$$eval('[data-testid=roc-figure] circle[data-reader]', (els) => els.map((e) => e.getAttribute('data-reader')))).toEqual(DEMO_READERS.map((r) => r.name));
    const pt = top.raters.find((r) => r.name === 'reader-a')!.classes.find((k) => k.category === 'abnormal')!;
    const cx = Number(await page.getAttribute('[data-testid=roc-figure] circle[data-reader=reader-a]', 'cx'));
    expect(cx).toBeCloseTo(56 + (1 - pt.specificity.value!) * 360, 1);
    await shot('compare');

    const saved = async (button: string): Promise<Buffer> => {
      const [d] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid=${button}]`)]);
      return fs.readFileSync((await d.path())!);
    };
    const svg = (await saved('export-svg')).toString('utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('data-reader="reader-c"');
    const png = await saved('export-png');
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    fs.writeFileSync(path.join(OUT, 'readers-roc-export.png'), png);
    const csv = (await saved('export-csv')).toString('utf8');
    expect(csv.split('\n')[0]).toMatch(/^level,rater,kind,category/);
    expect(csv).toContain('top,reader-a,reader,abnormal,');
    const json = JSON.parse((await saved('export-json')).toString('utf8')) as typeof api;
    expect(json.levels.map((l) => l.level)).toEqual(api.levels.map((l) => l.level));
  });

  it('shows where the model errs as a tree with error rate and n per node, and lists a node\'s studies', async () => {
    const s = (await app.invoke('reading.list', {})).find((x) => x.name === 'simulated')!;
    // The adapter's mistakes are labelled "rotated" in the project: the tree must split on that label.
    const before = await app.invoke('reading.errors', { study: s.id, source: 'adapter', minLeaf: 1 });
    expect(before.errors).toBeGreaterThan(0);
    for (const u of before.wrong) await app.invoke('labels.set', { level: 'study', itemId: idOf.get(u)!, group: 'quality', labels: ['rotated'] });
    await page.goto(`${host.startUrl.split('#')[0]}#/readers`);
    await page.click(`[data-testid=reading-study][data-study="${s.id}"] [data-testid=study-errors]`);
    await page.waitForSelector('[data-testid=error-tree] [data-testid=tree-node]');
    await page.selectOption('[data-testid=errors-source]', 'zero-shot');
    await page.selectOption('[data-testid=errors-source]', 'adapter');
    await page.fill('[data-testid=errors-min-leaf]', '1');
    const api = await app.invoke('reading.errors', { study: s.id, source: 'adapter', minLeaf: 1 });
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=tree-node]').length === n, api.nodes.length);
    const nodes = await page.$$eval('[data-testid=tree-node]', (els) => els.map((e) => [Number(e.getAttribute('data-n')), Number(e.getAttribute('data-errors'))]));
    expect(nodes).toEqual(api.nodes.map((n) => [n.n, n.errors]));
    expect(nodes[0]).toEqual([api.n, api.errors]);
    expect(api.nodes.length).toBe(3);
    expect(api.nodes[api.nodes[0]!.children[1]!]!.condition!.attribute).toBe('label: quality');
    expect(api.nodes.filter((n) => n.depth === 1).map((n) => n.errorRate).sort()).toEqual([0, 1]);
    await page.click('[data-testid=tree-node][data-node="0"]');
    expect(await page.locator('[data-testid=errors-items] [data-testid=errors-study]').count()).toBe(api.nodes[0]!.studyIds.length);
    await shot('errors');
  });
});
