// Leak-free splits: whole patients go to one split (a patient never appears in two), stratified by label, and
// reproducible from a seed. The assignment is greedy in the manner of stratified group k-fold: patients are
// shuffled with the seed, the ones carrying rare labels are placed first, and each goes to the split where it
// is least full relative to its targets, for the patient's labels and for its size.
import { mulberry32 } from '../../shared/random.ts';

/** A patient: its key and how many of its items carry each stratification label. */
export interface SplitUnit { key: string; counts: Map<string, number>; items: number }

/** Assigns each unit to one of `fractions.length` parts; returns unit key → part index. */
export function assignGroups(units: readonly SplitUnit[], fractions: readonly number[], seed: number): Map<string, number> {
  const rand = mulberry32(seed);
  const order = units.map((u, i) => ({ u, r: rand(), i }));
  const labels = new Map<string, number>();
  let totalItems = 0;
  for (const u of units) {
    totalItems += u.items;
    for (const [l, n] of u.counts) labels.set(l, (labels.get(l) ?? 0) + n);
  }
  // Units with the rarest label first (their placement matters most), then larger units, then the seeded shuffle.
  const rarity = new Map(units.map((u) => [u, Math.min(Infinity, ...[...u.counts.keys()].map((l) => labels.get(l)!))]));
  order.sort((a, b) => rarity.get(a.u)! - rarity.get(b.u)! || b.u.items - a.u.items || a.r - b.r);
  const names = [...labels.keys()];
  const parts = fractions.length;
  const assigned = names.map(() => new Float64Array(parts));
  const size = new Float64Array(parts);
  const out = new Map<string, number>();
  for (const { u } of order) {
    let best = 0;
    let bestCost = Infinity;
    const labelled = [...u.counts.values()].reduce((a, b) => a + b, 0);
    for (let s = 0; s < parts; s++) {
      // How full this part would be, relative to its target, for the unit's labels and for its size: the part
      // that stays least full takes the unit, so every label fills every part in proportion.
      let fill = 0;
      names.forEach((l, li) => {
        const n = u.counts.get(l) ?? 0;
        if (n) fill += (n * (assigned[li]![s]! + n)) / Math.max(1e-9, fractions[s]! * labels.get(l)!);
      });
      const sizeFill = (size[s]! + u.items) / Math.max(1e-9, fractions[s]! * totalItems);
      const cost = labelled ? fill / labelled + 0.5 * sizeFill : sizeFill;
      if (cost < bestCost - 1e-12) { bestCost = cost; best = s; }
    }
    out.set(u.key, best);
    size[best]! += u.items;
    names.forEach((l, li) => { assigned[li]![best]! += u.counts.get(l) ?? 0; });
  }
  return out;
}

export const SPLIT_NAMES: Record<number, readonly string[]> = { 2: ['train', 'test'], 3: ['train', 'val', 'test'] };

