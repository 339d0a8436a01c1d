// Non-image objects read as documents through the API: a structured report's content tree matches dcmtk's
// dsrdump of the same file item for item (depth, value type, concept), and RT and waveform objects show their key
// attributes. Real-world files: pydicom's test set (test-SR.dcm is OFFIS's SR feature demo).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lightbox } from '../../src/main/app.ts';
import { importInto, tempDir } from '../helpers.ts';
import { realWorldFiles } from '../real-world.ts';

let app: Lightbox;
const byName = new Map<string, number>();

beforeAll(async () => {
  const src = tempDir('lightbox-documents-');
  for (const f of realWorldFiles()) {
    if (['test-SR.dcm', 'rtplan.dcm', 'rtstruct.dcm', 'waveform_ecg.dcm', 'CT_small.dcm'].includes(path.basename(f))) fs.copyFileSync(f, path.join(src, path.basename(f)));
  }
  app = Lightbox.open(tempDir(), { create: true });
  await importInto(app, src);
  const rows = app.store.db.prepare('SELECT i.id, f.path FROM instances i JOIN files f ON f.id = i.file_pk').all() as { id: number; path: string }[];
  for (const r of rows) byName.set(path.basename(r.path), r.id);
});

afterAll(async () => { await app?.close(); });

/** dsrdump's content tree: one entry per content item, its depth from the indent and its value type. */
function dsrdumpTree(file: string): { depth: number; valueType: string; concept: string }[] {
  const out = execFileSync('dsrdump', [file], { encoding: 'latin1' });
  const nodes: { depth: number; valueType: string; concept: string }[] = [];
  for (const line of out.split('\n')) {
    const m = line.match(/^( *)<(.*)$/);
    if (!m) continue;
    const depth = m[1]!.length / 2;
    const body = m[2]!;
    const typed = body.match(/^(?:[a-z ]+ )?([A-Z0-9]+):(?:\(([^)]*)\))?/);
    if (typed) nodes.push({ depth, valueType: typed[1]!, concept: typed[2]?.match(/"([^"]*)"/)?.[1] ?? '' });
    else if (/^[a-z ]+ \d+(\.\d+)*>/.test(body)) nodes.push({ depth, valueType: 'REFERENCE', concept: '' });
  }
  return nodes;
}

describe('non-image objects as documents', () => {
  it('reads an SR\'s content tree item for item as dcmtk\'s dsrdump does', async () => {
    const doc = await app.invoke('instance.document', { instanceId: byName.get('test-SR.dcm')! });
    expect(doc.isReport).toBe(true);
    expect(doc.sopClassName).toBe('Comprehensive SR');
    expect(doc.title).toMatch(/^Diagnosis/);
    const reference = dsrdumpTree(app.store.instanceFile(byName.get('test-SR.dcm')!).path);
    expect(reference.length).toBeGreaterThan(20);
    expect(doc.content.map((n) => ({ depth: n.depth, valueType: n.valueType }))).toEqual(reference.map((n) => ({ depth: n.depth, valueType: n.valueType })));
    doc.content.forEach((n, i) => expect(n.concept, `item ${i + 1}`).toContain(reference[i]!.concept));
    // Values a reader needs: text, numbers with units, codes.
    const values = doc.content.map((n) => n.value);
    expect(values).toContain('A mass of');
    expect(values).toContain('3 cm');
    expect(values.some((v) => v.startsWith('Sample Code 1'))).toBe(true);
    expect(doc.attributes.find((a) => a.name === 'Verification')?.value).toBe('VERIFIED');
  });

  it('shows an RT plan\'s, a structure set\'s and an ECG\'s key attributes instead of a SOP Class UID', async () => {
    const plan = await app.invoke('instance.document', { instanceId: byName.get('rtplan.dcm')! });
    expect(plan.sopClassName).toBe('RT Plan');
    expect(plan.attributes.find((a) => a.name === 'Beams')?.value).toMatch(/^\d+/);
    const rois = await app.invoke('instance.document', { instanceId: byName.get('rtstruct.dcm')! });
    expect(rois.sopClassName).toBe('RT Structure Set');
    expect(rois.attributes.find((a) => a.name === 'Structures')?.value).toMatch(/^\d+: /);
    const ecg = await app.invoke('instance.document', { instanceId: byName.get('waveform_ecg.dcm')! });
    expect(ecg.sopClassName).toMatch(/ECG/);
    expect(ecg.attributes.find((a) => a.name === 'Waveform 1')?.value).toMatch(/^\d+ channels × \d+ samples at [\d.]+ Hz$/);
  });
});
