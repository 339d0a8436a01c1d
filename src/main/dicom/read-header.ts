// One file's header as an index record (patient, study, series, instance), or why it is not one.
import type { InstanceRecord } from '../project/project-store.ts';
import { UID_RE, num, personName, text, uid, us } from './attributes.ts';
import { DIRECTORY_SOP_CLASS, MAX_FRAMES, TS, UNCOMPRESSED, decodedSizeRefusal, parseDicomFile } from './header.ts';
import type { HeaderResult } from './header.ts';

/**
 * The elements an index record is made of (every tag recordOf reads; a test checks the list against this file),
 * so the fast path keeps only these of a header's elements.
 */
export const INDEX_TAGS: ReadonlySet<number> = new Set([
  0x00020002, 0x00020003, 0x00080005, 0x00080016, 0x00080018, 0x00080020, 0x00080030, 0x00080050, 0x00080060,
  0x00081030, 0x0008103e, 0x00100010, 0x00100020, 0x00100030, 0x00100040, 0x00180015, 0x0020000d, 0x0020000e,
  0x00200010, 0x00200011, 0x00200013, 0x00280002, 0x00280004, 0x00280008, 0x00280010, 0x00280011, 0x00280100,
  0x7fe00010,
]);

/**
 * Reads one file's header into an index record, or says why it is not one. `fast: false` parses the whole header
 * with dicom-parser (the test that the fast path gives the same records).
 */
export function readHeader(filePath: string, fast = true): HeaderResult {
  if (!fast) return recordOf(parseDicomFile(filePath));
  const r = recordOf(parseDicomFile(filePath, { indexTags: INDEX_TAGS }));
  // A refusal is rare and should say what a full parse says: the file gets one.
  return r.kind === 'dicom' ? r : recordOf(parseDicomFile(filePath));
}

function recordOf(parsed: ReturnType<typeof parseDicomFile>): HeaderResult {
  if ('notDicom' in parsed) return { kind: 'not-dicom', why: parsed.notDicom };
  if ('rejected' in parsed) return { kind: 'rejected', reason: parsed.rejected };
  const ds = parsed.dataSet;
  const charset = text(ds, 'x00080005');
  const sopClass = uid(ds, 'x00080016') || uid(ds, 'x00020002');
  if (sopClass === DIRECTORY_SOP_CLASS) return { kind: 'not-dicom', why: 'DICOMDIR' };
  const sopUid = uid(ds, 'x00080018') || uid(ds, 'x00020003');
  const studyUid = uid(ds, 'x0020000d');
  const seriesUid = uid(ds, 'x0020000e');
  const required: [string, string, string][] = [
    [sopUid, 'SOPInstanceUID', '(0008,0018)'],
    [studyUid, 'StudyInstanceUID', '(0020,000D)'],
    [seriesUid, 'SeriesInstanceUID', '(0020,000E)'],
  ];
  for (const [v, name, tag] of required) {
    if (!v) return { kind: 'rejected', reason: `missing ${name} ${tag}; the file cannot be placed in a study` };
    if (v.length > 64 || !UID_RE.test(v)) return { kind: 'rejected', reason: `${name} ${tag} is not a valid UID ("${v.slice(0, 70)}")` };
  }
  const ts = parsed.transferSyntax;
  const rows = us(ds, 'x00280010');
  const columns = us(ds, 'x00280011');
  const bitsAllocated = us(ds, 'x00280100');
  const samples = us(ds, 'x00280002') ?? 1;
  const framesText = text(ds, 'x00280008');
  let frames = 1;
  if (framesText) {
    frames = Number(framesText);
    if (!Number.isInteger(frames) || frames < 1 || frames > MAX_FRAMES) {
      return { kind: 'rejected', reason: `NumberOfFrames (0028,0008) is "${framesText.slice(0, 20)}", not a whole number from 1 to ${MAX_FRAMES}` };
    }
  }
  const pixel = ds.elements.x7fe00010;
  const isImage = pixel !== undefined && (rows ?? 0) > 0 && (columns ?? 0) > 0;
  if (pixel && !isImage) return { kind: 'rejected', reason: 'has pixel data but Rows (0028,0010) or Columns (0028,0011) is missing or zero' };
  if (isImage) {
    if (!parsed.pixelDataComplete) {
      return { kind: 'rejected', reason: `truncated at byte ${parsed.fileSize}: pixel data incomplete` };
    }
    if (!bitsAllocated || ![1, 8, 16, 32, 64].includes(bitsAllocated)) {
      return { kind: 'rejected', reason: `BitsAllocated (0028,0100) is ${bitsAllocated ?? 'missing'}; expected 1, 8, 16, 32 or 64` };
    }
    const tooLarge = decodedSizeRefusal(rows!, columns!, frames, samples, bitsAllocated);
    if (tooLarge) return { kind: 'rejected', reason: tooLarge };
    // Native YBR_FULL_422 stores two samples per pixel on average (Y1 Y2 Cb Cr per pair, PS3.3 C.7.6.3.1.2).
    const perPixel = samples === 3 && text(ds, 'x00280004').trim().toUpperCase() === 'YBR_FULL_422' ? 2 : samples;
    const pixels = rows! * columns! * frames * perPixel;
    if (UNCOMPRESSED.has(ts) && ts !== TS.deflatedLE && pixel.length !== 0xffffffff) {
      const needed = Math.ceil((pixels * bitsAllocated) / 8);
      if (pixel.length < needed) {
        return { kind: 'rejected', reason: `pixel data holds ${pixel.length} bytes but Rows×Columns×Frames×SamplesPerPixel×BitsAllocated (two samples per pixel for YBR_FULL_422) needs ${needed}` };
      }
    }
  }
  const record: InstanceRecord = {
    patient: {
      patientId: text(ds, 'x00100020', charset),
      name: personName(text(ds, 'x00100010', charset)),
      birthDate: text(ds, 'x00100030'),
      sex: text(ds, 'x00100040'),
    },
    study: {
      studyUid,
      date: text(ds, 'x00080020'),
      time: text(ds, 'x00080030'),
      description: text(ds, 'x00081030', charset),
      accession: text(ds, 'x00080050', charset),
      studyId: text(ds, 'x00200010', charset),
    },
    series: {
      seriesUid,
      modality: text(ds, 'x00080060'),
      bodyPart: text(ds, 'x00180015', charset),
      description: text(ds, 'x0008103e', charset),
      seriesNumber: num(ds, 'x00200011'),
    },
    instance: {
      sopUid,
      sopClass,
      instanceNumber: num(ds, 'x00200013'),
      rows,
      columns,
      frames: isImage ? frames : 0,
      bitsAllocated,
      photometric: text(ds, 'x00280004'),
      transferSyntax: ts,
      isImage,
    },
  };
  return { kind: 'dicom', record };
}
