// The embedding map in a real browser on the demo project: compute the map from its button (a job with progress),
// colour it by label ≠ model, hover a point (its image and labels), box-select a cluster, label it in one undoable
// step after the confirmation that counts disagreements, undo it and do it again, then click a point to open it.
// Screenshots: test-output/e2e/map.png (the labelled map), map-bulk.png (the confirmation).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import type { HttpHost } from '../../src/main/hosts/http-host.ts';
import { fitView, pointsInShape, toScreen } from '../../src/renderer/src/features/map/map-model.ts';
import type { MapPoints } from '../../src/shared/contract.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { embedAll, openDemoProject, tempDir } from '../helpers.ts';
import { OUT, openSession } from './browser.ts';

process.env.LIGHTBOX_HOME = tempDir('lightbox-home-');

let app: Lightbox;
let host: HttpHost;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  // One radiograph filed again under another patient: the near-duplicate queue must show the pair.
  ({ app } = await openDemoProject({ count: 160, ctSeries: 0 }, (dataDir) => {
    const cxr = fs.readdirSync(path.join(dataDir, 'cxr'), { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name)).sort();
    fs.mkdirSync(path.join(dataDir, 'copied'));
    const copy = path.join(dataDir, 'copied', 'again.dcm');
    fs.copyFileSync(cxr[3]!, copy);
    execFileSync('dcmodify', ['-nb', '-i', '(0010,0020)=OTHER-ID-77', '-i', '(0008,0018)=2.25.9001', '-i', '(0020,000d)=2.25.9002', '-i', '(0020,000e)=2.25.9003', copy]);
  }));
  await embedAll(app, { provider: 'cpu' });
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  await app.labels.whenIdle();
  ({ host, browser, page } = await openSession(app));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await host?.close();
  await app?.close();
});

async function points(): Promise<MapPoints> {
  const r = await app.call('map.points', { level: 'image' });
  if (!r.ok) throw new Error(r.error.message);
  return r.result as MapPoints;
}

/** Where the page draws point i (page coordinates), from the same pure view maths the map uses. */
async function geometry(): Promise<{ left: number; top: number; w: number; h: number }> {
  const box = (await page.locator('[data-testid=map-canvas]').boundingBox())!;
  return { left: box.x, top: box.y, w: box.width, h: box.height };
}

const labelOf = (studyId: number): string[] | null => app.labels.repo.state('study', app.labels.repo.uidOf('study', studyId)!, 'finding').labels;

describe('the embedding map', () => {
  it('computes the map from its button, colours it, shows a point on hover, and labels a box selection in one undoable step', async () => {
    await page.goto(host.startUrl);
    await page.click('[data-testid=open-map]');
    await page.waitForSelector('[data-testid=map-view][data-ready=false]');
    expect(page.url()).toMatch(/#\/map$/);
    expect(await page.textContent('[data-testid=map-empty]')).toMatch(/161 embedded images can be mapped/);
    await page.click('[data-testid=map-start]');
    await page.waitForSelector('[data-testid=map-view][data-ready=true]', { timeout: 60_000 });
    expect(await page.getAttribute('[data-testid=map-view]', 'data-points')).toBe('161');

    // Colour by disagreement between label and model: nothing is labelled yet, so every point is "unlabelled".
    await page.selectOption('[data-testid=map-colour]', 'disagreement:finding');
    expect(await page.textContent('[data-testid=map-legend]')).toMatch(/unlabelled\s*161/);
    await page.selectOption('[data-testid=map-colour]', 'suggestion:finding');
    expect(await page.textContent('[data-testid=map-legend]')).toMatch(/Normal/);

    const pts = await points();
    const g = await geometry();
    const view = fitView(pts.x, pts.y, g.w, g.h);
    // Hover the first point: its image and its labels.
    const [hx, hy] = toScreen(view, g.w, g.h, pts.x[0]!, pts.y[0]!);
    await page.mouse.move(g.left + hx, g.top + hy);
    await page.waitForSelector('[data-testid=map-hover]');
    expect(await page.textContent('[data-testid=map-hover]')).toMatch(/Finding: unlabelled · model: /);
    await page.waitForSelector('[data-testid=map-hover-thumb][data-state=drawn]');
    await page.screenshot({ path: path.join(OUT, 'map-hover.png') });

    // A box around the points suggested as the most common class near the first point.
    const [bx, by] = [hx, hy];
    const box: [number, number, number, number] = [bx - 60, by - 60, bx + 60, by + 60];
    const inside = pointsInShape(pts, view, g.w, g.h, { box });
    expect(inside.length).toBeGreaterThan(3);
    await page.click('[data-testid=map-tool-box]');
    await page.mouse.move(g.left + box[0], g.top + box[1]);
    await page.mouse.down();
    await page.mouse.move(g.left + bx, g.top + by, { steps: 4 });
    await page.mouse.move(g.left + box[2], g.top + box[3], { steps: 4 });
    await page.mouse.up();
    await page.waitForSelector('[data-testid=map-selection]');
    expect(Number(await page.getAttribute('[data-testid=map-selection]', 'data-count'))).toBe(inside.length);
    const studies = [...new Set(inside.map((i) => pts.studyIds[i]!))];

    // Label them as the model mostly suggests there; one already carries another label, so the confirmation says so
    // and leaves it out (with every item the model disagrees about) unless ticked.
    const finding = pts.groups.find((x) => x.key === 'finding')!;
    const votes = new Map<string, number>();
    for (const i of inside) { const v = finding.suggestion.values[finding.suggestion.index[i]!]!; votes.set(v, (votes.get(v) ?? 0) + 1); }
    const chosen = [...votes].sort((a, b) => b[1] - a[1])[0]![0];
    const chosenName = DEMO_SCHEMA.groups[0]!.labels.find((l) => l.key === chosen)!.name;
    const other = studies[0]!;
    await app.call('labels.set', { level: 'study', itemId: other, group: 'finding', labels: [chosen === 'nodule' ? 'normal' : 'nodule'] });
    await page.selectOption('[data-testid=bulk-label]', chosen);
    await page.click('[data-testid=bulk-open]');
    await page.waitForSelector('[data-testid=bulk-summary]');
    expect(await page.textContent('[data-testid=bulk-other]')).toBe('1 already carry another label');
    const disagree = Number((await page.textContent('[data-testid=bulk-disagree]'))!.split(' ')[0]);
    const reviewed = await page.locator('[data-testid=bulk-review-item]').count();
    expect(reviewed).toBeGreaterThanOrEqual(Math.max(1, disagree));
    expect(await page.getAttribute('[data-testid=bulk-review-item] >> nth=0', 'data-item-id')).not.toBeNull();
    await page.screenshot({ path: path.join(OUT, 'map-bulk.png') });
    const write = studies.length - reviewed;
    expect(write).toBeGreaterThan(0);
    expect(await page.textContent('[data-testid=bulk-confirm]')).toBe(`Label ${write} as “${chosenName}” in one step`);
    const before = app.labels.repo.eventCount();
    await page.click('[data-testid=bulk-confirm]');
    await page.waitForSelector('[data-testid=bulk-done]');
    expect(app.labels.repo.eventCount()).toBe(before + write);
    const labelled = studies.filter((s) => labelOf(s)?.at(-1) === chosen);
    expect(labelled.length).toBe(write);
    expect(labelOf(other)).toEqual(chosen === 'nodule' ? ['normal'] : ['abnormal', 'nodule']);
    const events = app.labels.repo.recentEvents(app.labels.profile().annotator, write);
    expect(events.every((e) => e.source === 'bulk' && e.batch === events[0]!.batch)).toBe(true);

    // Undo takes the whole step back; then it is done again and the map shows the labels.
    await page.click('[data-testid=bulk-undo]');
    await page.waitForSelector('[data-testid=bulk-done]:has-text("Undone")');
    expect(labelled.every((s) => labelOf(s) === null)).toBe(true);
    await page.click('[data-testid=bulk-close]');
    await page.click('[data-testid=bulk-open]');
    await page.waitForSelector('[data-testid=bulk-confirm]');
    await page.click('[data-testid=bulk-confirm]');
    await page.waitForSelector('[data-testid=bulk-done]');
    await page.click('[data-testid=bulk-close]');
    expect(studies.filter((s) => labelOf(s)?.at(-1) === chosen).length).toBe(write);
    await page.selectOption('[data-testid=map-colour]', 'label:finding');
    await page.waitForFunction(([name, n]) => new RegExp(`${name}\\s*(\\d+)`).exec(document.querySelector('[data-testid=map-legend]')?.textContent ?? '')?.[1] === String(n), [chosenName, write] as const);
    await page.selectOption('[data-testid=map-colour]', 'disagreement:finding');
    await page.waitForFunction(() => /label = model/.test(document.querySelector('[data-testid=map-legend]')?.textContent ?? ''));
    await page.screenshot({ path: path.join(OUT, 'map.png') });

    // The near-duplicate queue beside the map: the copy under another patient ID, shown on the map as a pair.
    await page.selectOption('[data-testid=map-review]', 'duplicates');
    await page.waitForSelector('[data-testid=review-item]');
    expect(await page.textContent('[data-testid=review-reason] >> nth=0')).toMatch(/Near-duplicate of image \d+ \(cosine 1\.0000 ≥ 0\.998\), filed under another patient ID/);
    await page.click('[data-testid=review-item] >> nth=0 >> button:has-text("Show on map")');
    await page.waitForSelector('[data-testid=map-selection][data-count="2"]');
    await page.screenshot({ path: path.join(OUT, 'map-review.png') });

    // A click on a point opens its study in the viewer.
    await page.click('[data-testid=map-tool-pan]');
    // The selection bar took some height: the view keeps its centre and scale in the smaller canvas.
    const g2 = await geometry();
    const [cx, cy] = toScreen(view, g2.w, g2.h, pts.x[5]!, pts.y[5]!);
    await page.mouse.click(g2.left + cx, g2.top + cy);
    await page.waitForFunction(() => location.hash.startsWith('#/study/'));
    const opened = Number(page.url().split('#/study/')[1]);
    // The nearest point to where it clicked: the fifth, or one drawn on the same spot.
    const near = pts.ids.map((_, i) => i).filter((i) => Math.hypot(...(toScreen(view, g2.w, g2.h, pts.x[i]!, pts.y[i]!).map((v, k) => v - [cx, cy][k]!) as [number, number])) < 8);
    expect(near.map((i) => pts.studyIds[i])).toContain(opened);
    await page.waitForSelector('[data-testid=viewport][data-rendered=true]', { timeout: 30_000 });
  });
});
