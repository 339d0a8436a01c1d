// npm run bench:import [-- --count N --rows R]
// Header import rate of uncompressed CT slices against pydicom's dcmread(stop_before_pixels=True) on the same
// files in the same run, and our peak RSS. Prints one JSON line at the end.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeDicom, pixelModule, uidFrom } from '../src/main/dicom/dicom-writer.ts';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const count = arg('count', 20000);
const rows = arg('rows', 512);
const ROOT = path.resolve(import.meta.dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-bench-'));
const data = path.join(work, 'data');

// One template file; each copy gets its own SOP/series/study UIDs patched in place (same length, 2.25 root).
const U = (s: string): string => uidFrom(s).padEnd(64, '9').slice(0, 64).replace(/\.$/, '9');
const template = encodeDicom({
  SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', SOPInstanceUID: U('sop'), StudyInstanceUID: U('study'), SeriesInstanceUID: U('series'),
  PatientName: 'Bench^Patient', PatientID: 'BENCH0000', StudyDate: '20240101', Modality: 'CT', SeriesNumber: '1', InstanceNumber: '1',
  RescaleIntercept: '-1024', RescaleSlope: '1', ...pixelModule({ rows, columns: rows, pixels: new Uint16Array(rows * rows).fill(1000), bitsStored: 12 }),
});
const at = (s: string): number => template.indexOf(Buffer.from(s));
const all = (s: string): number[] => {
  const out: number[] = [];
  for (let i = template.indexOf(Buffer.from(s)); i >= 0; i = template.indexOf(Buffer.from(s), i + 1)) out.push(i);
  return out;
};
const offsets = { sop: all(U('sop')), study: at(U('study')), series: at(U('series')), pid: at('BENCH0000') };
fs.mkdirSync(data, { recursive: true });
const t0 = performance.now();
for (let i = 0; i < count; i++) {
  const study = Math.floor(i / 200);
  const buf = Buffer.from(template);
  const id = String(i).padStart(12, '0');
  for (const o of offsets.sop) buf.write(id, o + 52, 'latin1');
  buf.write(String(study).padStart(12, '0'), offsets.study + 52, 'latin1');
  buf.write(String(study).padStart(12, '0'), offsets.series + 52, 'latin1');
  buf.write(String(study % 10000).padStart(4, '0'), offsets.pid + 5, 'latin1');
  const dir = path.join(data, `s${String(study).padStart(4, '0')}`);
  if (i % 200 === 0) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${id}.dcm`), buf);
}
process.stderr.write(`generated ${count} files of ${template.length} bytes in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

// Ours: a fresh process, so its peak RSS is the import's alone.
const ours = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', `
  const { Lightbox } = await import(${JSON.stringify(path.join(ROOT, 'src/main/app.ts'))});
  const { importFolder } = await import(${JSON.stringify(path.join(ROOT, 'src/main/dicom/import-service.ts'))});
  const app = Lightbox.open(${JSON.stringify(path.join(work, 'project'))}, { create: true });
  const t = performance.now();
  const s = await importFolder(app.store, ${JSON.stringify(data)});
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
