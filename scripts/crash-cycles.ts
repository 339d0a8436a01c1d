// npm run test:crash — the long crash run (default 120 SIGKILL cycles over labelling, import and embedding, seeded):
// see scripts/crash/crash-harness.ts. Ends with one JSON line; exits 1 if anything acknowledged was lost or broken.
import { runCrashCycles } from './crash/crash-harness.ts';
import { numberArg } from './bench-data.ts';

const r = await runCrashCycles({ cycles: numberArg('cycles', 120), seed: numberArg('seed', 1), log: (s) => process.stderr.write(`${s}\n`) });
for (const p of r.problems.slice(0, 100)) process.stderr.write(`${p}\n`);
process.stdout.write(`${JSON.stringify({
  name: 'crash-cycles', cycles: r.cycles, label: r.byKind.label, import: r.byKind.import, embed: r.byKind.embed,
  acknowledgedLabels: r.acknowledgedLabels, lostLabels: r.lostLabels, integrityFailures: r.integrityFailures,
  replayMismatches: r.replayMismatches, reopenFailures: r.reopenFailures, finalMismatches: r.finalMismatches,
  seconds: Math.round(r.seconds), unit: 'count',
})}\n`);
process.exit(r.problems.length ? 1 : 0);
