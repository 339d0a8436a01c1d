// pydicom's real-world test files and their reference decoding (GDCM, and dcmtk for JPEG), shared by the
// decoder's unit test and the viewer's e2e test.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './helpers.ts';

export interface RefFrame { colour: boolean; mean: number[]; std: number[]; min: number; max: number }
export type Ref = ({ frames: RefFrame[]; decoder: string; lossless: boolean; dcmtk: RefFrame[] | null } | { error: string } | { notImage: true }) & { sop: string };

/**
 * Files GDCM reads that Lightbox refuses at import, and why that is right. SC_rgb_jpeg.dcm's data set has elements
 * with VR "  " and "VE" (dcmtk's dcmdump reports them): the file is damaged, and refusing it names the fault.
 */
export const REFUSED_AT_IMPORT: Record<string, RegExp> = { 'SC_rgb_jpeg.dcm': /malformed DICOM/ };

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.resolve(import.meta.dirname, 'fixtures/reference_pixels.py');

/** The files (Debian's python3-pydicom ships them; .ci/run installs it with numpy and libgdcm-tools). */
export function realWorldFiles(): string[] {
  const dir = execFileSync(PYTHON, ['-c', 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))'], { encoding: 'utf8' }).trim();
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(dir, f));
  if (files.length < 40) throw new Error(`expected pydicom's test files in ${dir}; install python3-pydicom`);
  return files;
}

/** Reference statistics per file, by path. */
export function referencePixels(files: string[]): Record<string, Ref> {
  return JSON.parse(execFileSync(PYTHON, [SCRIPT, tempDir('lightbox-real-world-ref-'), ...files], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] })) as Record<string, Ref>;
}

/** What a decoded or drawn frame holds: modality values (greyscale) or RGB 0..255 (colour), summarised. */
export interface FrameStats { colour: boolean; mean: number[]; std: number[]; min: number; max: number; canvasStd?: number | null }

/** How a decoded or drawn frame differs from a reference decoding (nothing when it matches). */
export function mismatch(d: FrameStats, ref: RefFrame, who: string): string[] {
  if (d.colour !== ref.colour) return [`drawn as ${d.colour ? 'colour' : 'greyscale'}, ${who} reads ${ref.colour ? 'colour' : 'greyscale'}`];
  const out: string[] = [];
  const range = Math.max(1, ref.max - ref.min);
  const tol = d.colour ? 2.5 : 0.01 * range + 0.5;
  for (let c = 0; c < ref.mean.length; c++) {
    if (Math.abs(d.mean[c]! - ref.mean[c]!) > tol) out.push(`mean ${d.mean[c]!.toFixed(2)} vs ${who} ${ref.mean[c]!.toFixed(2)} (channel ${c})`);
    if (Math.abs(d.std[c]! - ref.std[c]!) > 2 * tol) out.push(`std ${d.std[c]!.toFixed(2)} vs ${who} ${ref.std[c]!.toFixed(2)} (channel ${c})`);
  }
  if (Math.abs(d.min - ref.min) > 2 * tol || Math.abs(d.max - ref.max) > 2 * tol) out.push(`range ${d.min}..${d.max} vs ${who} ${ref.min}..${ref.max}`);
  if (ref.std.some((v) => v > 0) && d.canvasStd != null && d.canvasStd < 0.5) out.push(`the canvas is blank (grey-level spread ${d.canvasStd.toFixed(2)})`);
  return out;
}


/**
 * JPEG files whose stream and header disagree on the colour model, where dcmtk's decoding (dcmdjpeg +cg: the model
 * from the stream's markers) is the reference and GDCM's (which trusts the header) is not, with why.
 */
export const DCMTK_DECIDES: Record<string, string> = {
  'SC_rgb_jpeg_lossy_gdcm.dcm': 'the header says RGB, but the stream\'s component ids are 1,2,3 (YCbCr, as JFIF has them); GDCM trusts the header and draws the colour bars with the wrong colours',
};

/** The problems with a decoded or drawn frame against its reference (GDCM's, or dcmtk's where it decides). */
export function compare(file: string, frame: number, s: FrameStats, refs: Record<string, Ref>): string[] {
  const ref = refs[file];
  if (!ref || !('frames' in ref)) return [`decoded, but no reference decoder reads it (${ref && 'error' in ref ? ref.error : 'no reference'}): unverified`];
  const dcmtk = DCMTK_DECIDES[path.basename(file)] ? ref.dcmtk?.[frame] : undefined;
  return dcmtk ? mismatch(s, dcmtk, 'dcmtk') : mismatch(s, ref.frames[frame]!, 'GDCM');
}
