// Benchmark inputs and command-line arguments. Inputs: `count` uncompressed CT slices of rows×rows, 200 per
// series, written fast by patching the UIDs of one template file in place (same length, 2.25 root). The pixels are
// a smooth body-like phantom with noise, identical in every file (content does not change decode or inference cost).
import fs from 'node:fs';
import path from 'node:path';
import { encodeDicom, pixelModule, uidFrom } from '../src/main/dicom/dicom-writer.ts';

export function writeBenchSlices(data: string, count: number, rows: number): void {
  const U = (s: string): string => uidFrom(s).padEnd(64, '9').slice(0, 64).replace(/\.$/, '9');
  const pixels = new Uint16Array(rows * rows);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < rows; x++) {
      const r = Math.hypot(x / rows - 0.5, (y / rows - 0.5) * 1.4);
      pixels[y * rows + x] = (r < 0.42 ? 1064 : 24) + (r < 0.2 ? -700 : 0) + ((x * 7919 + y * 104729) % 37);
    }
  }
  const template = encodeDicom({
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', SOPInstanceUID: U('sop'), StudyInstanceUID: U('study'), SeriesInstanceUID: U('series'),
    PatientName: 'Bench^Patient', PatientID: 'BENCH0000', StudyDate: '20240101', Modality: 'CT', SeriesNumber: '1', InstanceNumber: '1',
    RescaleIntercept: '-1024', RescaleSlope: '1', WindowCenter: '40', WindowWidth: '400',
    ...pixelModule({ rows, columns: rows, pixels, bitsStored: 12 }),
  });
  const all = (s: string): number[] => {
    const out: number[] = [];
    for (let i = template.indexOf(Buffer.from(s)); i >= 0; i = template.indexOf(Buffer.from(s), i + 1)) out.push(i);
    return out;
  };
  const at = (s: string): number => template.indexOf(Buffer.from(s));
  const offsets = { sop: all(U('sop')), study: at(U('study')), series: at(U('series')), pid: at('BENCH0000') };
  fs.mkdirSync(data, { recursive: true });
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
}

/** The value after `--name` on a benchmark's command line, or the fallback. */
export function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

export const numberArg = (name: string, fallback: number): number => Number(argValue(name, String(fallback)));
