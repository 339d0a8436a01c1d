// Writes DICOM Part 10 files with dcmjs. Used for the demo data set and test fixtures (never for source files).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import dcmjs from 'dcmjs';
import dicomParser from 'dicom-parser';
import { LightboxError } from '../../shared/contract.ts';
import { inflateDeflatedFile } from './header.ts';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

/** Our implementation class UID (under 2.25, derived from a fixed name). */
export const IMPLEMENTATION_CLASS_UID = uidFrom('lightbox implementation class');

/** A stable UID under the 2.25 (UUID-derived) root: the same seed always gives the same UID. */
export function uidFrom(seed: string): string {
  const h = crypto.createHash('sha256').update(seed).digest();
  return `2.25.${BigInt(`0x${h.subarray(0, 16).toString('hex')}`).toString(10)}`;
}

export type NaturalDataset = Record<string, unknown>;

const EXPLICIT_LE = '1.2.840.10008.1.2.1';

function fileMeta(sopClass: unknown, sopInstance: unknown, transferSyntax: string): InstanceType<typeof DicomDict> {
  return new DicomDict(DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClass,
    MediaStorageSOPInstanceUID: sopInstance,
    TransferSyntaxUID: transferSyntax,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: 'LIGHTBOX_0_1',
  }));
}

/** Serialises a naturalized data set (dcmjs keywords) with explicit VR little endian and its file meta header. */
export function encodeDicom(dataset: NaturalDataset, transferSyntax = EXPLICIT_LE): Buffer {
  const dict = fileMeta(dataset.SOPClassUID, dataset.SOPInstanceUID, transferSyntax);
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write());
}

export function writeDicom(file: string, dataset: NaturalDataset): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, encodeDicom(dataset));
}

export interface PixelModule {
  rows: number;
  columns: number;
  pixels: Uint16Array | Int16Array | Uint8Array;
  samplesPerPixel?: number;
  photometric?: string;
  bitsStored?: number;
  frames?: number;
}

/** The Image Pixel module attributes for a data set, with pixel data as OW (16-bit) or OB (8-bit). */
export function pixelModule(p: PixelModule): NaturalDataset {
  const bits = p.pixels instanceof Uint8Array ? 8 : 16;
  const signed = p.pixels instanceof Int16Array;
  const stored = p.bitsStored ?? bits;
  const ds: NaturalDataset = {
    Rows: p.rows,
    Columns: p.columns,
    SamplesPerPixel: p.samplesPerPixel ?? 1,
    PhotometricInterpretation: p.photometric ?? 'MONOCHROME2',
    BitsAllocated: bits,
    BitsStored: stored,
    HighBit: stored - 1,
    PixelRepresentation: signed ? 1 : 0,
    PixelData: p.pixels.buffer.slice(p.pixels.byteOffset, p.pixels.byteOffset + p.pixels.byteLength),
    _vrMap: { PixelData: bits === 8 ? 'OB' : 'OW' },
  };
  if ((p.samplesPerPixel ?? 1) > 1) ds.PlanarConfiguration = 0;
  if (p.frames !== undefined) ds.NumberOfFrames = String(p.frames);
  return ds;
}

/**
 * Re-encodes a deflated Part 10 file as explicit VR little endian: the inflated data set behind a new file meta
 * header naming the new syntax. Inflation is bounded as for reading (no further than the header accounts for), so
 * a hostile file cannot exhaust memory.
 */
export function inflateDataSet(file: Buffer): Buffer {
  const inflated = inflateDeflatedFile(file);
  if ('refused' in inflated) throw new LightboxError('io', inflated.refused);
  const meta = dicomParser.readPart10Header(Buffer.from(inflated.meta));
  const header = fileMeta(meta.string('x00020002'), meta.string('x00020003'), EXPLICIT_LE);
  header.dict = {};
  return Buffer.concat([Buffer.from(header.write()), inflated.body]);
}
