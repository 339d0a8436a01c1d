// Labelling in a real browser, from the keyboard alone: accept a suggestion (Enter), choose a label by its key,
// undo and redo, flag, see why an item is queued, read the history, the help, a blinded read; then edit the schema.
// Writes how long the next item took to show after a keypress (prefetched) to test-output/e2e/label-metrics.json.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import type { HttpHost } from '../../src/main/hosts/http-host.ts';
import { bindingsOf } from '../../src/shared/keymap.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { embedAll, openDemoProject, tempDir } from '../helpers.ts';
import { OUT, openSession } from './browser.ts';

process.env.LIGHTBOX_HOME = tempDir('lightbox-home-');

let app: Lightbox;
let host: HttpHost;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  ({ app } = await openDemoProject({ count: 80, ctSeries: 0 }));
  await embedAll(app, { provider: 'cpu' });
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  await app.labels.whenIdle();
  ({ host, browser, page } = await openSession(app));
});

afterAll(async () => {
  await browser?.close();
  await host?.close();
  await app?.close();
});

const panelItem = async (): Promise<number> => Number(await page.getAttribute('[data-testid=label-panel]', 'data-item-id'));
const stateOf = (studyId: number): string[] | null => app.labels.repo.state('study', app.labels.repo.uidOf('study', studyId)!, 'finding').labels;
async function nextItemAfter(before: number): Promise<number> {
  await page.waitForFunction((b) => Number(document.querySelector('[data-testid=label-panel]')?.getAttribute('data-item-id')) !== b, before);
  return panelItem();
}

describe('labelling from the keyboard', () => {
  it('accepts, chooses, undoes, redoes, flags and shows why and what happened — without the mouse', async () => {
    await page.goto(host.startUrl);
    await page.click('[data-testid=open-label]');
    await page.waitForSelector('[data-testid=suggestion]');
    await page.waitForSelector('[data-testid=viewport][data-rendered=true]');
    expect(await page.textContent('[data-testid=why]')).toMatch(/^Why: Uncertain: .* vs .* \(zero-shot\)/);
    expect(await page.locator('[data-testid=queue-item]').count()).toBeGreaterThan(10);

    // Enter accepts the suggestion on screen and moves on.
    const first = await panelItem();
    const suggested = (await page.getAttribute('[data-testid=suggestion]', 'data-labels'))!.split(',');
    await page.keyboard.press('Enter');
    const second = await nextItemAfter(first);
    expect(stateOf(first)).toEqual(expect.arrayContaining(suggested));
    const accepted = app.labels.history({ studyId: first }).at(-1)!;
    expect(accepted).toMatchObject({ action: 'accept', source: 'suggestion', suggestionSource: 'zero-shot' });

    // A label's key sets it (its parent implied) and moves on; the time to the next image is recorded.
    await page.waitForSelector('[data-testid=viewport][data-rendered=true]');
    const t0 = Date.now();
    await page.keyboard.press('4');
    const third = await nextItemAfter(second);
    await page.waitForSelector('[data-testid=viewport][data-rendered=true]');
    const nextImageMs = Date.now() - t0;
    expect(stateOf(second)).toEqual(['abnormal', 'effusion']);

    // z undoes the last change (and goes back to that item); y redoes it.
    await page.keyboard.press('z');
    await page.waitForFunction((id) => document.querySelector('[data-testid=label-panel]')?.getAttribute('data-item-id') === String(id), second);
    await page.waitForSelector('[data-testid=saved]:has-text("Undone")');
    // It says what it undid, in the reader's words.
    expect(await page.textContent('[data-testid=saved]')).toMatch(/^Undone: Finding: Abnormal, Pleural effusion → \(none\) · .+ · event #\d+$/);
    expect(stateOf(second)).toBeNull();
    await page.keyboard.press('y');
    await page.waitForSelector('[data-testid=saved]:has-text("Redone")');
    expect(stateOf(second)).toEqual(['abnormal', 'effusion']);

    // f flags for a second opinion; h shows the study's history, newest first.
    await page.keyboard.press('f');
    await page.waitForSelector('[data-testid=flag][aria-pressed=true]');
    await page.keyboard.press('h');
    await page.waitForSelector('[data-testid=history-event]');
    const actions = await page.locator('[data-testid=history-event]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
    expect(actions).toEqual(['flag', 'redo', 'undo', 'set']);

    // ? lists every key, including the schema's label shortcuts.
    await page.keyboard.press('?');
    expect(await page.textContent('[data-testid=help]')).toContain('Pleural effusion');
    // The help is the keymap's: every binding of the labelling view and its viewer, under its context.
    for (const context of ['labelling', 'viewer'] as const) {
      const listed = await page.locator(`[data-testid=key-help][data-context=${context}] tr`).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-command')));
      expect(listed).toEqual(bindingsOf(context).map((b) => b.command));
    }
    await page.screenshot({ path: path.join(OUT, 'label-help.png') });
    await page.keyboard.press('Escape');
    expect(await page.locator('[data-testid=help]').count()).toBe(0);
    await page.screenshot({ path: path.join(OUT, 'label-view.png') });
    expect(stateOf(third)).toBeNull(); // the queue moved on to an item still to be labelled
    fs.writeFileSync(path.join(OUT, 'label-metrics.json'), JSON.stringify({ nextImageMs }, null, 2));
  });

  it('a blinded first read shows nothing of the model — queue, why-line, panel, progress — until b, and then for that item only', async () => {
    const NAMES = DEMO_SCHEMA.groups.flatMap((g) => g.labels.map((l) => l.name));
    const NUMBERS = /\d\.\d\d|\d+ ?%/;
    const modelSays = (text: string): string[] => [...NAMES.filter((n) => text.includes(n)), ...(text.match(NUMBERS) ?? [])];
    /** The panel shows the queue's current item, its why-line is the blinded one, and (until b) its suggestion is hidden. */
    const blindItemOnScreen = (): Promise<unknown> => page.waitForFunction(() => {
      const current = document.querySelector('[data-testid=queue-item]')?.getAttribute('data-item-id');
      const panel = document.querySelector('[data-testid=label-panel]')?.getAttribute('data-item-id');
      return current && current === panel && /blinded read/.test(document.querySelector('[data-testid=why]')?.textContent ?? '')
        && document.querySelector('[data-testid=suggestion-hidden]') && !document.querySelector('[data-testid=suggestion]');
    });
    await page.click('[data-testid=blinded-toggle]');
    // The toggle shows checked once the profile is saved; only then is the next item loaded blinded.
    await page.waitForSelector('[data-testid=blinded-toggle]:checked');
    await blindItemOnScreen();
    const reasons = await page.locator('[data-testid=queue] .reason').allTextContents();
    expect(reasons.length).toBeGreaterThan(10);
    expect(reasons.flatMap(modelSays)).toEqual([]);
    expect(modelSays(await page.textContent('[data-testid=why]') ?? '')).toEqual([]);
    // The panel lists the schema's labels as buttons, so look at what the model adds: a suggestion, probabilities.
    expect(await page.locator('[data-testid=label-panel] .prob').count()).toBe(0);
    expect(await page.textContent('[data-testid=label-panel]')).not.toMatch(NUMBERS);
    expect(await page.textContent('[data-testid=label-progress]')).not.toMatch(/CV accuracy/);

    await page.click('[data-testid=open-stats]');
    await page.waitForSelector('[data-testid=stats-blinded]');
    expect(await page.locator('[data-testid=learning-curve]').count()).toBe(0);
    const suggestedColumn = await page.locator('[data-testid=stats-row] td:nth-child(6)').allTextContents();
    expect(new Set(suggestedColumn)).toEqual(new Set(['–']));
    expect(await page.textContent('[data-testid=stats-panel]')).not.toMatch(/\d+ ?%/);
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=stats-panel]', { state: 'detached' });

    // b reveals this item's suggestion; the next item is blind again.
    const revealed = await panelItem();
    await page.keyboard.press('b');
    await page.waitForSelector('[data-testid=suggestion]');
    expect(await page.locator('[data-testid=label-panel] .prob').count()).toBeGreaterThan(0);
    await page.keyboard.press('n');
    await nextItemAfter(revealed);
    await page.waitForSelector('[data-testid=suggestion-hidden]');
    expect(await page.locator('[data-testid=suggestion]').count()).toBe(0);
    expect(await page.locator('[data-testid=label-panel] .prob').count()).toBe(0);

    await page.click('[data-testid=blinded-toggle]');
    await page.waitForSelector('[data-testid=blinded-toggle]:not(:checked)');
    await page.waitForFunction(() => /^Why: Uncertain: /.test(document.querySelector('[data-testid=why]')?.textContent ?? '') && !!document.querySelector('[data-testid=suggestion]'));
  });

  it('s finds images like the one on screen, and the address is a link that opens the item', async () => {
    await page.waitForSelector('[data-testid=viewport][data-rendered=true]');
    const item = await panelItem();
    await page.waitForFunction((id) => location.hash === `#/label/study/${id}`, item);
    await page.keyboard.press('s');
    await page.waitForSelector('[data-testid=similar-item]', { timeout: 30_000 });
    await page.screenshot({ path: path.join(OUT, 'label-similar.png') });
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=similar-panel]', { state: 'detached' });
    // An item further down the queue, opened from its link in a fresh tab.
    const target = Number(await page.locator('[data-testid=queue-item]').nth(5).getAttribute('data-item-id'));
    const other = await browser.newContext().then((c) => c.newPage());
    await other.goto(`${host.startUrl}#/label/study/${target}`);
    await other.waitForFunction((id) => document.querySelector('[data-testid=label-panel]')?.getAttribute('data-item-id') === String(id), target, { timeout: 30_000 });
    await other.context().close();
  });

  it('a suggestion that changes under the cursor is shown with what it changed from, never silently', async () => {
    await page.waitForSelector('[data-testid=label-group][data-group=finding] [data-testid=suggestion]');
    const itemId = await panelItem();
    const before = (await page.getAttribute('[data-testid=label-group][data-group=finding] [data-testid=suggestion]', 'data-labels'))!;
    // Behind the view's back (another window, a script), the suggestion for this item changes.
    app.labels.actions.reject({ level: 'study', itemId, group: 'finding', label: before.split(',')[0]! });
    await page.waitForSelector('[data-testid=suggestion-changed]');
    expect(await page.textContent('[data-testid=suggestion-changed]')).toMatch(/^The suggestion changed from .+ to .+ while you looked; review it\.$/);
    expect(await page.getAttribute('[data-testid=label-group][data-group=finding] [data-testid=suggestion]', 'data-labels')).not.toBe(before);
    expect(await panelItem()).toBe(itemId);
  });

  it('progress shows accuracy only with enough labels, with its interval, a confusion matrix and recall', async () => {
    await page.click('[data-testid=open-stats]');
    await page.waitForSelector('[data-testid=stats-panel]');
    await page.waitForSelector('[data-testid=validation-none]');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=stats-panel]', { state: 'detached' });
    // Twelve more labels (set through the API, as another window would), then a validated refresh.
    const todo = (await app.invoke('labels.queue', { group: 'finding', queue: 'unlabelled', limit: 12 })).items;
    for (const [i, it] of todo.entries()) await app.invoke('labels.set', { level: 'study', itemId: it.itemId, group: 'finding', labels: [i % 3 === 0 ? 'abnormal' : 'normal'] });
    await app.labels.whenIdle();
    await page.waitForSelector('[data-testid=cv-accuracy]');
    expect(await page.textContent('[data-testid=cv-accuracy]')).toMatch(/CV accuracy \d+ % \(95 % CI \d+ %–\d+ %, \d+ labels\)/);
    await page.click('[data-testid=open-stats]');
    await page.waitForSelector('[data-testid=confusion]');
    expect(await page.locator('[data-testid=confusion-row]').count()).toBe(DEMO_SCHEMA.groups[0]!.labels.length);
    expect(await page.locator('[data-testid=learning-curve] [data-testid=curve-y-axis]').textContent()).toBe('CV accuracy');
    await page.screenshot({ path: path.join(OUT, 'label-stats.png') });
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=stats-panel]', { state: 'detached' });
  });

  it('the schema editor saves a new group and refuses a reserved shortcut with the field named', async () => {
    await page.click('[data-testid=open-schema]');
    await page.click('[data-testid=add-group]');
    const group = page.locator('[data-testid=schema-group]').last();
    await group.locator('[data-testid=group-name]').fill('Devices');
    await group.locator('[data-testid=label-name]').first().fill('Pacemaker');
    await group.locator('[data-testid=label-shortcut]').first().fill('a');
    await page.click('[data-testid=save-schema]');
    expect(await page.textContent('[data-testid=schema-error]')).toMatch(/groups\.2\.labels\.0\.shortcut: "a" is reserved/);
    await group.locator('[data-testid=label-shortcut]').first().fill('6');
    await page.click('[data-testid=save-schema]');
    await page.waitForSelector('[data-testid=schema-editor]', { state: 'detached' });
    expect(app.labels.schema().schema.groups.map((g) => g.name)).toEqual(['Finding', 'Image quality', 'Devices']);
    await page.waitForSelector('[data-testid=label-group][data-group=group-3]');
  });
});
