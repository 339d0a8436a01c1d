// Every codec wrapper decodes each frame on its own: a damaged frame decoded right after a good one fails with a
// reason naming the file and the frame, and never comes back as the good file's pixels (issue 16: an OpenJPEG
// decoder reused across frames reported a zeroed codestream as decoded, with the previous file's image).
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame, openPixelSource } from '../../src/main/dicom/pixels.ts';
import type { DecodedFrame } from '../../src/main/dicom/pixels.ts';
import { damages, htj2kFile, jpegLsFile, withFrame } from '../fixtures/hostile.ts';
import { FIXTURE_DIR, tempDir } from '../helpers.ts';

const work = tempDir('lightbox-codec-state-');

const goods: Record<string, string> = {
  'JPEG baseline': path.join(FIXTURE_DIR, 'syntax/jpeg-baseline.dcm'),
  'JPEG baseline YBR colour': path.join(FIXTURE_DIR, 'photometric/ybr-jpeg.dcm'),
  'JPEG extended 12-bit': path.join(FIXTURE_DIR, 'syntax/jpeg-extended.dcm'),
  'JPEG lossless process 14': path.join(FIXTURE_DIR, 'syntax/jpeg-lossless-p14.dcm'),
  'JPEG lossless SV1': path.join(FIXTURE_DIR, 'syntax/jpeg-lossless-sv1.dcm'),
  'JPEG-LS': path.join(FIXTURE_DIR, 'syntax/jpeg-ls.dcm'),
  RLE: path.join(FIXTURE_DIR, 'syntax/rle.dcm'),
  'JPEG 2000': path.join(FIXTURE_DIR, 'syntax/jpeg2000.dcm'),
  HTJ2K: path.join(work, 'htj2k.dcm'),
};

const bytesOf = (f: DecodedFrame): Buffer => Buffer.from(f.samples.buffer, f.samples.byteOffset, f.samples.byteLength);
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function attempt(file: string): Promise<{ frame?: DecodedFrame; error?: Error }> {
  try {
    return { frame: await decodeFrame(openPixelSource(file), 0) };
  } catch (e) {
    return { error: e as Error };
  }
}

beforeAll(async () => {
  fs.writeFileSync(goods.HTJ2K!, await htj2kFile());
});

describe('a damaged frame decoded right after a good one', () => {
  for (const [syntax, good] of Object.entries(goods)) {
    for (const [damage, rewrite] of Object.entries(damages)) {
      it(`${syntax}, ${damage}: refused with a reason naming the file and frame, never the good file's pixels`, async () => {
        const before = await decodeFrame(openPixelSource(good), 0);
        const bad = path.join(work, `${syntax}-${damage}.dcm`.replace(/[^\w.-]+/g, '-'));
        fs.writeFileSync(bad, withFrame(fs.readFileSync(good), rewrite));
        const r = await attempt(bad);
        if (r.frame) expect(bytesOf(r.frame).equals(bytesOf(before)), 'decoded to the previous file\'s pixels').toBe(false);
        // Lossless JPEG has no check on its entropy-coded data: zeros are a valid Huffman stream (a flat image), so
        // that one damage cannot be told from an image; it must still never come back as the previous file's.
        if (syntax.startsWith('JPEG lossless') && damage.startsWith('coded data zeroed')) return;
        expect(r.error, 'a damaged frame must not decode').toBeInstanceOf(Error);
        expect(r.error!.message).toMatch(new RegExp(`^decode: .*${escape(path.basename(bad))} frame 1: \\S`));
        expect(r.error!.message).not.toMatch(/codec error \d+|undefined|\[object/);
      });
    }
  }

  it('says a zeroed JPEG 2000 codestream has no SOC marker', async () => {
    await decodeFrame(openPixelSource(goods['JPEG 2000']!), 0);
    const bad = path.join(work, 'j2k-no-soc.dcm');
    fs.writeFileSync(bad, withFrame(fs.readFileSync(goods['JPEG 2000']!), (f) => Buffer.alloc(f.length)));
    await expect(decodeFrame(openPixelSource(bad), 0)).rejects.toThrow(/^decode: .*j2k-no-soc\.dcm frame 1: JPEG 2000 codestream has no SOC marker \(/);
  });

  it('decodes the good files again, unchanged, after all those failures', async () => {
    for (const good of Object.values(goods)) {
      const a = await decodeFrame(openPixelSource(good), 0);
      const b = await decodeFrame(openPixelSource(good), 0);
      expect(bytesOf(a).equals(bytesOf(b)), good).toBe(true);
    }
  });
});

describe('JPEG-LS streams cut short', () => {
  it('40 truncated 2 KB files fail fast, each with a real reason instead of a codec pointer', async () => {
    const full = jpegLsFile(work);
    const t0 = performance.now();
    const reasons: string[] = [];
    for (let i = 0; i < 40; i++) {
      const file = path.join(work, `jls-cut-${i}.dcm`);
      fs.writeFileSync(file, withFrame(full, (f) => f.subarray(0, 1200 + 15 * i)));
      expect(fs.statSync(file).size).toBeLessThan(2560);
      const r = await attempt(file);
      reasons.push(r.error?.message ?? 'decoded');
    }
    // CharLS spent 5–48 s on most of these before failing; a bound that is generous for a loaded 2-core machine.
    expect(performance.now() - t0).toBeLessThan(20_000);
    reasons.forEach((m, i) => expect(m).toMatch(new RegExp(`^decode: .*jls-cut-${i}\\.dcm frame 1: JPEG-LS stream ends without an EOI marker`)));
  });

  it('a stream CharLS itself rejects is reported with CharLS\'s message', async () => {
    // Well formed to a marker walk, but with a second frame header: only the codec objects.
    const file = path.join(work, 'jls-two-sof.dcm');
    fs.writeFileSync(file, withFrame(fs.readFileSync(goods['JPEG-LS']!), (f) => {
      const sof = f.indexOf(Buffer.from([0xff, 0xf7]));
      const sos = f.indexOf(Buffer.from([0xff, 0xda]));
      return Buffer.concat([f.subarray(0, sos), f.subarray(sof, sof + 2 + f.readUInt16BE(sof + 2)), f.subarray(sos)]);
    }));
    const r = await attempt(file);
    expect(r.error).toBeInstanceOf(Error);
    expect(r.error!.message).toMatch(/^decode: .*jls-two-sof\.dcm frame 1: CharLS rejected the JPEG-LS stream: Invalid JPEG-LS stream: more then one Start Of Frame/);
  });
});
