// The error tree against scikit-learn's DecisionTreeClassifier (Gini, max_depth, min_samples_leaf) on the same
// data one-hot encoded, and the mutual information ranking against mutual_info_score: planted structure (one
// site and one view err more) over random attributes.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fitErrorTree, mutualInformation } from '../../src/main/readers/error-tree.ts';
import { mulberry32 } from '../../src/shared/random.ts';

const PY = '/usr/bin/python3';
const SKLEARN = String.raw`
import json, sys
import numpy as np
from sklearn.tree import DecisionTreeClassifier
from sklearn.metrics import mutual_info_score
d = json.load(sys.stdin)
rows, y, attrs = d['rows'], np.array(d['target']), d['attributes']
cols = [(a, v) for a in range(len(attrs)) for v in sorted(set(r[a] for r in rows))]
X = np.array([[1.0 if r[a] == v else 0.0 for (a, v) in cols] for r in rows])
out = {}
for depth, leaf in d['settings']:
    t = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=leaf, random_state=0).fit(X, y).tree_
    leaves = sorted([int(t.n_node_samples[i]), int(round(t.value[i][0][1] * (t.n_node_samples[i] if t.value[i].sum() <= 1.0 + 1e-9 else 1)))] for i in range(t.node_count) if t.children_left[i] == -1)
    root = None
    if t.children_left[0] != -1:
        a, v = cols[t.feature[0]]
        root = [attrs[a], v]
    out[f'{depth}/{leaf}'] = {'leaves': leaves, 'nodes': int(t.node_count), 'root': root}
out['mi'] = {attrs[a]: float(mutual_info_score(y, [r[a] for r in rows])) for a in range(len(attrs))}
print(json.dumps(out))
`;

describe('the error tree', () => {
  const random = mulberry32(11);
  const attributes = ['site', 'view', 'sex', 'age band', 'year', 'size'];
  const values = [['A', 'B', 'C', 'D'], ['PA', 'AP', 'LL'], ['F', 'M'], ['20-29', '30-39', '40-49', '50-59', '60-69'], ['2018', '2019', '2020'], ['small', 'large']];
  const rows = Array.from({ length: 400 }, () => values.map((vs) => vs[Math.floor(random() * vs.length)]!));
  // Site C errs often, and AP views more elsewhere; the rest is noise.
  const target = rows.map((r) => (random() < (r[0] === 'C' ? 0.6 : r[1] === 'AP' ? 0.3 : 0.08) ? 1 : 0));

  it('grows the tree scikit-learn grows: same leaves (size, errors), same node count, same root split', () => {
    const settings: [number, number][] = [[3, 5], [3, 20], [2, 1], [4, 10]];
    const py = JSON.parse(execFileSync(PY, ['-c', SKLEARN], { encoding: 'utf8', input: JSON.stringify({ rows, target, attributes, settings }) })) as Record<string, { leaves: number[][]; nodes: number; root: string[] | null }>;
    for (const [depth, leaf] of settings) {
      const tree = fitErrorTree(attributes, rows, target, depth, leaf);
      const leaves = tree.filter((n) => n.children.length === 0).map((n) => [n.n, n.errors]).sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
      const want = py[`${depth}/${leaf}`]!;
      expect(leaves, `depth ${depth}, min leaf ${leaf}`).toEqual(want.leaves);
      expect(tree.length).toBe(want.nodes);
      expect([tree[1]!.condition!.attribute, tree[1]!.condition!.value]).toEqual(want.root);
      for (const n of tree) if (n.children.length) expect(n.children.map((c) => tree[c]!.n).reduce((a, b) => a + b)).toBe(n.n);
    }
    // The planted site is the first split.
    const tree = fitErrorTree(attributes, rows, target);
    expect(tree[tree[0]!.children[1]!]!.condition).toEqual({ attribute: 'site', value: 'C', equals: true });
  });

  it('ranks attributes by mutual information as mutual_info_score computes it', () => {
    const py = JSON.parse(execFileSync(PY, ['-c', SKLEARN], { encoding: 'utf8', input: JSON.stringify({ rows, target, attributes, settings: [] }) })) as { mi: Record<string, number> };
    const mi = mutualInformation(attributes, rows, target);
    for (const m of mi) expect(m.mutualInformation).toBeCloseTo(py.mi[m.attribute]!, 10);
    expect(mi[0]!.attribute).toBe('site');
  });
});
