// npm run bench:import [-- --count N --rows R]
// Header import rate of uncompressed CT slices against pydicom's dcmread(stop_before_pixels=True) on the same
// files in the same run, and our peak RSS. Prints one JSON line at the end.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { numberArg, writeBenchSlices } from './bench-data.ts';

const arg = numberArg;
const count = arg('count', 20000);
const rows = arg('rows', 512);
const ROOT = path.resolve(import.meta.dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-bench-'));
const data = path.join(work, 'data');

const t0 = performance.now();
writeBenchSlices(data, count, rows);
process.stderr.write(`generated ${count} files in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

// Ours: a fresh process, so its peak RSS is the import's alone.
const ours = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', `
  const { Lightbox } = await import(${JSON.stringify(path.join(ROOT, 'src/main/app.ts'))});
  const app = Lightbox.open(${JSON.stringify(path.join(work, 'project'))}, { create: true });
  const t = performance.now();
  const s = await app.imports.run({ folder: ${JSON.stringify(data)} });
  const secs = (performance.now() - t) / 1000;
  await app.close();
  console.log(JSON.stringify({ secs, instances: s.instances, rejected: s.rejected.length, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
`], { encoding: 'utf8', env: { ...process.env, LIGHTBOX_HOME: work } })) as { secs: number; instances: number; rejected: number; maxRssMb: number };
const oursRate = count / ours.secs;
process.stderr.write(`lightbox: ${ours.instances} instances in ${ours.secs.toFixed(2)} s = ${oursRate.toFixed(0)} files/s, peak RSS ${ours.maxRssMb.toFixed(0)} MB\n`);

// Anchor: pydicom from Debian (python3-pydicom), header only, same files.
let pydicomRate: number | null = null;
try {
  const out = execFileSync('/usr/bin/python3', ['-c', `
import os, sys, time, pydicom
files = [os.path.join(d, f) for d, _, fs in os.walk(sys.argv[1]) for f in fs]
t = time.perf_counter()
for f in files: pydicom.dcmread(f, stop_before_pixels=True)
print(len(files) / (time.perf_counter() - t))
`, data], { encoding: 'utf8' });
  pydicomRate = Number(out.trim());
  process.stderr.write(`pydicom dcmread(stop_before_pixels=True): ${pydicomRate.toFixed(0)} files/s\n`);
} catch (e) {
  process.stderr.write(`pydicom anchor not measured (apt-get install python3-pydicom): ${(e as Error).message.split('\n')[0]}\n`);
}
fs.rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify({
  name: 'import-headers', files: count, rows, value: Math.round(oursRate), unit: 'files/s',
  anchor: pydicomRate === null ? null : { name: 'pydicom dcmread(stop_before_pixels=True)', value: Math.round(pydicomRate), unit: 'files/s' },
  ratio: pydicomRate ? Number((oursRate / pydicomRate).toFixed(2)) : null,
  peakRssMb: Math.round(ours.maxRssMb),
}));
