// The words beside each queued item, from the group, the item's probabilities and the queue's score alone.
import { describe, expect, it } from 'vitest';
import { NOT_LABELLED_REASON, blindedOrderReason, confidentReason, flaggedReason, labelErrorReason, pct, uncertainReason } from '../../src/main/labels/queue-reasons.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';

const finding = DEMO_SCHEMA.groups[0]!; // single-choice: normal, abnormal > cardiomegaly, effusion, nodule
const quality = DEMO_SCHEMA.groups[1]!; // multi-label: rotated, underexposed, artefact
const LABEL_NAMES = /Normal|Abnormal|Cardiomegaly|effusion|Nodule|Rotated|Underexposed|Artefact/;

describe('queue reasons', () => {
  it('an uncertain single-choice item names its top two labels and their probabilities', () => {
    const p = [0.41, 0.02, 0.38, 0.1, 0.09];
    expect(uncertainReason(finding, p, 'zero-shot')).toBe('Uncertain: Normal 0.41 vs Cardiomegaly 0.38 (zero-shot)');
  });

  it('an uncertain multi-label item names the label nearest 50 %', () => {
    expect(uncertainReason(quality, [0.9, 0.47, 0.05], 'adapter')).toBe('Uncertain: Underexposed at 0.47 (adapter)');
  });

  it('a confident item names the label (single-choice) or the decisions (multi-label) and how sure the model is', () => {
    expect(confidentReason(finding, [0.01, 0.01, 0.02, 0.95, 0.01], 0.95, 'knn')).toBe('Confident: Pleural effusion 0.95 (knn)');
    expect(confidentReason(quality, [0.99, 0.02, 0.03], 0.94, 'adapter')).toBe('Confident: decisions 0.94 (adapter)');
  });

  it('a blinded read is told its uncertain and confident queues are in project order, with no label or number', () => {
    for (const q of ['uncertain', 'confident'] as const) {
      expect(blindedOrderReason(q)).toMatch(/blinded read: project order/);
      expect(blindedOrderReason(q)).not.toMatch(LABEL_NAMES);
      expect(blindedOrderReason(q)).not.toMatch(/\d/);
    }
  });

  it('a likely label error says what was labelled and what held-out predictions say instead', () => {
    // Labelled nodule (abnormal implied); held out, the adapter says normal.
    expect(labelErrorReason(finding, ['abnormal', 'nodule'], 0, [0.8, 0.01, 0.04, 0.05, 0.1], 'adapter'))
      .toBe('Possible label error: labelled Nodule, but held-out adapter predictions give Normal 0.80 vs Nodule 0.10');
    expect(labelErrorReason(quality, ['rotated'], 0, [0.05, 0.5, 0.5], 'adapter'))
      .toBe('Possible label error: Rotated is set, held-out adapter predictions say 0.05');
    expect(labelErrorReason(quality, [], 2, [0.5, 0.5, 0.93], 'knn'))
      .toBe('Possible label error: Artefact is not set, held-out knn predictions say 0.93');
  });

  it('flagged items show the start of their note; unlabelled ones say so', () => {
    expect(flaggedReason('')).toBe('Flagged for a second opinion');
    expect(flaggedReason(`check the left apex ${'x'.repeat(200)}`)).toBe(`Flagged for a second opinion: ${`check the left apex ${'x'.repeat(200)}`.slice(0, 80)}`);
    expect(NOT_LABELLED_REASON).toBe('Not labelled yet');
    expect(pct(0.5)).toBe('0.50');
  });
});
