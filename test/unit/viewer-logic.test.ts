// The renderer's pure viewer logic: window/level presets by modality and the hash routes.
import { describe, expect, it } from 'vitest';
import { formatRoute, parseRoute } from '../../src/renderer/src/routes.ts';
import { CT_PRESETS, OTHER_PRESETS, RADIOGRAPH_PRESETS, presetsFor, resolvePreset, sameWindow } from '../../src/renderer/src/viewer/presets.ts';

describe('window/level presets', () => {
  it('picks the presets by modality', () => {
    expect(presetsFor('CT')).toBe(CT_PRESETS);
    expect(presetsFor('CT/SR')).toBe(CT_PRESETS);
    expect(presetsFor('DX')).toBe(RADIOGRAPH_PRESETS);
    expect(presetsFor('cr')).toBe(RADIOGRAPH_PRESETS);
    expect(presetsFor('MR')).toBe(OTHER_PRESETS);
    expect(presetsFor('')).toBe(OTHER_PRESETS);
    expect(CT_PRESETS.map((p) => p.name)).toEqual(['Soft tissue', 'Lung', 'Bone', 'Brain', 'Abdomen']);
  });

  it('resolves fixed windows as they are, the file window when the file has one, and ranges of the values', () => {
    const image = { min: 0, max: 4000, fileWidth: 2000, fileCenter: 1500 };
    expect(resolvePreset(CT_PRESETS[1]!.rule, image)).toEqual({ width: 1500, center: -600 });
    expect(resolvePreset(RADIOGRAPH_PRESETS[0]!.rule, image)).toEqual({ width: 2000, center: 1500 });
    // No window in the file: the default is the full range.
    expect(resolvePreset(RADIOGRAPH_PRESETS[0]!.rule, { min: 0, max: 4000 })).toEqual({ width: 4000, center: 2000 });
    expect(resolvePreset(RADIOGRAPH_PRESETS[1]!.rule, image)).toEqual({ width: 2200, center: 2900 });
    expect(resolvePreset(OTHER_PRESETS[1]!.rule, { min: -100, max: 100 })).toEqual({ width: 200, center: 0 });
    expect(resolvePreset(OTHER_PRESETS[1]!.rule, { min: Number.NaN, max: 1 })).toBeNull();
    // A flat image still gets a usable window.
    expect(resolvePreset(OTHER_PRESETS[1]!.rule, { min: 7, max: 7 })!.width).toBeGreaterThan(0);
  });

  it('tells whether the window on screen is still the preset', () => {
    expect(sameWindow({ width: 400, center: 40 }, { width: 400.2, center: 39.9 })).toBe(true);
    expect(sameWindow({ width: 400, center: 40 }, { width: 420, center: 40 })).toBe(false);
  });
});

describe('routes', () => {
  it('reads and writes the hash routes', () => {
    for (const hash of ['#/', '#/study/12', '#/label', '#/label/image/7', '#/label/series/3']) expect(formatRoute(parseRoute(hash))).toBe(hash);
    expect(parseRoute('#/study/12')).toEqual({ view: 'study', studyId: 12 });
    expect(parseRoute('#/label/study/5')).toEqual({ view: 'label', item: { level: 'study', itemId: 5 } });
  });
  it('takes anything unknown or malformed as the worklist or the plain queue', () => {
    expect(parseRoute('')).toEqual({ view: 'worklist' });
    expect(parseRoute('#/study/abc')).toEqual({ view: 'worklist' });
    expect(parseRoute('#/study/0')).toEqual({ view: 'worklist' });
    expect(parseRoute('#/nowhere')).toEqual({ view: 'worklist' });
    expect(parseRoute('#/label/patient/3')).toEqual({ view: 'label', item: null });
  });
});
