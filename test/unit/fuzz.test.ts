// A small seeded run of the file fuzz harness (the long one is `npm run test:fuzz`): mutated fixtures and the
// audit's hostile shapes must each end decoded or refused with a reason, imported or rejected with a reason,
// embedded or failed with a reason — no crash, no hang, no file decoded to another file's pixels.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFileFuzz } from '../../scripts/fuzz/file-fuzz.ts';
import { FIXTURE_DIR, fixtures } from '../helpers.ts';

describe('file fuzz (small run)', () => {
  it('every mutated file ends decoded, imported and embedded, or refused with a reason', async () => {
    const sources = fixtures().filter((f) => f.expect === 'image').map((f) => path.join(FIXTURE_DIR, f.file));
    const r = await runFileFuzz({ files: 150, seed: 7, sources, bombs: { deflatedMb: 300, headerElements: 400_000, side: 16384 }, commandTimeoutS: 240 });
    expect(r.problems).toEqual([]);
    expect(r.files).toBe(150);
    expect(r.decoded).toBeGreaterThan(0);
    expect(r.decodeErrors).toBeGreaterThan(0);
  }, 600_000);
});
