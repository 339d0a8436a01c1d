// Agreement statistics checked against independent implementations on the same data: scikit-learn's
// cohen_kappa_score (unweighted, linear, quadratic), statsmodels' fleiss_kappa over aggregate_raters and its
// asymptotic kappa interval (cohens_kappa), and the worked examples of Krippendorff (2011), "Computing
// Krippendorff's alpha-reliability" (the 4 observers × 12 units table with missing values, and the binary
// two-observer table).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  bootstrapInterval, cohenKappa, confusionMatrix, fleissKappa, krippendorffAlpha, percentAgreement, withInterval,
} from '../../src/main/readers/agreement.ts';
import type { Rating } from '../../src/main/readers/agreement.ts';
import { mulberry32 } from '../../src/shared/random.ts';

const PY = '/usr/bin/python3';
/** Runs a Python script with `data` as JSON on stdin; returns its JSON answer. */
function python<T>(script: string, data: unknown): T {
  return JSON.parse(execFileSync(PY, ['-c', script], { input: JSON.stringify(data), encoding: 'utf8' })) as T;
}

const CATS = ['normal', 'mild', 'moderate', 'severe'];
/** Readers who see a true ordinal grade with reader-specific accuracy; some reads missing. */
function simulate(seed: number, items: number, accuracy: readonly number[], missing = 0): Rating[][] {
  const r = mulberry32(seed);
  const rows: Rating[][] = [];
  for (let i = 0; i < items; i++) {
    const truth = Math.floor(r() * CATS.length);
    rows.push(accuracy.map((acc) => {
      if (r() < missing) return null;
      if (r() < acc) return CATS[truth]!;
      // A wrong read is usually a neighbouring grade.
      const step = r() < 0.7 ? (r() < 0.5 ? -1 : 1) : Math.floor(r() * CATS.length) - truth;
      return CATS[Math.min(CATS.length - 1, Math.max(0, truth + step))]!;
    }));
  }
  return rows;
}
const column = (rows: Rating[][], j: number): Rating[] => rows.map((row) => row[j]!);

describe('Cohen\'s kappa against scikit-learn', () => {
  const sklearn = `
import json, sys
from sklearn.metrics import cohen_kappa_score
d = json.load(sys.stdin)
out = []
for case in d:
    both = [(a, b) for a, b in zip(case['a'], case['b']) if a is not None and b is not None]
    ya = [a for a, _ in both]; yb = [b for _, b in both]
    out.append({w or 'none': cohen_kappa_score(ya, yb, labels=d[0]['labels'], weights=w) for w in (None, 'linear', 'quadratic')})
print(json.dumps(out))
`;
  it('matches cohen_kappa_score with no, linear and quadratic weights, on complete and incomplete reads', () => {
    const cases = [
      { seed: 1, items: 200, acc: [0.8, 0.6], missing: 0 },
      { seed: 2, items: 57, acc: [0.5, 0.9], missing: 0.2 },
      { seed: 3, items: 400, acc: [0.95, 0.95], missing: 0.05 },
      { seed: 4, items: 30, acc: [0.3, 0.3], missing: 0.1 },
    ].map(({ seed, items, acc, missing }) => {
      const rows = simulate(seed, items, acc, missing);
      return { a: column(rows, 0), b: column(rows, 1), labels: CATS };
    });
    const expected = python<Record<string, number>[]>(sklearn, cases);
    cases.forEach((c, i) => {
      for (const w of ['none', 'linear', 'quadratic'] as const) {
        const ours = cohenKappa(c.a, c.b, CATS, w);
        expect(ours.note).toBeNull();
        expect(ours.value).toBeCloseTo(expected[i]![w]!, 12);
      }
    });
    // Weights matter with ordered grades and neighbouring errors: quadratic > linear > unweighted here.
    const k = (w: 'none' | 'linear' | 'quadratic'): number => cohenKappa(cases[0]!.a, cases[0]!.b, CATS, w).value!;
    expect(k('quadratic')).toBeGreaterThan(k('linear'));
    expect(k('linear')).toBeGreaterThan(k('none'));
  });

  it('counts only the items both readers read', () => {
    const a = ['x', 'y', null, 'x', 'y'];
    const b = ['x', 'x', 'y', null, 'y'];
    expect(cohenKappa(a, b, ['x', 'y']).n).toBe(3);
    expect(percentAgreement(a, b, ['x', 'y'])).toEqual({ value: 2 / 3, n: 3, note: null });
    expect(confusionMatrix(a, b, ['x', 'y'])).toEqual([[1, 0], [1, 1]]);
  });

  it('says why, instead of NaN, when kappa is undefined', () => {
    expect(cohenKappa(['x', 'x', null], ['x', 'x', 'y'], ['x', 'y'])).toEqual({ value: null, n: 2, note: "kappa is undefined: every read is 'x'" });
    expect(cohenKappa([null, 'x'], ['y', null], ['x', 'y'])).toEqual({ value: null, n: 0, note: 'no item was read by both readers' });
    // One reader constant, the other not: defined (and 0: no agreement beyond chance), as scikit-learn says.
    expect(cohenKappa(['x', 'x', 'x', 'x'], ['x', 'y', 'x', 'y'], ['x', 'y']).value).toBe(0);
    expect(() => cohenKappa(['x'], ['z'], ['x', 'y'])).toThrow(/"z" is not one of the categories/);
  });
});

describe('Fleiss\' kappa against statsmodels', () => {
  const statsmodels = `
import json, sys
import numpy as np
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
out = []
for rows in json.load(sys.stdin):
    complete = [r for r in rows if all(v is not None for v in r)]
    table, _ = aggregate_raters(np.array(complete, dtype=object))
    out.append(fleiss_kappa(table, method='fleiss'))
print(json.dumps(out))
`;
  it('matches fleiss_kappa(aggregate_raters(...)) for 3, 4 and 6 readers', () => {
    const data = [
      simulate(11, 300, [0.9, 0.7, 0.5]),
      simulate(12, 120, [0.6, 0.6, 0.8, 0.4]),
      simulate(13, 80, [0.9, 0.85, 0.8, 0.75, 0.7, 0.3], 0.03),
    ];
    const expected = python<number[]>(statsmodels, data);
    data.forEach((rows, i) => {
      const ours = fleissKappa(rows, CATS);
      expect(ours.value).toBeCloseTo(expected[i]!, 12);
      expect(ours.readers).toBe(rows[0]!.length);
    });
    // With missing reads the items not read by everyone are left out, and the result says so.
    const partial = fleissKappa(data[2]!, CATS);
    expect(partial.n).toBeLessThan(80);
    expect(partial.note).toMatch(/item\(s\) not read by every reader left out/);
  });

  it('is undefined with one category only, and with fewer than two readers', () => {
    expect(fleissKappa([['a', 'a'], ['a', 'a']], ['a', 'b']).note).toBe("Fleiss' kappa is undefined: every read is 'a'");
    expect(fleissKappa([['a'], ['b']], ['a', 'b']).value).toBeNull();
  });
});

describe('Krippendorff\'s alpha against the published examples', () => {
  // Krippendorff (2011), section C: 4 observers, 12 units, values 1–5, "." missing. Published: α nominal 0.743,
  // ordinal 0.815, interval 0.849; unit 12 (one value) is not pairable, n = 40 pairable values.
  const _ = null;
  const A = ['1', '2', '3', '3', '2', '1', '4', '1', '2', _, _, _];
  const B = ['1', '2', '3', '3', '2', '2', '4', '1', '2', '5', _, '3'];
  const C = [_, '3', '3', '3', '2', '3', '4', '2', '2', '5', '1', _];
  const D = ['1', '2', '3', '3', '2', '4', '4', '1', '2', '5', '1', _];
  const rows = A.map((a, i) => [a, B[i]!, C[i]!, D[i]!]);
  const values = ['1', '2', '3', '4', '5'];

  it('reproduces nominal 0.743, ordinal 0.815 and interval 0.849 on the table with missing values', () => {
    const nominal = krippendorffAlpha(rows, values, 'nominal');
    expect(nominal.value!.toFixed(3)).toBe('0.743');
    expect(nominal.n).toBe(11);
    expect(krippendorffAlpha(rows, values, 'ordinal').value!.toFixed(3)).toBe('0.815');
    expect(krippendorffAlpha(rows, values, 'interval').value!.toFixed(3)).toBe('0.849');
    // Exactly the paper's arithmetic: value totals n_c = 9, 13, 10, 5, 3 (n = 40), off-diagonal coincidences 8
    // (units 2, 6 and 8), so α = 1 − (n − 1)·8 / (n² − Σ n_c²).
    expect(nominal.value).toBeCloseTo(1 - (39 * 8) / (1600 - (9 * 9 + 13 * 13 + 10 * 10 + 5 * 5 + 3 * 3)), 12);
  });

  it('reproduces the binary two-observer example (α = 0.095)', () => {
    const a = '0100000010'.split(''), b = '1110010000'.split('');
    expect(krippendorffAlpha(a.map((v, i) => [v, b[i]!]), ['0', '1']).value!.toFixed(3)).toBe('0.095');
  });

  it('says why when undefined, and is 1 for perfect agreement', () => {
    expect(krippendorffAlpha([['a', 'a', 'a'], ['a', 'a', null]], ['a', 'b']).note).toBe("alpha is undefined: every read is 'a'");
    expect(krippendorffAlpha([['a', null], [null, 'b']], ['a', 'b'])).toEqual({ value: null, n: 0, note: 'no item was read by two or more readers' });
    expect(krippendorffAlpha([['a', 'a'], ['b', 'b'], ['a', 'a']], ['a', 'b']).value).toBe(1);
  });
});

describe('bootstrap intervals', () => {
  it('agree with statsmodels\' asymptotic interval for Cohen\'s kappa on a large sample', () => {
    const rows = simulate(21, 2000, [0.75, 0.65]);
    const a = column(rows, 0), b = column(rows, 1);
    const ours = withInterval(rows, (r) => cohenKappa(column(r as Rating[][], 0), column(r as Rating[][], 1), CATS), { seed: 5, resamples: 1000 });
    const ref = python<{ kappa: number; low: number; high: number }>(`
import json, sys
import numpy as np
from sklearn.metrics import confusion_matrix
from statsmodels.stats.inter_rater import cohens_kappa
d = json.load(sys.stdin)
r = cohens_kappa(confusion_matrix(d['a'], d['b'], labels=d['labels']))
print(json.dumps({'kappa': r.kappa, 'low': r.kappa_low, 'high': r.kappa_upp}))
`, { a, b, labels: CATS });
    expect(ours.value).toBeCloseTo(ref.kappa, 12);
    const width = ours.ci.high! - ours.ci.low!, refWidth = ref.high - ref.low;
    expect(Math.abs(width - refWidth) / refWidth).toBeLessThan(0.15);
    expect(Math.abs((ours.ci.low! + ours.ci.high!) / 2 - (ref.low + ref.high) / 2)).toBeLessThan(0.01);
    expect(ours.ci.valid).toBe(1000);
  });

  it('is reproducible from its seed, narrows with more items, and reports undefined resamples', () => {
    const stat = (r: readonly Rating[][]): number | null => fleissKappa(r, CATS).value;
    const small = simulate(31, 40, [0.8, 0.7, 0.6]), large = simulate(31, 640, [0.8, 0.7, 0.6]);
    const one = bootstrapInterval(small, stat, { seed: 9, resamples: 400 });
    expect(bootstrapInterval(small, stat, { seed: 9, resamples: 400 })).toEqual(one);
    expect(bootstrapInterval(small, stat, { seed: 10, resamples: 400 }).low).not.toBe(one.low);
    const wide = one.high! - one.low!;
    const big = bootstrapInterval(large, stat, { seed: 9, resamples: 400 });
    expect(big.high! - big.low!).toBeLessThan(wide / 2.5); // ≈ 1/√16 = 1/4 of the width
    const point = stat(small)!;
    expect(one.low!).toBeLessThan(point);
    expect(one.high!).toBeGreaterThan(point);
    // Nearly constant data: some resamples have one category only; they are counted, not turned into NaN.
    const rare: Rating[][] = [...Array.from({ length: 29 }, () => ['a', 'a']), ['a', 'b']];
    const r = withInterval(rare, (rows) => cohenKappa(column(rows as Rating[][], 0), column(rows as Rating[][], 1), ['a', 'b']), { seed: 3, resamples: 200 });
    expect(r.ci.valid).toBeLessThan(200);
    expect(r.note).toMatch(/of 200 resamples undefined/);
    expect(() => bootstrapInterval(small, stat, { resamples: 0 })).toThrow(/resamples must be a positive integer/);
  });
});
