// A small seeded run of the crash harness (the long one is `npm run test:crash`): SIGKILL during labelling, import
// and embedding loses no acknowledged label, keeps the database intact and its label state equal to a replay, and
// the interrupted jobs finish with the same index as an uninterrupted import.
import { describe, expect, it } from 'vitest';
import { runCrashCycles } from '../../scripts/crash/crash-harness.ts';

describe('crash harness (small run)', () => {
  it('three SIGKILL cycles lose nothing acknowledged', async () => {
    const r = await runCrashCycles({ cycles: 3, seed: 11, demoImages: 30, importImages: 200 });
    expect(r.problems).toEqual([]);
    expect(r.byKind).toEqual({ label: 1, import: 1, embed: 1 });
    expect(r.acknowledgedLabels).toBeGreaterThan(0);
  }, 300_000);
});
