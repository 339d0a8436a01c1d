// Deflated Explicit VR Little Endian files made by dcmtk (dcmconv +td) from the fixtures import, decode to the
// same pixels as their sources and are served to the viewer inflated (issue 16: a deflated palette image was
// rejected as "truncated at byte 845", its inflated offsets compared with the compressed file's size).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { inflateDataSet } from '../../src/main/dicom/dicom-writer.ts';
import { TS } from '../../src/main/dicom/header.ts';
import { readHeader } from '../../src/main/dicom/read-header.ts';
import { decodeFrame, openPixelSource } from '../../src/main/dicom/pixels.ts';
import type { DecodedFrame } from '../../src/main/dicom/pixels.ts';
import { FIXTURE_DIR, tempDir } from '../helpers.ts';

const sources = ['photometric/palette.dcm', 'photometric/rgb.dcm', 'photometric/monochrome1.dcm', 'multiframe/three-frames.dcm', 'syntax/explicit-le.dcm'];
const bytesOf = (f: DecodedFrame): Buffer => Buffer.from(f.samples.buffer, f.samples.byteOffset, f.samples.byteLength);

describe('deflated files made by dcmconv +td', () => {
  const dir = tempDir('lightbox-deflated-');
  const servedDir = tempDir('lightbox-served-');
  const made = sources.map((s) => {
    const out = path.join(dir, s.replace(/\//g, '-'));
    execFileSync('dcmconv', ['+td', path.join(FIXTURE_DIR, s), out]);
    return { src: path.join(FIXTURE_DIR, s), file: out };
  });

  for (const { src, file } of made) {
    it(`${path.basename(file)} is indexed and decodes to its source's pixels, inflated or served`, async () => {
      const h = readHeader(file);
      expect(h.kind === 'rejected' ? h.reason : h.kind).toBe('dicom');
      if (h.kind === 'dicom') expect(h.record.instance.transferSyntax).toBe(TS.deflatedLE);
      // What the viewer is sent: the data set inflated behind a new header. dcmtk must read it too.
      const served = path.join(servedDir, path.basename(file));
      fs.writeFileSync(served, inflateDataSet(fs.readFileSync(file)));
      execFileSync('dcmdump', ['-q', served], { stdio: 'ignore' });
      const ref = openPixelSource(src);
      for (const candidate of [file, served]) {
        const ours = openPixelSource(candidate);
        expect(ours.frames).toBe(ref.frames);
        for (let k = 0; k < ref.frames; k++) {
          const a = await decodeFrame(ours, k);
          const b = await decodeFrame(ref, k);
          expect(bytesOf(a).equals(bytesOf(b)), `${path.basename(candidate)} frame ${k + 1}`).toBe(true);
          expect(a.palette !== null).toBe(b.palette !== null);
        }
      }
    });
  }

  it('import indexes all of them and the instance route serves them inflated', async () => {
    const project = tempDir();
    const app = Lightbox.open(project, { create: true });
    try {
      const summary = await app.imports.run({ folder: dir });
      expect(summary.rejected).toEqual([]);
      const db = new Database(path.join(project, 'lightbox.db'), { readonly: true });
      const rows = db.prepare('SELECT i.id AS id, f.path AS path FROM instances i JOIN files f ON f.id = i.file_pk').all() as { id: number; path: string }[];
      db.close();
      expect(rows.length).toBe(made.length);
      for (const r of rows) {
        const { stream, size } = app.openInstance(r.id);
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(c as Buffer);
        const body = Buffer.concat(chunks);
        expect(body.length).toBe(size);
        const served = path.join(tempDir(), 'served.dcm');
        fs.writeFileSync(served, body);
        const a = await decodeFrame(openPixelSource(served), 0);
        const b = await decodeFrame(openPixelSource(r.path), 0);
        expect(bytesOf(a).equals(bytesOf(b)), r.path).toBe(true);
      }
    } finally {
      await app.close();
    }
  });
});
