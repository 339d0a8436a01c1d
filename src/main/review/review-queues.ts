// Review queues from the embeddings, each item with the reason it is there, read from the nearest-neighbour graph
// the map job saves: near-duplicates (cosine similarity at or above a threshold: the same image twice, or the same
// patient filed under two IDs — a leak across train/test splits) and outliers (far from their nearest neighbours
// compared with the rest of the project: a wrong body part, modality or orientation, a corrupted image).
import type Database from 'better-sqlite3';
import type { CallResult } from '../../shared/contract.ts';
import type { Level } from '../../shared/label-schema.ts';
import type { SavedNeighbours } from './map-cache.ts';
import { CONTEXT } from './map-points.ts';
import type { PointRow } from './map-points.ts';

type Queue = CallResult<'review.duplicates'>;
type Item = Queue['items'][number];

/** Neighbouring slices of one volume are alike by nature; they are not duplicates. */
const VOLUME = new Set(['CT', 'MR', 'PT', 'NM']);

const word = (level: Level): string => (level === 'series' ? 'series' : level);

function contextOf(db: Database.Database, level: Level): Map<number, PointRow> {
  return new Map((db.prepare(CONTEXT[level]).all() as PointRow[]).map((r) => [r.id, r]));
}

function entry(a: PointRow, score: number, reason: string, b: PointRow | null): Item {
  return {
    itemId: a.id, studyId: a.studyId, instanceId: a.instanceId ?? null, score, reason,
    other: b ? { itemId: b.id, studyId: b.studyId, instanceId: b.instanceId ?? null } : null,
  };
}

export function duplicateQueue(db: Database.Database, level: Level, g: SavedNeighbours | null, threshold: number, limit: number): Queue {
  if (!g) return { level, ready: false, exact: false, total: 0, items: [] };
  const ctx = contextOf(db, level);
  const pairs: { a: PointRow; b: PointRow; sim: number }[] = [];
  const seen = new Set<string>();
  const n = g.ids.length;
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < g.k; r++) {
      const j = g.nn[i * g.k + r]!;
      const sim = g.sim[i * g.k + r]!;
      if (j < 0 || sim < threshold) continue;
      const key = i < j ? `${i}:${j}` : `${j}:${i}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const a = ctx.get(g.ids[i]!);
      const b = ctx.get(g.ids[j]!);
      if (!a || !b) continue;
      if (level === 'image' && a.seriesId === b.seriesId && VOLUME.has(a.modality)) continue;
      pairs.push(a.id < b.id ? { a, b, sim } : { a: b, b: a, sim });
    }
  }
  pairs.sort((p, q) => q.sim - p.sim || p.a.id - q.a.id);
  const items = pairs.slice(0, limit).map(({ a, b, sim }) => {
    const where = a.patientId !== b.patientId
      ? ` filed under another patient ID (${a.patientId || 'none'} vs ${b.patientId || 'none'}): if this is one patient under two IDs, a patient-level split would put them in both train and test`
      : a.studyId === b.studyId ? ' in the same study' : ' of the same patient, in another study';
    return entry(a, sim, `Near-duplicate of ${word(level)} ${b.id} (cosine ${sim.toFixed(4)} ≥ ${threshold}),${where}`, b);
  });
  return { level, ready: true, exact: g.exact, total: pairs.length, items };
}

/** Items whose mean distance to their k nearest neighbours stands out: robust z-score (median, MAD) at least zMin. */
export function outlierQueue(db: Database.Database, level: Level, g: SavedNeighbours | null, zMin: number, limit: number): Queue {
  if (!g) return { level, ready: false, exact: false, total: 0, items: [] };
  const ctx = contextOf(db, level);
  const n = g.ids.length;
  const score = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    let c = 0;
    for (let r = 0; r < g.k; r++) if (g.nn[i * g.k + r]! >= 0) { s += 1 - g.sim[i * g.k + r]!; c++; }
    score[i] = c ? s / c : 0;
  }
  const sorted = Float64Array.from(score).sort();
  const median = sorted[n >> 1] ?? 0;
  const mad = Float64Array.from(score, (s) => Math.abs(s - median)).sort()[n >> 1] ?? 0;
  const spread = Math.max(1.4826 * mad, 1e-6);
  const out: { i: number; z: number }[] = [];
  for (let i = 0; i < n; i++) {
    const z = (score[i]! - median) / spread;
    if (z >= zMin) out.push({ i, z });
  }
  out.sort((p, q) => q.z - p.z);
  const items = out.slice(0, limit).flatMap(({ i, z }) => {
    const a = ctx.get(g.ids[i]!);
    if (!a) return [];
    const near = Array.from({ length: g.k }, (_, r) => g.nn[i * g.k + r]!).filter((j) => j >= 0).map((j) => ctx.get(g.ids[j]!)).filter((x): x is PointRow => !!x);
    const most = (f: (r: PointRow) => string): string => {
      const c = new Map<string, number>();
      for (const r of near) c.set(f(r), (c.get(f(r)) ?? 0) + 1);
      return [...c].sort((p, q) => q[1] - p[1])[0]?.[0] ?? '';
    };
    const notes: string[] = [];
    const mod = most((r) => r.modality);
    if (mod && a.modality && mod !== a.modality) notes.push(`it is ${a.modality} where its nearest neighbours are ${mod}`);
    const body = most((r) => r.bodyPart);
    if (body && a.bodyPart && body !== a.bodyPart) notes.push(`body part ${a.bodyPart} where its neighbours say ${body}`);
    const first = near[0] ?? null;
    const nearest = first ? `; nearest: ${word(level)} ${first.id} at cosine ${g.sim[i * g.k]!.toFixed(3)}` : '';
    const reason = `Far from its ${g.k} nearest neighbours: mean cosine distance ${score[i]!.toFixed(3)}, ${z.toFixed(1)} robust σ above the project's typical ${median.toFixed(3)}${notes.length ? `; ${notes.join('; ')}` : ''}${nearest} — check for a wrong body part, modality or orientation, or a corrupted image`;
    return [entry(a, score[i]!, reason, first)];
  });
  return { level, ready: true, exact: g.exact, total: out.length, items };
}
