// Non-image objects read as documents: a structured report's content tree as text (concepts, values, units,
// references), and the key attributes of RT, waveform, encapsulated and other objects, instead of a raw SOP Class UID.
import type { DataSet } from 'dicom-parser';
import { LightboxError } from '../../shared/contract.ts';
import type { DocumentNode, DocumentView } from '../../shared/contract.ts';
import { formatDicomDate, formatDicomTime, formatPersonName } from '../../shared/dicom-format.ts';
import { text, uid, us } from './attributes.ts';
import { parseDicomFile } from './header.ts';

const MAX_NODES = 5000;
const MAX_DEPTH = 64;

/** Names of the non-image SOP classes a workstation meets (PS3.4 Annex B); others show their UID. */
const SOP_CLASS_NAMES: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.88.11': 'Basic Text SR',
  '1.2.840.10008.5.1.4.1.1.88.22': 'Enhanced SR',
  '1.2.840.10008.5.1.4.1.1.88.33': 'Comprehensive SR',
  '1.2.840.10008.5.1.4.1.1.88.34': 'Comprehensive 3D SR',
  '1.2.840.10008.5.1.4.1.1.88.35': 'Extensible SR',
  '1.2.840.10008.5.1.4.1.1.88.40': 'Procedure Log',
  '1.2.840.10008.5.1.4.1.1.88.50': 'Mammography CAD SR',
  '1.2.840.10008.5.1.4.1.1.88.59': 'Key Object Selection Document',
  '1.2.840.10008.5.1.4.1.1.88.65': 'Chest CAD SR',
  '1.2.840.10008.5.1.4.1.1.88.67': 'X-Ray Radiation Dose SR',
  '1.2.840.10008.5.1.4.1.1.88.68': 'Radiopharmaceutical Radiation Dose SR',
  '1.2.840.10008.5.1.4.1.1.88.69': 'Colon CAD SR',
  '1.2.840.10008.5.1.4.1.1.88.71': 'Acquisition Context SR',
  '1.2.840.10008.5.1.4.1.1.88.73': 'Patient Radiation Dose SR',
  '1.2.840.10008.5.1.4.1.1.481.1': 'RT Image',
  '1.2.840.10008.5.1.4.1.1.481.2': 'RT Dose',
  '1.2.840.10008.5.1.4.1.1.481.3': 'RT Structure Set',
  '1.2.840.10008.5.1.4.1.1.481.4': 'RT Beams Treatment Record',
  '1.2.840.10008.5.1.4.1.1.481.5': 'RT Plan',
  '1.2.840.10008.5.1.4.1.1.481.8': 'RT Ion Plan',
  '1.2.840.10008.5.1.4.1.1.9.1.1': '12-lead ECG Waveform',
  '1.2.840.10008.5.1.4.1.1.9.1.2': 'General ECG Waveform',
  '1.2.840.10008.5.1.4.1.1.9.1.3': 'Ambulatory ECG Waveform',
  '1.2.840.10008.5.1.4.1.1.9.2.1': 'Hemodynamic Waveform',
  '1.2.840.10008.5.1.4.1.1.9.4.1': 'Basic Voice Audio Waveform',
  '1.2.840.10008.5.1.4.1.1.104.1': 'Encapsulated PDF',
  '1.2.840.10008.5.1.4.1.1.104.2': 'Encapsulated CDA',
  '1.2.840.10008.5.1.4.1.1.11.1': 'Grayscale Softcopy Presentation State',
  '1.2.840.10008.5.1.4.1.1.66': 'Raw Data',
  '1.2.840.10008.5.1.4.1.1.66.1': 'Spatial Registration',
  '1.2.840.10008.5.1.4.1.1.66.4': 'Segmentation',
  '1.2.840.10008.5.1.4.1.1.7': 'Secondary Capture Image',
};

const items = (ds: DataSet, tag: string): DataSet[] => (ds.elements[tag]?.items ?? []).map((i) => i.dataSet).filter((d): d is DataSet => !!d);

/** A code as people read it: its meaning, with scheme and value. */
function code(ds: DataSet | undefined, charset: string): string {
  if (!ds) return '';
  const meaning = text(ds, 'x00080104', charset);
  const value = text(ds, 'x00080100') || text(ds, 'x00080119') || text(ds, 'x00080120');
  const scheme = text(ds, 'x00080102');
  return value ? `${meaning || value} (${scheme ? `${scheme} ` : ''}${value})` : meaning;
}

function nodeValue(ds: DataSet, type: string, charset: string): string {
  switch (type) {
    case 'TEXT': return text(ds, 'x0040a160', charset);
    case 'CODE': return code(items(ds, 'x0040a168')[0], charset);
    case 'NUM': {
      const m = items(ds, 'x0040a300')[0];
      if (!m) return '(no value)';
      const units = items(m, 'x004008ea')[0];
      const unit = units ? text(units, 'x00080100') || text(units, 'x00080104', charset) : '';
      return `${text(m, 'x0040a30a')}${unit ? ` ${unit}` : ''}`;
    }
    case 'DATETIME': return text(ds, 'x0040a120');
    case 'DATE': return formatDicomDate(text(ds, 'x0040a121'));
    case 'TIME': return formatDicomTime(text(ds, 'x0040a122'));
    case 'PNAME': return formatPersonName(text(ds, 'x0040a123', charset));
    case 'UIDREF': return uid(ds, 'x0040a124');
    case 'CONTAINER': return text(ds, 'x0040a050') === 'CONTINUOUS' ? 'continuous' : '';
    case 'IMAGE': case 'COMPOSITE': case 'WAVEFORM': {
      const ref = items(ds, 'x00081199')[0];
      if (!ref) return '(no reference)';
      const cls = uid(ref, 'x00081150');
      const frames = text(ref, 'x00081160');
      return `${SOP_CLASS_NAMES[cls] ?? cls} ${uid(ref, 'x00081155')}${frames ? ` frame ${frames}` : ''}`;
    }
    case 'SCOORD': case 'SCOORD3D': return `${text(ds, 'x00700023')} ${text(ds, 'x00700022').split('\\').length} values`.trim();
    case 'TCOORD': return text(ds, 'x0040a130');
    default: return '';
  }
}

const RELATIONSHIPS: Record<string, string> = {
  CONTAINS: 'contains', HAS_OBS_CONTEXT: 'has obs context', HAS_ACQ_CONTEXT: 'has acq context', HAS_CONCEPT_MOD: 'has concept mod',
  HAS_PROPERTIES: 'has properties', INFERRED_FROM: 'inferred from', SELECTED_FROM: 'selected from',
};

function walk(ds: DataSet, depth: number, charset: string, out: DocumentNode[]): boolean {
  for (const item of items(ds, 'x0040a730')) {
    if (out.length >= MAX_NODES || depth > MAX_DEPTH) return false;
    const relationship = RELATIONSHIPS[text(item, 'x0040a010')] ?? text(item, 'x0040a010').toLowerCase();
    const byReference = text(item, 'x0040db73');
    if (byReference) {
      // A by-reference relationship points at another content item by its position (e.g. 1.2.2.1).
      out.push({ depth, relationship, valueType: 'REFERENCE', concept: '', value: `content item ${byReference.split('\\').join('.')}` });
      continue;
    }
    const valueType = text(item, 'x0040a040');
    out.push({ depth, relationship, valueType, concept: code(items(item, 'x0040a043')[0], charset), value: nodeValue(item, valueType, charset) });
    if (!walk(item, depth + 1, charset, out)) return false;
  }
  return true;
}

const attr = (name: string, value: string): { name: string; value: string } => ({ name, value });

/** Reads a non-image (or any) object as a document: its kind, key attributes and, for an SR, its content tree. */
export function readDocument(filePath: string): DocumentView {
  const parsed = parseDicomFile(filePath, { wholeFile: true });
  if ('notDicom' in parsed || 'rejected' in parsed) {
    throw new LightboxError('io', `document: ${filePath} can no longer be read (${'rejected' in parsed ? parsed.rejected : 'not DICOM'}); re-import the folder`);
  }
  const ds = parsed.dataSet;
  const charset = text(ds, 'x00080005');
  const sopClassUid = uid(ds, 'x00080016');
  const sopClassName = SOP_CLASS_NAMES[sopClassUid] ?? '';
  const attributes = [
    attr('Object', sopClassName ? `${sopClassName} (${sopClassUid})` : sopClassUid || '(no SOP Class UID)'),
    attr('Modality', text(ds, 'x00080060')),
    attr('Series', text(ds, 'x0008103e', charset)),
    attr('Content date', `${formatDicomDate(text(ds, 'x00080023'))} ${formatDicomTime(text(ds, 'x00080033'))}`.trim()),
    attr('Manufacturer', [text(ds, 'x00080070', charset), text(ds, 'x00081090', charset)].filter(Boolean).join(' ')),
  ];
  const content: DocumentNode[] = [];
  let title = sopClassName || 'DICOM object';
  let truncated = false;
  const isSr = ds.elements.x0040a730 !== undefined || text(ds, 'x0040a040') === 'CONTAINER';
  if (isSr) {
    const root = code(items(ds, 'x0040a043')[0], charset);
    if (root) title = root;
    attributes.push(attr('Completion', `${text(ds, 'x0040a491')}${text(ds, 'x0040a492', charset) ? ` — ${text(ds, 'x0040a492', charset)}` : ''}`));
    attributes.push(attr('Verification', text(ds, 'x0040a493')));
    for (const o of items(ds, 'x0040a073')) attributes.push(attr('Verified by', `${formatPersonName(text(o, 'x0040a075', charset))} (${text(o, 'x0040a027', charset)}), ${text(o, 'x0040a030')}`.trim()));
    content.push({ depth: 0, relationship: '', valueType: text(ds, 'x0040a040') || 'CONTAINER', concept: root, value: nodeValue(ds, 'CONTAINER', charset) });
    truncated = !walk(ds, 1, charset, content);
  }
  if (ds.elements.x300a0002 || ds.elements.x300a00b0) {
    attributes.push(attr('Plan', [text(ds, 'x300a0002', charset), text(ds, 'x300a0003', charset)].filter(Boolean).join(' — ')));
    attributes.push(attr('Intent', text(ds, 'x300a000a')));
    const beams = items(ds, 'x300a00b0').map((b) => text(b, 'x300a00c2', charset) || `beam ${text(b, 'x300a00c0')}`);
    attributes.push(attr('Beams', `${beams.length}${beams.length ? `: ${beams.slice(0, 20).join(', ')}` : ''}`));
    const fractions = items(ds, 'x300a0070').map((g) => text(g, 'x300a0078')).filter(Boolean);
    if (fractions.length) attributes.push(attr('Fractions planned', fractions.join(', ')));
  }
  if (ds.elements.x30060020 || ds.elements.x30060002) {
    attributes.push(attr('Structure set', text(ds, 'x30060002', charset)));
    const rois = items(ds, 'x30060020').map((r) => text(r, 'x30060026', charset));
    attributes.push(attr('Structures', `${rois.length}${rois.length ? `: ${rois.slice(0, 50).join(', ')}` : ''}`));
  }
  if (ds.elements.x54000100) {
    for (const [i, w] of items(ds, 'x54000100').entries()) {
      attributes.push(attr(`Waveform ${i + 1}`, `${us(w, 'x003a0005') ?? '?'} channels × ${w.uint32('x003a0010') ?? '?'} samples at ${text(w, 'x003a001a')} Hz`));
    }
  }
  if (ds.elements.x00420011) {
    attributes.push(attr('Document', `${text(ds, 'x00420010', charset) || '(untitled)'} (${text(ds, 'x00420012')})`));
  }
  return { sopClassUid, sopClassName, title, isReport: isSr, attributes: attributes.filter((a) => a.value !== ''), content, truncated };
}
