// The worklist's labelling columns and thumbnails, straight from the project store: label_state rows at the study,
// series and image level count for their study, flags count once per item, and "suggested" means the current label
// came from an accepted suggestion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectStore } from '../../src/main/project/project-store.ts';
import type { FileOutcome, InstanceRecord } from '../../src/main/project/project-store.ts';
import { tempDir } from '../helpers.ts';

let store: ProjectStore;

function record(study: string, series: string, sop: string, n: number, isImage = true, frames = 1): FileOutcome {
  const r: InstanceRecord = {
    patient: { patientId: `P-${study}`, name: `Demo^${study}`, birthDate: '', sex: 'O' },
    study: { studyUid: study, date: '20231229', time: '', description: study, accession: '', studyId: '' },
    series: { seriesUid: series, modality: isImage ? 'CT' : 'SR', bodyPart: '', description: '', seriesNumber: isImage ? 2 : 1 },
    instance: { sopUid: sop, sopClass: '1.2', instanceNumber: n, rows: 8, columns: 8, frames, bitsAllocated: 16, photometric: 'MONOCHROME2', transferSyntax: '1.2.840.10008.1.2.1', isImage },
  };
  return { path: `/data/${sop}.dcm`, root: '/data', size: 10, mtimeMs: 1, status: 'imported', record: r };
}

function label(level: string, uid: string, group: string, fields: { labels?: string; flagged?: number }, source = 'manual'): void {
  const id = Number(store.db.prepare(`INSERT INTO label_events(at, annotator, action, level, item_uid, group_key, field, value, previous, source)
    VALUES ('2026-01-01T00:00:00Z', 'test', ?, ?, ?, ?, ?, ?, 'null', ?)`).run(fields.flagged ? 'flag' : 'set', level, uid, group, fields.flagged ? 'flagged' : 'labels', fields.labels ?? 'true', source).lastInsertRowid);
  store.db.prepare(`INSERT INTO label_state(level, item_uid, group_key, labels, flagged, last_event) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT DO UPDATE SET labels = excluded.labels, flagged = excluded.flagged, last_event = excluded.last_event`)
    .run(level, uid, group, fields.labels ?? 'null', fields.flagged ?? 0, id);
}

beforeAll(() => {
  store = ProjectStore.open(tempDir(), { create: true });
  store.writeBatch([
    record('st1', 'se1-sr', 'sr1', 1, false),
    record('st1', 'se1', 'im1b', 2),
    record('st1', 'se1', 'im1a', 1, true, 3),
    record('st2', 'se2', 'im2', 1),
    record('st3', 'se3-sr', 'sr3', 1, false),
  ]);
  label('study', 'st1', 'finding', { labels: '["normal"]' }, 'suggestion');
  label('series', 'se1', 'quality', { labels: '[]' });
  label('image', 'im1a', 'finding', { labels: '["nodule"]' }, 'bulk');
  label('image', 'im1a', 'quality', { labels: '["blurred"]' });
  label('image', 'im1a', '', { flagged: 1 });
  label('image', 'im1b', '', { flagged: 1 });
  // A group row with a rejection but no decision is not a label.
  label('image', 'im1b', 'finding', {});
  label('study', 'st2', '', { flagged: 1 });
});

afterAll(() => store.close());

describe('worklist rows', () => {
  it('count labelled, flagged and accepted-suggestion items per study, over all three levels', () => {
    const rows = new Map(store.worklist({ sort: 'description', direction: 'asc' }).rows.map((r) => [r.description, r]));
    expect(rows.get('st1')).toMatchObject({ labelled: 3, flagged: 2, suggested: 2 });
    expect(rows.get('st2')).toMatchObject({ labelled: 0, flagged: 1, suggested: 0 });
    expect(rows.get('st3')).toMatchObject({ labelled: 0, flagged: 0, suggested: 0 });
  });

  it('give the first image of the first image series as the thumbnail, and none for a study without images', () => {
    const rows = new Map(store.worklist({}).rows.map((r) => [r.description, r]));
    const im1a = store.db.prepare("SELECT id FROM instances WHERE sop_uid = 'im1a'").pluck().get() as number;
    expect(rows.get('st1')!.thumbnail).toEqual({ instanceId: im1a, frames: 3 });
    expect(rows.get('st3')!.thumbnail).toBeNull();
  });

  it('page with limit and offset past any fixed cap', () => {
    const all = store.worklist({ sort: 'description', direction: 'asc', limit: 2, offset: 0 });
    const rest = store.worklist({ sort: 'description', direction: 'asc', limit: 2, offset: 2 });
    expect(all.total).toBe(3);
    expect([...all.rows, ...rest.rows].map((r) => r.description)).toEqual(['st1', 'st2', 'st3']);
  });
});
