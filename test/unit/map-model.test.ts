// The map view's pure parts: what each colouring means, zooming about the cursor, and box/lasso hit tests.
import { describe, expect, it } from 'vitest';
import { colourChoices, colouring, fitView, nearestPoint, pointsInShape, toMap, toScreen, zoomAt } from '../../src/renderer/src/features/map/map-model.ts';
import type { MapPoints } from '../../src/shared/contract.ts';

function points(over: Partial<MapPoints> = {}): MapPoints {
  return {
    level: 'image', ready: true, model: { name: 'm', sha256: 'x' }, createdAt: '', unplaced: 0, blinded: false,
    ids: [1, 2, 3, 4, 5], x: [0, 1, 2, 3, 4], y: [0, 0, 0, 0, 10], studyIds: [1, 2, 3, 4, 5], instanceIds: [1, 2, 3, 4, 5],
    groups: [{
      key: 'finding', name: 'Finding', level: 'study', names: { normal: 'Normal', nodule: 'Nodule' },
      // labelled: normal, nodule, –, normal, –; suggested: normal, normal, nodule, –, –
      label: { values: ['normal', 'nodule'], index: [0, 1, -1, 0, -1] },
      suggestion: { values: ['normal', 'nodule'], index: [0, 0, 1, -1, -1] },
      confidence: [0.95, 0.4, 0.75, -1, -1],
    }],
    attributes: { modality: { values: ['DX', 'CT'], index: [0, 0, 0, 1, -1] } },
    ...over,
  };
}

describe('colouring the map', () => {
  it('label ≠ model: disagreeing, agreeing and unlabelled items; a label with no suggestion is not judged', () => {
    const c = colouring(points(), { kind: 'disagreement', group: 'finding' });
    expect(Array.from(c.index)).toEqual([1, 0, 2, -1, -1]);
    expect(c.legend.map((l) => [l.name, l.count])).toEqual([['label ≠ model', 1], ['label = model', 1], ['unlabelled', 1]]);
  });

  it('categories by frequency with the labels\' names; confidence in bands; attributes as they are', () => {
    const l = colouring(points(), { kind: 'label', group: 'finding' });
    expect(l.legend.map((x) => [x.name, x.count])).toEqual([['Normal', 2], ['Nodule', 1]]);
    expect(Array.from(l.index)).toEqual([0, 1, -1, 0, -1]);
    const c = colouring(points(), { kind: 'confidence', group: 'finding' });
    expect(Array.from(c.index)).toEqual([3, 0, 2, -1, -1]);
    const a = colouring(points(), { kind: 'attribute', attribute: 'modality' });
    expect(a.legend.map((x) => [x.name, x.count])).toEqual([['DX', 3], ['CT', 1]]);
  });

  it('offers no model colourings in a blinded read', () => {
    expect(colourChoices(points()).map((c) => c.key)).toContain('disagreement:finding');
    const blind = colourChoices(points({ blinded: true })).map((c) => c.key);
    expect(blind).toEqual(['label:finding', 'attribute:modality']);
  });
});

describe('the view', () => {
  it('fits every point on screen, and zooming keeps the point under the cursor in place', () => {
    const p = points();
    const v = fitView(p.x, p.y, 800, 600);
    for (let i = 0; i < p.x.length; i++) {
      const [sx, sy] = toScreen(v, 800, 600, p.x[i]!, p.y[i]!);
      expect(sx).toBeGreaterThanOrEqual(0);
      expect(sx).toBeLessThanOrEqual(800);
      expect(sy).toBeGreaterThanOrEqual(0);
      expect(sy).toBeLessThanOrEqual(600);
    }
    const before = toMap(v, 800, 600, 123, 456);
    const z = zoomAt(v, 800, 600, 123, 456, 3);
    const after = toMap(z, 800, 600, 123, 456);
    expect(after[0]).toBeCloseTo(before[0], 9);
    expect(after[1]).toBeCloseTo(before[1], 9);
    expect(z.scale).toBeCloseTo(3 * v.scale, 9);
  });

  it('selects what a box or a lasso holds, and finds the point under the cursor', () => {
    const p = points();
    const v = { cx: 0, cy: 0, scale: 10 };
    // Screen positions: x → 400 + 10x, y → 300 − 10y.
    expect(pointsInShape(p, v, 800, 600, { box: [405, 295, 435, 305] })).toEqual([1, 2, 3]);
    expect(pointsInShape(p, v, 800, 600, { box: [435, 305, 405, 295] })).toEqual([1, 2, 3]);
    const triangle: [number, number][] = [[395, 310], [415, 310], [395, 190]];
    expect(pointsInShape(p, v, 800, 600, { lasso: triangle })).toEqual([0, 1]);
    expect(nearestPoint(p, v, 800, 600, 421, 301)).toBe(2);
    expect(nearestPoint(p, v, 800, 600, 600, 100)).toBe(-1);
  });
});
