// Main's decoder on real-world files (pydicom's test files: many vendors and toolkits) against GDCM's decoding,
// by pixel statistics. The same decoded frames are what the model embeds and (through
// dicom/display-frame.ts) what the viewer draws; test/e2e/real-world.test.ts checks the drawing end to end.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isColour, modalityValues, rgbValues } from '../../src/main/dicom/pixel-values.ts';
import { PixelError, decodeFrame, openPixelSource } from '../../src/main/dicom/pixels.ts';
import type { DecodedFrame } from '../../src/main/dicom/pixels.ts';
import { REFUSED_AT_IMPORT, compare, realWorldFiles, referencePixels } from '../real-world.ts';
import type { FrameStats, Ref } from '../real-world.ts';

let files: string[] = [];
let refs: Record<string, Ref> = {};

beforeAll(() => {
  files = realWorldFiles();
  refs = referencePixels(files);
}, 120_000);

function stats(f: DecodedFrame): FrameStats {
  const colour = isColour(f);
  const v = colour ? rgbValues(f).map((x) => x * 255) : modalityValues(f);
  const channels = colour ? 3 : 1;
  const n = v.length / channels;
  const sum = new Array<number>(channels).fill(0);
  const sq = new Array<number>(channels).fill(0);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    sum[i % channels]! += x;
    sq[i % channels]! += x * x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = sum.map((s) => s / n);
  return { colour, mean, std: sq.map((s, c) => Math.sqrt(Math.max(0, s / n - mean[c]! ** 2))), min, max };
}

describe('main\'s decoder on real-world files', () => {
  it('decodes every frame GDCM or dcmtk decodes to the same values, and names the file of every one it refuses', async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const file of files) {
      const ref = refs[file]!;
      if ('notImage' in ref) continue;
      const name = path.basename(file);
      let src;
      try {
        src = openPixelSource(file);
      } catch (e) {
        if (!(e instanceof PixelError) || !e.message.includes(file)) problems.push(`${name}: refused without naming the file: ${String(e)}`);
        if ('frames' in ref && !REFUSED_AT_IMPORT[name]?.test((e as Error).message)) problems.push(`${name}: refused (${(e as Error).message}) although GDCM decodes it`);
        continue;
      }
      for (let k = 0; k < src.frames; k++) {
        let s: FrameStats;
        try {
          s = stats(await decodeFrame(src, k));
        } catch (e) {
          if (!(e instanceof PixelError) || !e.message.includes(file)) problems.push(`${name} frame ${k + 1}: refused without naming the file: ${String(e)}`);
          if ('frames' in ref) problems.push(`${name} frame ${k + 1}: refused (${(e as Error).message}) although GDCM decodes it`);
          continue;
        }
        problems.push(...compare(file, k, s, refs).map((p) => `${name} frame ${k + 1}: ${p}`));
        checked++;
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(80);
  }, 120_000);
});
