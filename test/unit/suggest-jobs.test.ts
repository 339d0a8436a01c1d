// What the suggestion worker is asked to learn from: the group's current labels as targets on item rows, and the
// zero-shot head row each label uses; and what a published snapshot then suggests for one item.
import { describe, expect, it } from 'vitest';
import { groupJob } from '../../src/main/labels/suggest-jobs.ts';
import type { GroupResult } from '../../src/main/labels/suggest-engine.ts';
import { provenance, suggestionAt } from '../../src/main/labels/suggestions.ts';
import type { IndexedLevel, ModelIndex } from '../../src/main/labels/suggestions.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';

const finding = DEMO_SCHEMA.groups[0]!; // normal, abnormal > cardiomegaly, effusion, nodule
const quality = DEMO_SCHEMA.groups[1]!; // rotated, underexposed, artefact
const uids = ['u0', 'u1', 'u2', 'u3'];
const level: IndexedLevel = { ids: Int32Array.from([10, 11, 12, 13]), uids, offsets: new Int32Array(5), rows: new Int32Array(0), pos: new Map(uids.map((u, i) => [u, i])) };

describe('groupJob', () => {
  it('a single-choice label trains its most specific class; items without vectors are left out', () => {
    const job = groupJob(finding, new Map([['u2', ['abnormal', 'effusion']], ['u0', ['normal']], ['gone', ['normal']]]), level, null);
    expect(job).toMatchObject({ key: 'finding', level: 'study', mode: 'softmax', k: 5, head: null });
    expect(Array.from(job.labelled.index)).toEqual([2, 0]);
    expect(Array.from(job.labelled.targets)).toEqual([0, 0, 0, 1, 0, 1, 0, 0, 0, 0]);
    expect(Array.from(job.headRow)).toEqual([-1, -1, -1, -1, -1]);
  });

  it('a multi-label item trains every label set (none is a decision too); head rows match by zero-shot name, key or name', () => {
    const head = new Float32Array(6);
    const zs = { labels: [{ name: 'Artefact', prompt: '' }, { name: 'rotated', prompt: '' }], logitScale: 50, embeddings: head, source: 'test' };
    const job = groupJob(quality, new Map([['u1', ['rotated', 'artefact']], ['u3', []]]), level, zs);
    expect(job.mode).toBe('sigmoid');
    expect(Array.from(job.labelled.targets)).toEqual([1, 0, 1, 0, 0, 0]);
    expect(Array.from(job.headRow)).toEqual([1, -1, 0]);
    expect(job.head).toBe(head);
    expect(job.logitScale).toBe(50);
  });
});

describe('suggestionAt', () => {
  const model = { modelPk: 1, sha256: 'f'.repeat(64), name: 'm', pkg: null, embedded: 4, levels: new Map() } satisfies ModelIndex;
  const snap = (probs: number[]): GroupResult => ({ source: 'adapter', probs: new Float32Array(probs), detail: 'd' }) as GroupResult;

  it('suggests the most probable label not rejected; a parent ranks with its children', () => {
    const s = suggestionAt(finding, snap([0.2, 0.2, 0.2, 0.2, 0.2, 0.4, 0.05, 0.35, 0.1, 0.1]), model, 1, ['normal'])!;
    expect(s.labels).toEqual(['cardiomegaly']);
    expect(s.probability).toBeCloseTo(0.35);
    expect(s.ranked[0]).toMatchObject({ label: 'abnormal' });
    expect(s.ranked.find((r) => r.label === 'abnormal')!.probability).toBeCloseTo(0.6);
    expect(provenance(s)).toMatchObject({ suggested: 'cardiomegaly', suggestionSource: 'adapter', modelSha256: model.sha256, modelDetail: 'm: d' });
  });

  it('a multi-label suggestion is every label above one half', () => {
    const s = suggestionAt(quality, snap([0.9, 0.2, 0.7]), model, 0, [])!;
    expect(s.labels).toEqual(['rotated', 'artefact']);
    expect(s.probability).toBeCloseTo((0.9 + 0.8 + 0.7) / 3);
  });
});
