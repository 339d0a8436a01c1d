// A shallow decision tree over categorical item attributes predicting where a model errs: CART with Gini impurity
// on a binary target (1: the model disagrees with the reference), each split one attribute value against the rest
// — the tree scikit-learn's DecisionTreeClassifier grows on one-hot columns (a column ≤ 0.5 goes left: the "rest"
// side). A node splits while it is impure, shallower than maxDepth and has a split leaving minLeaf items on each
// side; the split taken lowers the children's weighted impurity most (the first such in attribute and value order
// on ties). Plus each attribute's mutual information with the target (nats, as scikit-learn's mutual_info_score).

export interface ErrorNode {
  id: number;
  depth: number;
  n: number;
  errors: number;
  /** The condition that leads here from the parent (null at the root). */
  condition: { attribute: string; value: string; equals: boolean } | null;
  /** [rest, equals] child ids; empty for a leaf. */
  children: number[];
  /** Row indices of the items in this node. */
  rows: number[];
}

const gini = (errors: number, n: number): number => {
  if (n === 0) return 0;
  const p = errors / n;
  return 2 * p * (1 - p);
};

/** `rows[i][a]`: item i's value of attribute a; `target[i]`: 1 where the model errs. */
export function fitErrorTree(attributes: readonly string[], rows: readonly (readonly string[])[], target: ArrayLike<number>, maxDepth = 3, minLeaf = 5): ErrorNode[] {
  const nodes: ErrorNode[] = [];
  const grow = (members: number[], depth: number, condition: ErrorNode['condition']): number => {
    let errors = 0;
    for (const i of members) errors += target[i]!;
    const node: ErrorNode = { id: nodes.length, depth, n: members.length, errors, condition, children: [], rows: members };
    nodes.push(node);
    if (depth >= maxDepth || errors === 0 || errors === members.length || members.length < 2 * minLeaf) return node.id;
    let best: { a: number; v: string; score: number } | null = null;
    for (let a = 0; a < attributes.length; a++) {
      const counts = new Map<string, { n: number; e: number }>();
      for (const i of members) {
        const v = rows[i]![a]!;
        const c = counts.get(v) ?? { n: 0, e: 0 };
        c.n++;
        c.e += target[i]!;
        counts.set(v, c);
      }
      for (const v of [...counts.keys()].sort()) {
        const yes = counts.get(v)!;
        const noN = members.length - yes.n, noE = errors - yes.e;
        if (yes.n < minLeaf || noN < minLeaf) continue;
        const score = (yes.n * gini(yes.e, yes.n) + noN * gini(noE, noN)) / members.length;
        if (best === null || score < best.score - 1e-12) best = { a, v, score };
      }
    }
    if (!best) return node.id;
    const attribute = attributes[best.a]!;
    const rest = members.filter((i) => rows[i]![best.a] !== best.v);
    const equal = members.filter((i) => rows[i]![best.a] === best.v);
    node.children = [grow(rest, depth + 1, { attribute, value: best.v, equals: false }), grow(equal, depth + 1, { attribute, value: best.v, equals: true })];
    return node.id;
  };
  grow(Array.from({ length: rows.length }, (_, i) => i), 0, null);
  return nodes;
}

/** Mutual information (nats) between each attribute and the binary target. */
export function mutualInformation(attributes: readonly string[], rows: readonly (readonly string[])[], target: ArrayLike<number>): { attribute: string; mutualInformation: number }[] {
  const n = rows.length;
  return attributes.map((attribute, a) => {
    const joint = new Map<string, number>();
    const px = new Map<string, number>();
    let py1 = 0;
    for (let i = 0; i < n; i++) {
      const v = rows[i]![a]!;
      const t = target[i]!;
      joint.set(`${t}\u0000${v}`, (joint.get(`${t}\u0000${v}`) ?? 0) + 1);
      px.set(v, (px.get(v) ?? 0) + 1);
      py1 += t;
    }
    let mi = 0;
    for (const [key, c] of joint) {
      const [t, v] = key.split('\u0000') as [string, string];
      const pt = (t === '1' ? py1 : n - py1) / n;
      mi += (c / n) * Math.log((c / n) / (pt * (px.get(v)! / n)));
    }
    return { attribute, mutualInformation: Math.max(0, mi) };
  }).sort((x, y) => y.mutualInformation - x.mutualInformation);
}
