// Decompression and header bombs: small files that claim or expand to huge sizes are refused with a reason before
// the work is done. Each hostile call runs in a child process so its peak memory (maxRSS) can be measured and
// compared with the same child reading a benign file; the bounds are loose on purpose (no tight timings).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pixelModule, uidFrom, writeDicom } from '../../src/main/dicom/dicom-writer.ts';
import dicomParser from 'dicom-parser';
import { scanElements } from '../../src/main/dicom/element-scan.ts';
import type { ElementSyntax } from '../../src/main/dicom/element-scan.ts';
import { MAX_FRAME_BYTES, MAX_INSTANCE_BYTES, TS } from '../../src/main/dicom/header.ts';
import { readHeader } from '../../src/main/dicom/read-header.ts';
import { decodeFrame, openPixelSource } from '../../src/main/dicom/pixels.ts';
import { deflateBomb, element, elementFlood, encapsulated, frameOf, part10Meta, smallImageHeader } from '../fixtures/hostile.ts';
import { SIZE, pattern16 } from '../fixtures/make-fixtures.ts';
import { FIXTURE_DIR, fixtures, tempDir } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const work = tempDir('lightbox-bombs-');
const MB = 2 ** 20;

interface ChildRun { out: { ok?: unknown; threw?: string }; maxRssMB: number; ms: number }

/** Runs `body` (an async function body with header, pixels and writer in scope) in a fresh Node process. */
function inChild(body: string): ChildRun {
  const mod = (p: string): string => JSON.stringify(path.join(ROOT, p));
  const script = `
    const header = await import(${mod('src/main/dicom/read-header.ts')});
    const pixels = await import(${mod('src/main/dicom/pixels.ts')});
    const writer = await import(${mod('src/main/dicom/dicom-writer.ts')});
    const fs = await import('node:fs');
    const t0 = performance.now();
    let out;
    try { out = { ok: await (async () => { ${body} })() }; } catch (e) { out = { threw: String(e?.message ?? e) }; }
    process.stdout.write(JSON.stringify({ out, maxRssMB: process.resourceUsage().maxRSS / 1024, ms: performance.now() - t0 }));`;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000, maxBuffer: 16 * MB });
  return JSON.parse(stdout.slice(stdout.lastIndexOf('{"out"'))) as ChildRun;
}

const q = JSON.stringify;
let baseline: ChildRun;

beforeAll(() => {
  const good = path.join(FIXTURE_DIR, 'syntax/jpeg-ls.dcm');
  baseline = inChild(`const h = header.readHeader(${q(good)}); await pixels.decodeFrame(pixels.openPixelSource(${q(good)}), 0); return h.kind;`);
  expect(baseline.out.ok).toBe('dicom');
});

/** Peak memory above the benign run, in MB. */
const growth = (r: ChildRun): number => r.maxRssMB - baseline.maxRssMB;

describe('decoded size is bounded before any codec runs', () => {
  it('documents its limits', () => {
    expect(MAX_FRAME_BYTES).toBe(256 * MB);
    expect(MAX_INSTANCE_BYTES).toBe(2 * 1024 * MB);
  });

  it('a JPEG-LS frame whose header and SOF both claim 16384×16384 is refused at import and at decode', () => {
    // A real 64×64 stream with its SOF (and the DICOM header) saying 16384×16384: 512 MB once decoded.
    const stream = Buffer.from(frameOf(fs.readFileSync(path.join(FIXTURE_DIR, 'syntax/jpeg-ls.dcm'))));
    const sof = stream.indexOf(Buffer.from([0xff, 0xf7]));
    stream.writeUInt16BE(16384, sof + 5);
    stream.writeUInt16BE(16384, sof + 7);
    const file = path.join(work, 'huge-frame-jls.dcm');
    const pixel = { ...pixelModule({ rows: SIZE, columns: SIZE, pixels: pattern16(), bitsStored: 12 }), Rows: 16384, Columns: 16384 };
    fs.writeFileSync(file, encapsulated('huge-frame', '1.2.840.10008.1.2.4.80', stream, pixel));
    const h = readHeader(file);
    expect(h.kind === 'rejected' && h.reason).toMatch(/frame of 16384×16384×1×16 bits decodes to 512 MB, over the 256 MB limit per frame/);
    const r = inChild(`return (await pixels.decodeFrame(pixels.openPixelSource(${q(file)}), 0)).rows;`);
    expect(r.out.threw).toMatch(/^decode: .*huge-frame-jls\.dcm: .*decodes to 512 MB, over the 256 MB limit per frame/);
    expect(growth(r)).toBeLessThan(300);
  });

  it('1000 frames of 2048×2048 (8 GB decoded, a 30 KB file) are refused at import and at decode', async () => {
    const stream = frameOf(fs.readFileSync(path.join(FIXTURE_DIR, 'syntax/jpeg-ls.dcm')));
    const pixel = { ...pixelModule({ rows: SIZE, columns: SIZE, pixels: pattern16(), bitsStored: 12 }), Rows: 2048, Columns: 2048, NumberOfFrames: '1000' };
    const file = path.join(work, 'many-frames.dcm');
    fs.writeFileSync(file, encapsulated('many-frames', '1.2.840.10008.1.2.4.80', stream, pixel));
    const h = readHeader(file);
    expect(h.kind === 'rejected' && h.reason).toMatch(/1000 frames of 2048×2048×1×16 bits decode to 8000 MB, over the 2048 MB limit per instance/);
    await expect(async () => decodeFrame(openPixelSource(file), 0)).rejects.toThrow(/^decode: .*many-frames\.dcm: 1000 frames .* over the 2048 MB limit per instance/);
  });

  it('RLE segment offsets outside the frame or out of order are refused before decoding', async () => {
    const rle = fs.readFileSync(path.join(FIXTURE_DIR, 'syntax/rle.dcm'));
    const frame = frameOf(rle);
    const cases: [string, (h: Buffer) => void, RegExp][] = [
      ['outside', (h) => h.writeUInt32LE(frame.length + 1000, 8), /RLE segment 2 starts at byte \d+, past the end of the \d+-byte frame/],
      ['out-of-order', (h) => h.writeUInt32LE(h.readUInt32LE(8) + 10, 4), /RLE segment 2 starts at byte \d+, not after segment 1 \(at byte \d+\)/],
      ['too-many', (h) => h.writeUInt32LE(16, 0), /RLE header lists 16 segments; at most 15 are allowed/],
    ];
    const { withFrame } = await import('../fixtures/hostile.ts');
    for (const [name, damage, reason] of cases) {
      const file = path.join(work, `rle-${name}.dcm`);
      fs.writeFileSync(file, withFrame(rle, (f) => {
        const c = Buffer.from(f);
        damage(c);
        return c;
      }));
      await expect(decodeFrame(openPixelSource(file), 0), name).rejects.toThrow(reason);
    }
  });
});

describe('deflated data sets inflate within a bound', () => {
  const file = path.join(work, 'deflate-bomb.dcm');
  beforeAll(() => {
    fs.writeFileSync(file, deflateBomb('deflate-bomb', 1100 * MB));
  });

  it('the bomb file is small', () => {
    expect(fs.statSync(file).size).toBeLessThan(2 * MB);
  });

  it('reading its header for import stays small', () => {
    const r = inChild(`const h = header.readHeader(${q(file)}); return h.kind === 'rejected' ? h.reason : h.kind;`);
    expect(r.out.threw).toBeUndefined();
    expect(growth(r)).toBeLessThan(300);
  });

  it('decoding refuses it: it inflates past what its header accounts for', () => {
    const r = inChild(`return (await pixels.decodeFrame(pixels.openPixelSource(${q(file)}), 0)).rows;`);
    expect(r.out.threw).toMatch(/^decode: .*deflate-bomb\.dcm: deflated data set inflates past \d+ MB .*; refused/);
    expect(growth(r)).toBeLessThan(300);
  });

  it('serving it to the viewer refuses it the same way', () => {
    const r = inChild(`return writer.inflateDataSet(fs.readFileSync(${q(file)})).length;`);
    expect(r.out.threw).toMatch(/deflated data set inflates past \d+ MB .*; refused/);
    expect(growth(r)).toBeLessThan(300);
  });
});

describe('headers are bounded in elements', () => {
  const file = path.join(work, 'element-flood.dcm');
  beforeAll(() => {
    fs.writeFileSync(file, elementFlood('element-flood', 7_800_000));
  });

  it('a 60 MB header of 7.8 million empty private elements is refused at import, quickly and in little memory', () => {
    expect(fs.statSync(file).size).toBeGreaterThan(60_000_000);
    const r = inChild(`const h = header.readHeader(${q(file)}); return h.kind === 'rejected' ? h.reason : h.kind;`);
    expect(r.out.ok).toMatch(/data set has more than 500000 elements \(element 500001 starts at byte \d+\); refused/);
    expect(growth(r)).toBeLessThan(300);
  });

  it('and when opened for decoding', () => {
    const r = inChild(`return (await pixels.decodeFrame(pixels.openPixelSource(${q(file)}), 0)).rows;`);
    expect(r.out.threw).toMatch(/^decode: .*element-flood\.dcm: data set has more than 500000 elements/);
    expect(growth(r)).toBeLessThan(300);
  });
});

describe('the element walk follows the structure dicom-parser parses', () => {
  /** Elements, items and fragments dicom-parser made (the file meta group aside). */
  function parsed(ds: dicomParser.DataSet, top = true): number {
    let n = 0;
    for (const [tag, el] of Object.entries(ds.elements)) {
      if (top && tag.startsWith('x0002')) continue;
      n += 1 + (el.fragments?.length ?? 0) + (el.basicOffsetTable ? 1 : 0);
      for (const item of el.items ?? []) n += 1 + (item.dataSet ? parsed(item.dataSet, false) : 0);
    }
    return n;
  }

  const dir = tempDir('lightbox-walk-');
  const nested = path.join(dir, 'nested.dcm');
  writeDicom(nested, {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.7', SOPInstanceUID: uidFrom('walk'), StudyInstanceUID: uidFrom('walk:st'), SeriesInstanceUID: uidFrom('walk:se'),
    ReferencedSeriesSequence: [1, 2].map((k) => ({
      SeriesInstanceUID: uidFrom(`walk:${k}`),
      ReferencedInstanceSequence: [1, 2, 3].map((j) => ({ ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.7', ReferencedSOPInstanceUID: uidFrom(`walk:${k}:${j}`) })),
    })),
  });
  const variants: [string, string[]][] = [['explicit, defined lengths', ['+te', '+e']], ['explicit, undefined lengths', ['+te', '-e']], ['implicit, defined lengths', ['+ti', '+e']], ['implicit, undefined lengths', ['+ti', '-e']], ['big endian', ['+tb', '-e']]];
  const files = [
    ...variants.map(([name, args]) => {
      const out = path.join(dir, `${name.replace(/\W+/g, '-')}.dcm`);
      execFileSync('dcmconv', [...args, nested, out]);
      return out;
    }),
    ...fixtures().filter((f) => f.expect === 'image' && f.transferSyntax !== TS.deflatedLE).map((f) => path.join(FIXTURE_DIR, f.file)),
  ];

  for (const file of files) {
    it(path.basename(file), () => {
      const b = fs.readFileSync(file);
      const ds = dicomParser.parseDicom(b);
      const ts = ds.string('x00020010')!.replace(/\0/g, '');
      const syntax: ElementSyntax = ts === TS.implicitLE ? 'implicit-le' : ts === TS.explicitBE ? 'explicit-be' : 'explicit-le';
      const meta = dicomParser.readPart10Header(b);
      const start = Math.max(...Object.values(meta.elements).map((e) => e.dataOffset + e.length));
      const r = scanElements(b, start, syntax, 1e9, false);
      const n = parsed(ds);
      expect(r.ranOut ?? false).toBe(false);
      // The walk also counts delimiters, which dicom-parser keeps no object for.
      expect(r.count).toBeGreaterThanOrEqual(n);
      expect(r.count).toBeLessThanOrEqual(2 * n + 2);
    });
  }

  it('elements nested in an undefined-length sequence count too', () => {
    const flood = Buffer.alloc(600_000 * 8);
    for (let i = 0; i < 600_000; i++) {
      flood.writeUInt16LE(0x0029 + 2 * Math.floor(i / 0xf000), i * 8);
      flood.writeUInt16LE(0x1000 + (i % 0xf000), i * 8 + 2);
      flood.write('LO', i * 8 + 4, 'latin1');
    }
    const item = (elem: number, length: number): Buffer => {
      const h = Buffer.alloc(8);
      h.writeUInt16LE(0xfffe, 0);
      h.writeUInt16LE(elem, 2);
      h.writeUInt32LE(length, 4);
      return h;
    };
    const file = path.join(dir, 'nested-flood.dcm');
    fs.writeFileSync(file, Buffer.concat([
      part10Meta('1.2.840.10008.1.2.1', uidFrom('nested-flood')), smallImageHeader('nested-flood'),
      element(0x0040, 0xa730, 'SQ', 0xffffffff), item(0xe000, 0xffffffff), flood, item(0xe00d, 0), item(0xe0dd, 0),
      element(0x7fe0, 0x0010, 'OW', Buffer.alloc(SIZE * SIZE * 2)),
    ]));
    const h = readHeader(file);
    expect(h.kind === 'rejected' && h.reason).toMatch(/data set has more than 500000 elements/);
  });
});
