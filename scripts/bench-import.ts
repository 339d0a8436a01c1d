// npm run bench:import [-- --count N --rows R]
// Header import rate of uncompressed CT slices against pydicom's dcmread(stop_before_pixels=True), GDCM's
// gdcmscanner and a bare open/read/close loop on the same files in the same run, and our peak RSS. Prints one JSON line at the end.
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
// Anchor: GDCM's C++ scanner (Debian's libgdcm-tools) reading the index's tags of the same files, one thread.
let gdcmRate: number | null = null;
try {
  const t = performance.now();
  execFileSync('gdcmscanner', ['-d', data, '-r', '-t', '20,d', '-t', '20,e', '-t', '8,18', '-t', '10,20', '-t', '8,60', '-t', '28,10', '-t', '28,11'], { stdio: ['ignore', 'ignore', 'ignore'], maxBuffer: 1 << 30 });
  gdcmRate = count / ((performance.now() - t) / 1000);
  process.stderr.write(`gdcmscanner: ${gdcmRate.toFixed(0)} files/s\n`);
} catch (e) {
  process.stderr.write(`gdcmscanner anchor not measured (apt-get install libgdcm-tools): ${(e as Error).message.split('\n')[0]}\n`);
}
// Anchor: the floor — open, read 16 KB, close, in Node, no parsing.
const files = fs.readdirSync(data, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
const buf = Buffer.allocUnsafe(16384);
const tb = performance.now();
for (const f of files) { const fd = fs.openSync(f, 'r'); fs.readSync(fd, buf, 0, 16384, 0); fs.closeSync(fd); }
const bareRate = files.length / ((performance.now() - tb) / 1000);
process.stderr.write(`bare open+read 16 KB+close: ${bareRate.toFixed(0)} files/s\n`);
fs.rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify({
  name: 'import-headers', files: count, rows, value: Math.round(oursRate), unit: 'files/s',
  anchor: pydicomRate === null ? null : { name: 'pydicom dcmread(stop_before_pixels=True)', value: Math.round(pydicomRate), unit: 'files/s' },
  ratio: pydicomRate ? Number((oursRate / pydicomRate).toFixed(2)) : null,
  anchors: [
    ...(gdcmRate === null ? [] : [{ name: 'gdcmscanner (one thread)', value: Math.round(gdcmRate), unit: 'files/s' }]),
    { name: 'bare open + read 16 KB + close (Node)', value: Math.round(bareRate), unit: 'files/s' },
  ],
  peakRssMb: Math.round(ours.maxRssMb),
}));
