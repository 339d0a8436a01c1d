// Pixels decoded in main must equal an independent decoder's output: every image fixture is decompressed by GDCM
// (gdcmconv --raw, Debian's libgdcm-tools) to explicit little endian, and both decodings are compared value by
// value — bit-exact for lossless syntaxes, within a small tolerance for lossy ones (different IDCTs).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFrame, openPixelSource } from '../../src/main/dicom/pixels.ts';
import { isColour, modalityValues, rgbValues } from '../../src/main/dicom/pixel-values.ts';
import { FIXTURE_DIR, fixtures, tempDir } from '../helpers.ts';

const work = tempDir('lightbox-pixels-');

async function values(file: string, frame: number): Promise<{ v: Float32Array; colour: boolean; rows: number }> {
  const src = openPixelSource(file);
  const f = await decodeFrame(src, frame);
  return { v: isColour(f) ? rgbValues(f) : modalityValues(f), colour: isColour(f), rows: f.rows };
}

const images = fixtures().filter((f) => f.expect === 'image');

describe('pixel decoding in main matches GDCM', () => {
  it('covers every transfer syntax in the fixtures', () => {
    const syntaxes = new Set(images.map((f) => f.transferSyntax));
    expect(syntaxes.size).toBeGreaterThanOrEqual(11);
  });

  for (const fx of images) {
    it(`${fx.file} (${fx.note})`, async () => {
      const file = path.join(FIXTURE_DIR, fx.file);
      const ref = path.join(work, fx.file.replace(/\//g, '_'));
      execFileSync('gdcmconv', ['--raw', file, ref]);
      const src = openPixelSource(file);
      for (let frame = 0; frame < src.frames; frame++) {
        const ours = await values(file, frame);
        const theirs = await values(ref, frame);
        expect(ours.v.length).toBe(theirs.v.length);
        expect(ours.colour).toBe(theirs.colour);
        let maxDiff = 0;
        let sumDiff = 0;
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = 0; i < ours.v.length; i++) {
          const d = Math.abs(ours.v[i]! - theirs.v[i]!);
          maxDiff = Math.max(maxDiff, d);
          sumDiff += d;
          lo = Math.min(lo, theirs.v[i]!);
          hi = Math.max(hi, theirs.v[i]!);
        }
        const range = hi - lo;
        expect(range).toBeGreaterThan(0);
        if (fx.file.includes('palette')) {
          // gdcmconv --raw rewrites 16-bit palette entries keeping only their high byte.
          expect(maxDiff, `frame ${frame + 1}`).toBeLessThanOrEqual(1 / 255);
        } else if (fx.lossless && !fx.file.includes('ybr')) {
          expect(maxDiff, `frame ${frame + 1}`).toBe(0);
        } else {
          // Lossy: libjpeg-turbo / pdf.js IDCTs against GDCM's IJG; within 2% of the range at worst, 0.5% on average.
          expect(maxDiff / range, `frame ${frame + 1} max`).toBeLessThan(0.02);
          expect(sumDiff / ours.v.length / range, `frame ${frame + 1} mean`).toBeLessThan(0.005);
        }
      }
    });
  }

  // Files rejected for their bytes (a missing UID is an indexing problem, not a pixel one).
  for (const fx of fixtures().filter((f) => f.expect === 'rejected' && !f.file.includes('uid'))) {
    it(`refuses ${fx.file} (${fx.note}) with an error naming the file`, async () => {
      const file = path.join(FIXTURE_DIR, fx.file);
      await expect(async () => decodeFrame(openPixelSource(file), 0)).rejects.toThrow(path.basename(file));
    });
  }

  it('refuses a frame outside the file', async () => {
    const src = openPixelSource(path.join(FIXTURE_DIR, 'multiframe/three-frames.dcm'));
    await expect(decodeFrame(src, 3)).rejects.toThrow(/frame 4 is outside 1\.\.3/);
  });
});
