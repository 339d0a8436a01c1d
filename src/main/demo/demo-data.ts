// The built-in demo data set: synthetic, PHI-free chest radiographs and chest CT series with visibly different
// classes of findings, generated deterministically from a seed. The class of each image is written to a truth
// file beside the data (never into the DICOM headers), so later labelling demos and simulations can score
// themselves without a model being able to read the answer.
import fs from 'node:fs';
import path from 'node:path';
import { pixelModule, uidFrom, writeDicom } from '../dicom/dicom-writer.ts';
import { mulberry32 } from '../../shared/random.ts';

export { mulberry32 };

export const CXR_CLASSES = ['normal', 'cardiomegaly', 'effusion', 'nodule'] as const;
export const CT_CLASSES = ['normal', 'nodule'] as const;
export type CxrClass = (typeof CXR_CLASSES)[number];

export interface DemoOptions {
  /** How many chest radiographs (default 240). */
  count?: number;
  /** How many CT series (default 4). */
  ctSeries?: number;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DemoTruth {
  generator: string;
  seed: number;
  instances: Record<string, { class: string; kind: 'cxr' | 'ct' }>;
  series: Record<string, { class: string }>;
}

function gauss(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}

const SIZE = 256;
const CT_SIZE = 256;
const CT_SLICES = 24;

/** A chest radiograph-like image: 12-bit values, bright = dense (MONOCHROME2). */
export function renderCxr(cls: CxrClass, rand: () => number): Uint16Array {
  const n = SIZE;
  const img = new Float32Array(n * n);
  const cx = n / 2 + (rand() - 0.5) * 10;
  const lungW = n * (0.17 + rand() * 0.03);
  const lungH = n * (0.3 + rand() * 0.04);
  const lungY = n * 0.45;
  const heartR = n * (cls === 'cardiomegaly' ? 0.2 + rand() * 0.03 : 0.11 + rand() * 0.02);
  const heartX = cx + n * 0.04;
  const heartY = n * 0.6;
  const effSide = rand() < 0.5 ? -1 : 1;
  const effLevel = lungY + lungH * (0.15 + rand() * 0.35);
  const nodules = cls === 'nodule'
    ? Array.from({ length: 1 + Math.floor(rand() * 2) }, () => ({
        x: cx + (rand() < 0.5 ? -1 : 1) * n * (0.12 + rand() * 0.1),
        y: lungY + (rand() - 0.5) * lungH,
        r: n * (0.025 + rand() * 0.02),
      }))
    : [];
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      // Body: soft tissue falling off towards the edges.
      const bx = (x - cx) / (n * 0.46);
      const by = (y - n * 0.55) / (n * 0.6);
      const body = bx * bx + by * by < 1 ? 1 : 0;
      let v = body * 1800;
      for (const side of [-1, 1]) {
        const lx = (x - (cx + side * n * 0.2)) / lungW;
        const ly = (y - lungY) / lungH;
        if (lx * lx + ly * ly < 1) {
          let lung = -1300 * (1 - 0.35 * (lx * lx + ly * ly));
          if (cls === 'effusion' && side === effSide && y > effLevel) lung = -100; // fluid: dense, meniscus
          v += lung;
        }
      }
      const hx = (x - heartX) / heartR;
      const hy = (y - heartY) / (heartR * 0.85);
      if (hx * hx + hy * hy < 1) v = Math.max(v, 1750 + 200 * (1 - hx * hx - hy * hy));
      // Spine and ribs.
      if (Math.abs(x - cx) < n * 0.035 && body) v += 700;
      const ribPhase = ((y + 0.15 * Math.abs(x - cx)) / (n * 0.065)) % 1;
      if (body && Math.abs(x - cx) > n * 0.05 && Math.abs(x - cx) < n * 0.4 && y > n * 0.15 && y < n * 0.8 && ribPhase < 0.18) v += 350;
      for (const nd of nodules) {
        const d = Math.hypot(x - nd.x, y - nd.y) / nd.r;
        if (d < 1) v += 900 * (1 - d * d);
      }
      img[y * n + x] = v;
    }
  }
  const out = new Uint16Array(n * n);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(4095, Math.round(img[i]! + 200 + gauss(rand) * 25)));
  return out;
}

/** One axial chest CT slice in stored values (HU + 1024). */
function renderCtSlice(z: number, hasNodule: boolean, nodule: { x: number; y: number; z: number; r: number }, rand: () => number): Uint16Array {
  const n = CT_SIZE;
  const out = new Uint16Array(n * n);
  const zf = z / (CT_SLICES - 1);
  const lungScale = Math.sin(Math.PI * (0.15 + 0.7 * zf));
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const bx = (x - n / 2) / (n * 0.42);
      const by = (y - n / 2) / (n * 0.3);
      let hu = -1000;
      if (bx * bx + by * by < 1) {
        hu = 40;
        if (bx * bx + by * by > 0.85) hu = -80; // subcutaneous fat
        for (const side of [-1, 1]) {
          const lx = (x - (n / 2 + side * n * 0.2)) / (n * 0.15 * lungScale + 1);
          const ly = (y - n * 0.48) / (n * 0.2 * lungScale + 1);
          if (lx * lx + ly * ly < 1) hu = -850;
        }
        if (Math.hypot(x - n / 2, y - n * 0.72) < n * 0.05) hu = 700; // vertebra
        if (hasNodule && Math.hypot(x - nodule.x, y - nodule.y, (z - nodule.z) * 4) < nodule.r) hu = 30;
      }
      out[y * n + x] = Math.max(0, Math.min(4095, Math.round(hu + 1024 + gauss(rand) * 12)));
    }
  }
  return out;
}

function isoDate(daysFrom2019: number): string {
  const d = new Date(Date.UTC(2019, 0, 1) + daysFrom2019 * 86400000);
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

/** Generates the demo set into `outDir` and returns the truth; skips work already on disk. */
export function generateDemoData(outDir: string, opts: DemoOptions = {}): DemoTruth {
  const count = opts.count ?? 240;
  const ctSeries = opts.ctSeries ?? 4;
  const seed = opts.seed ?? 1;
  const rand = mulberry32(seed);
  const truth: DemoTruth = { generator: 'lightbox demo v1', seed, instances: {}, series: {} };
  const total = count + ctSeries * CT_SLICES;
  let done = 0;
  const common = {
    SpecificCharacterSet: 'ISO_IR 192',
    Manufacturer: 'Lightbox synthetic demo',
    InstitutionName: 'Synthetic Data (no patient data)',
    PatientIdentityRemoved: 'YES',
    BurnedInAnnotation: 'NO',
  };
  let patient = 0;
  for (let i = 0; i < count; i++) {
    // Every fifth patient comes back for a follow-up study.
    if (i % 6 !== 5) patient++;
    const cls = CXR_CLASSES[Math.floor(rand() * CXR_CLASSES.length)]!;
    const pid = `DEMO${String(patient).padStart(4, '0')}`;
    const studyUid = uidFrom(`demo:${seed}:cxr-study:${i}`);
    const seriesUid = uidFrom(`demo:${seed}:cxr-series:${i}`);
    const sopUid = uidFrom(`demo:${seed}:cxr-image:${i}`);
    const pixels = renderCxr(cls, rand);
    const date = isoDate(Math.floor(rand() * 5 * 365));
    const file = path.join(outDir, 'cxr', pid, `${i}.dcm`);
    truth.instances[sopUid] = { class: cls, kind: 'cxr' };
    if (!fs.existsSync(file)) {
      writeDicom(file, {
        ...common,
        SOPClassUID: '1.2.840.10008.5.1.4.1.1.1.1', // Digital X-Ray Image Storage - For Presentation
        SOPInstanceUID: sopUid,
        StudyInstanceUID: studyUid,
        SeriesInstanceUID: seriesUid,
        PatientName: `Demo^Patient${String(patient).padStart(4, '0')}`,
        PatientID: pid,
        PatientBirthDate: isoDate(-365 * (30 + Math.floor(rand() * 50))),
        PatientSex: rand() < 0.5 ? 'F' : 'M',
        StudyDate: date,
        StudyTime: '101500',
        SeriesDate: date,
        AccessionNumber: `ACC${String(i).padStart(6, '0')}`,
        StudyID: String(i),
        StudyDescription: 'XR CHEST PA',
        SeriesDescription: 'PA',
        SeriesNumber: '1',
        InstanceNumber: '1',
        Modality: 'DX',
        BodyPartExamined: 'CHEST',
        ViewPosition: 'PA',
        PresentationIntentType: 'FOR PRESENTATION',
        ImageType: ['DERIVED', 'PRIMARY'],
        PixelSpacing: ['0.7', '0.7'],
        ImagerPixelSpacing: ['0.7', '0.7'],
        WindowCenter: '1700',
        WindowWidth: '3000',
        ...pixelModule({ rows: SIZE, columns: SIZE, pixels, bitsStored: 12 }),
      });
    }
    opts.onProgress?.(++done, total);
  }
  for (let s = 0; s < ctSeries; s++) {
    const cls = s % 2 === 0 ? 'nodule' : 'normal';
    const pid = `DEMOCT${String(s + 1).padStart(2, '0')}`;
    const studyUid = uidFrom(`demo:${seed}:ct-study:${s}`);
    const seriesUid = uidFrom(`demo:${seed}:ct-series:${s}`);
    truth.series[seriesUid] = { class: cls };
    const nodule = { x: CT_SIZE * (0.3 + rand() * 0.4), y: CT_SIZE * (0.4 + rand() * 0.15), z: CT_SLICES * (0.3 + rand() * 0.4), r: 7 + rand() * 5 };
    const date = isoDate(Math.floor(rand() * 5 * 365));
    for (let z = 0; z < CT_SLICES; z++) {
      const sopUid = uidFrom(`demo:${seed}:ct-image:${s}:${z}`);
      truth.instances[sopUid] = { class: cls, kind: 'ct' };
      const file = path.join(outDir, 'ct', pid, `${String(z + 1).padStart(3, '0')}.dcm`);
      const pixels = renderCtSlice(z, cls === 'nodule', nodule, rand);
      if (!fs.existsSync(file)) {
        writeDicom(file, {
          ...common,
          SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', // CT Image Storage
          SOPInstanceUID: sopUid,
          StudyInstanceUID: studyUid,
          SeriesInstanceUID: seriesUid,
          FrameOfReferenceUID: uidFrom(`demo:${seed}:ct-for:${s}`),
          PatientName: `Demo^CT${String(s + 1).padStart(2, '0')}`,
          PatientID: pid,
          PatientBirthDate: '19600101',
          PatientSex: s % 2 ? 'F' : 'M',
          StudyDate: date,
          StudyTime: '141000',
          AccessionNumber: `ACCCT${String(s).padStart(4, '0')}`,
          StudyDescription: 'CT CHEST',
          SeriesDescription: 'Axial 5mm',
          SeriesNumber: '2',
          InstanceNumber: String(z + 1),
          Modality: 'CT',
          BodyPartExamined: 'CHEST',
          ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
          SliceThickness: '5',
          ImagePositionPatient: ['-179.2', '-179.2', String(-z * 5)],
          ImageOrientationPatient: ['1', '0', '0', '0', '1', '0'],
          PixelSpacing: ['1.4', '1.4'],
          RescaleIntercept: '-1024',
          RescaleSlope: '1',
          RescaleType: 'HU',
          WindowCenter: '-600',
          WindowWidth: '1500',
          ...pixelModule({ rows: CT_SIZE, columns: CT_SIZE, pixels, bitsStored: 12 }),
        });
      }
      opts.onProgress?.(++done, total);
    }
  }
  return truth;
}

/** Generates the demo set under `<projectDir>/demo-data` and writes `<projectDir>/demo-truth.json`. */
export function generateDemoProjectData(projectDir: string, opts: DemoOptions = {}): { dataDir: string; truth: DemoTruth } {
  const dataDir = path.join(projectDir, 'demo-data');
  const truth = generateDemoData(dataDir, opts);
  fs.writeFileSync(path.join(projectDir, 'demo-truth.json'), JSON.stringify(truth, null, 1));
  return { dataDir, truth };
}
