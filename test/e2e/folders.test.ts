// Choosing folders in the browser host: the Browse… button opens a folder browser served by folders.list, which
// shows folders (never files) and fills the path field with the chosen one. The export dialog proposes a
// destination inside the project.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workstation } from '../../src/main/workstation.ts';
import type { HttpHost } from '../../src/main/hosts/http-host.ts';
import { tempDir } from '../helpers.ts';
import { OUT, openSession } from './browser.ts';

let app: Workstation;
let host: HttpHost;
let browser: Browser;
let page: Page;
let tree: string;

beforeAll(async () => {
  app = Workstation.open(tempDir(), { create: true });
  tree = tempDir('lightbox-tree-');
  fs.mkdirSync(path.join(tree, 'ward', 'chest'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'notes.txt'), 'a file, never listed');
  ({ host, browser, page } = await openSession(app));
});

afterAll(async () => {
  await browser?.close();
  await host?.close();
  await app?.close();
});

describe('folder choosing in the browser host', () => {
  it('browses folders from the import dialog and fills the field with the chosen one', async () => {
    await page.goto(host.startUrl);
    await page.getByTestId('open-import').click();
    await page.getByTestId('import-folder').fill(tree);
    await page.getByTestId('import-panel').getByTestId('browse-folder').click();
    const list = page.getByTestId('folder-browser-list');
    await expect.poll(() => page.getByTestId('folder-browser-path').textContent()).toBe(tree);
    await expect.poll(() => list.locator('[data-folder]').allTextContents()).toEqual(['📁 ward']);
    expect(await list.textContent()).not.toContain('notes.txt');
    await list.locator('[data-folder="ward"]').click();
    await list.locator('[data-folder="chest"]').click();
    await expect.poll(() => page.getByTestId('folder-browser-path').textContent()).toBe(path.join(tree, 'ward', 'chest'));
    await page.screenshot({ path: path.join(OUT, 'folder-browser.png') });
    await page.getByTestId('folder-browser-choose').click();
    await expect.poll(() => page.getByTestId('folder-browser').count()).toBe(0);
    expect(await page.getByTestId('import-folder').inputValue()).toBe(path.join(tree, 'ward', 'chest'));
  });

  it('creates a project from the Projects dialog, switches to it, and switches back from the recent list', async () => {
    const first = (await app.call('project.info', {}) as { result: { name: string; dir: string } }).result;
    const created = path.join(tempDir(), 'reader-study');
    await page.goto(host.startUrl);
    await page.getByTestId('open-projects').click();
    await page.getByTestId('new-project-dir').fill(created);
    await page.getByTestId('create-project').click();
    await expect.poll(() => page.getByTestId('project-summary').textContent(), { timeout: 30_000 }).toMatch(/^reader-study · 0 patients/);
    expect(fs.existsSync(path.join(created, 'lightbox.db'))).toBe(true);
    await page.getByTestId('open-projects').click();
    await page.screenshot({ path: path.join(OUT, 'projects-dialog.png') });
    await page.getByTestId('recent-projects').locator(`[data-project="${first.name}"]`).click();
    await expect.poll(() => page.getByTestId('project-summary').textContent(), { timeout: 30_000 }).toMatch(new RegExp(`^${first.name} ·`));
    expect(app.app.store.dir).toBe(first.dir);
  });
});
