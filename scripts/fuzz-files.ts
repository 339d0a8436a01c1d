// npm run test:fuzz — the long file fuzz run (default 10,000 files, seeded): see scripts/fuzz/file-fuzz.ts.
// Ends with one JSON line of figures; exits 1 if any file crashed, hung, gave wrong data or went unaccounted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeFixtures } from '../test/fixtures/make-fixtures.ts';
import { runFileFuzz } from './fuzz/file-fuzz.ts';
import { numberArg } from './bench-data.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-fuzz-'));
const fixtureDir = path.join(work, 'fixtures');
const fixtures = makeFixtures(fixtureDir).filter((f) => f.expect === 'image').map((f) => path.join(fixtureDir, f.file));
const report = await runFileFuzz({
  files: numberArg('files', 10_000),
  seed: numberArg('seed', 1),
  sources: fixtures,
  bombs: { deflatedMb: 900, headerElements: 7_800_000, side: 16384 },
  workDir: work,
  log: (s) => process.stderr.write(`${s}\n`),
});
for (const p of report.problems.slice(0, 100)) process.stderr.write(`${p.kind}: ${p.file}: ${p.detail}\n`);
const count = (k: string): number => report.problems.filter((p) => p.kind === k).length;
process.stdout.write(`${JSON.stringify({
  name: 'fuzz-files', files: report.files, decoded: report.decoded, decodeErrors: report.decodeErrors, imported: report.imported,
  rejected: report.rejected, embedded: report.embedded, embedFailed: report.embedFailed,
  crashes: count('crash'), hangs: count('hang'), wrongData: count('wrong-data'), unaccounted: count('unaccounted'), noReason: count('no-reason'), memory: count('memory'),
  peakRssMb: report.peakRssMb, seconds: Math.round(report.seconds), unit: 'count',
})}\n`);
process.exit(report.problems.length ? 1 : 0);
