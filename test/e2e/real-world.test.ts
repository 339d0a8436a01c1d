// Real-world files in a real browser: every image frame of pydicom's test files (written by many vendors and
// toolkits: GE, Siemens, dcmtk, GDCM, JPEG, JPEG 2000, JPEG-LS, RLE, big endian, deflate, YBR_FULL_422, 16/32-bit
// RGB, RT dose, a JPEG 2000 whose Pixel Representation disagrees with its codestream) is opened in the viewer and
// what the viewport holds is compared with GDCM's decoding (gdcmconv --raw, read by pydicom) by pixel statistics.
// A frame is either drawn with the reference's values, or shows a message naming the file — never a stale or
// blank image.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import type { HttpHost } from '../../src/main/hosts/http-host.ts';
import type { DrawnStats } from '../../src/renderer/src/components/StackViewer.tsx';
import { importInto, tempDir } from '../helpers.ts';
import { REFUSED_AT_IMPORT, compare, realWorldFiles, referencePixels } from '../real-world.ts';
import type { Ref } from '../real-world.ts';
import { OUT, openSession } from './browser.ts';

let files: string[] = [];
let refs: Record<string, Ref> = {};

beforeAll(() => {
  files = realWorldFiles();
  refs = referencePixels(files);
}, 120_000);

/**
 * pydicom's files hold one image in many encodings under the same SOP Instance UID, and a project keeps one
 * instance per UID (a second file with it is refused as a duplicate). So the files are read in rounds, each a
 * project of its own, in which every UID appears once.
 */
function rounds(): string[][] {
  const out: { files: string[]; sops: Set<string> }[] = [];
  for (const file of files) {
    const sop = refs[file]?.sop ?? '';
    let round = out.find((r) => !sop || !r.sops.has(sop));
    if (!round) out.push(round = { files: [], sops: new Set() });
    round.files.push(file);
    if (sop) round.sops.add(sop);
  }
  return out.map((r) => r.files);
}

interface Session { app: Lightbox; host: HttpHost; browser: Browser; page: Page; src: string }

async function openRound(roundFiles: string[]): Promise<Session> {
  const src = tempDir('lightbox-real-world-');
  for (const f of roundFiles) fs.copyFileSync(f, path.join(src, path.basename(f)));
  const app = Lightbox.open(tempDir(), { create: true });
  await importInto(app, src);
  const { host, browser, page } = await openSession(app);
  await page.goto(host.startUrl);
  await page.waitForSelector('[data-testid=worklist]');
  return { app, host, browser, page, src };
}

interface FrameResult { file: string; frame: number; outcome: 'drawn' | 'refused'; message?: string; drawn?: DrawnStats }

/** Waits until the viewport has settled on frame `k`: drawn there, or refused with a message. */
async function settle(p: Page, k: number): Promise<void> {
  await p.waitForFunction((want) => {
    const vp = document.querySelector('[data-testid=viewport]');
    if (!vp || vp.getAttribute('data-wanted-index') !== String(want)) return false;
    if (vp.getAttribute('data-failed') === 'true') return true;
    const drawn = window.__lightboxDrawn?.();
    return vp.getAttribute('data-rendered') === 'true' && drawn?.index === want;
  }, k, { timeout: 30_000 });
}

describe('real-world files in the viewer', () => {
  it('draws every image frame with GDCM\'s values, or says which file cannot be drawn and why; reads the rest as documents', async () => {
    const results: FrameResult[] = [];
    const documents: string[] = [];
    const problems: string[] = [];
    const imported = new Set<string>();
    const refusedAtImport = new Map<string, string>();
    for (const roundFiles of rounds()) {
      const { app, host, browser, page, src } = await openRound(roundFiles);
      try {
        for (const f of roundFiles) {
          const row = app.store.db.prepare('SELECT status, reason FROM files WHERE path = ?').get(path.join(src, path.basename(f))) as { status: string; reason: string } | undefined;
          if (row?.status === 'rejected') refusedAtImport.set(f, row.reason);
        }
        const studies = (await app.invoke('worklist.query', { limit: 1000 })).rows;
        for (const st of studies) {
          await page.evaluate((id) => { location.hash = `#/study/${id}`; }, st.id);
          const { series } = await app.invoke('study.get', { studyId: st.id });
          for (const s of series) {
            const images = s.instances.filter((i) => i.isImage);
            if (images.length === 0) {
              // A non-image object reads as a document: its kind by name and its attributes, never a bare UID.
              await page.locator(`[data-testid=series-thumb][data-series-id="${s.id}"]`).click();
              await page.waitForFunction(() => document.querySelectorAll('[data-testid=document-title]').length > 0);
              const titles = await page.locator('[data-testid=document-title]').allTextContents();
              documents.push(...titles);
              const name = path.basename(app.store.instanceFile(s.instances[0]!.id).path);
              if (titles.some((t) => /^[\d.]+$/.test(t))) problems.push(`${name}: the document is titled with a bare UID`);
              if (name === 'test-SR.dcm') {
                await page.waitForSelector('[data-testid=sr-node]');
                await page.screenshot({ path: path.join(OUT, 'real-world-sr.png') });
              }
              continue;
            }
            await page.locator(`[data-testid=series-thumb][data-series-id="${s.id}"]`).click();
            await page.waitForFunction((n) => document.querySelector('[data-testid=viewport]')?.getAttribute('data-image-count') === String(n),
              images.reduce((a, i) => a + Math.max(1, i.frames), 0));
            let k = 0;
            for (const inst of images) {
              const copy = app.store.instanceFile(inst.id).path;
              const file = path.join(path.dirname(files[0]!), path.basename(copy));
              imported.add(file);
              for (let f = 0; f < Math.max(1, inst.frames); f++, k++) {
                if (k > 0) await page.keyboard.press('ArrowDown');
                await settle(page, k);
                const failed = (await page.getAttribute('[data-testid=viewport]', 'data-failed')) === 'true';
                if (failed) {
                  results.push({ file, frame: f, outcome: 'refused', message: (await page.textContent('[data-testid=frame-error]')) ?? '' });
                  await page.screenshot({ path: path.join(OUT, `real-world-refused-${path.basename(file)}-${f + 1}.png`) });
                } else {
                  results.push({ file, frame: f, outcome: 'drawn', drawn: (await page.evaluate(() => window.__lightboxDrawn?.() ?? null))! });
                  if (f === 0) await page.screenshot({ path: path.join(OUT, `real-world-${path.basename(file)}.png`) });
                }
              }
            }
          }
        }
      } finally {
        await browser.close();
        await host.close();
        await app.close();
      }
    }
    fs.writeFileSync(path.join(OUT, 'real-world.json'), JSON.stringify(results.map((r) => ({ ...r, file: path.basename(r.file) })), null, 1));

    for (const r of results) {
      const name = `${path.basename(r.file)} frame ${r.frame + 1}`;
      const ref = refs[r.file];
      const refFrame = ref && 'frames' in ref ? ref.frames[r.frame] : undefined;
      if (r.outcome === 'refused') {
        if (!r.message?.includes(path.basename(r.file))) problems.push(`${name}: the message does not name the file: ${r.message}`);
        if (refFrame) problems.push(`${name}: refused (${r.message}) although GDCM decodes it`);
        continue;
      }
      problems.push(...compare(r.file, r.frame, r.drawn!, refs).map((p) => `${name}: ${p}`));
    }
    // Every file GDCM can decode is in the project as an image: a false rejection at import is a failure too.
    for (const [file, ref] of Object.entries(refs)) {
      if (!('frames' in ref) || imported.has(file)) continue;
      const reason = refusedAtImport.get(file) ?? 'not imported';
      const allowed = REFUSED_AT_IMPORT[path.basename(file)];
      if (!allowed?.test(reason)) problems.push(`${path.basename(file)}: GDCM decodes it, but it is not an image in the project (${reason})`);
    }
    const drawn = results.filter((r) => r.outcome === 'drawn').length;
    console.log(`real-world: ${results.length} frames of ${imported.size} files: ${drawn} drawn and matching checked, ${results.length - drawn} refused with a message`);
    expect(problems).toEqual([]);
    expect(documents).toEqual(expect.arrayContaining(['RT Plan', 'RT Structure Set']));
    expect(documents.some((t) => t.startsWith('Diagnosis'))).toBe(true);
    expect(drawn).toBeGreaterThan(60);
  }, 600_000);
});
