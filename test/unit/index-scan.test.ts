// The index's fast header path (index-scan.ts) gives the same record or the same verdict as a full dicom-parser
// parse, on every real-world file and every fixture, valid or damaged.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INDEX_TAGS, readHeader } from '../../src/main/dicom/read-header.ts';
import { FIXTURE_DIR } from '../helpers.ts';
import { realWorldFiles } from '../real-world.ts';

describe('index fast path', () => {
  it('reads every real-world file and fixture as the full parse does', () => {
    const files = [...realWorldFiles()];
    for (const d of fs.readdirSync(FIXTURE_DIR, { recursive: true, withFileTypes: true })) if (d.isFile()) files.push(path.join(d.parentPath, d.name));
    expect(files.length).toBeGreaterThan(60);
    let dicom = 0;
    for (const f of files) {
      const fast = readHeader(f);
      expect({ f, r: fast }).toEqual({ f, r: readHeader(f, false) });
      if (fast.kind === 'dicom') dicom++;
    }
    expect(dicom).toBeGreaterThan(50);
  });

  it('keeps every element the index record reads', () => {
    // The fast path keeps only INDEX_TAGS: a tag read by read-header.ts but missing there would read as empty.
    const source = fs.readFileSync(path.join(import.meta.dirname, '../../src/main/dicom/read-header.ts'), 'utf8');
    const read = new Set([...source.matchAll(/'x([0-9a-f]{8})'/g)].map((m) => parseInt(m[1]!, 16)));
    expect(read.size).toBeGreaterThan(20);
    expect([...read].filter((t) => !INDEX_TAGS.has(t))).toEqual([]);
  });
});
