// Agreement of a reading study, per level of the group's hierarchy: the most specific label; the top of the
// hierarchy (e.g. normal vs abnormal); and, under each label with children, the subtypes among the items every
// reader put under it. Plus each reader against themselves on the repeated items.
import type { StudyAgreement } from '../../shared/contract.ts';
import { withAncestors } from '../../shared/label-schema.ts';
import type { LabelGroup } from '../../shared/label-schema.ts';
import { cohenKappa, fleissKappa, krippendorffAlpha, percentAgreement, withInterval, confusionMatrix } from './agreement.ts';
import type { BootstrapOptions, Rating, RatingMatrix, Stat } from './agreement.ts';

type Level = StudyAgreement['levels'][number];
const col = (rows: RatingMatrix, j: number): Rating[] => rows.map((r) => r[j] ?? null);

function levelAgreement(level: string, categories: string[], readers: string[], rows: Rating[][], intra: { reader: string; rows: Rating[][] }[], opts: BootstrapOptions): Level {
  const pairStat = (f: (a: Rating[], b: Rating[]) => Stat, x: number, y: number) =>
    withInterval(rows, (r) => f(col(r, x), col(r, y)), opts);
  const pairs: Level['pairs'] = [];
  for (let x = 0; x < readers.length; x++) {
    for (let y = x + 1; y < readers.length; y++) {
      pairs.push({
        a: readers[x]!, b: readers[y]!,
        percent: pairStat((a, b) => percentAgreement(a, b, categories), x, y),
        kappa: pairStat((a, b) => cohenKappa(a, b, categories, 'none'), x, y),
        kappaLinear: pairStat((a, b) => cohenKappa(a, b, categories, 'linear'), x, y),
        kappaQuadratic: pairStat((a, b) => cohenKappa(a, b, categories, 'quadratic'), x, y),
        confusion: confusionMatrix(col(rows, x), col(rows, y), categories),
      });
    }
  }
  const fleissPoint = fleissKappa(rows, categories);
  const fleiss = { ...withInterval(rows, (r) => fleissKappa(r, categories), opts), readers: fleissPoint.readers };
  return {
    level, categories, fleiss, pairs,
    alpha: withInterval(rows, (r) => krippendorffAlpha(r, categories, 'nominal'), opts),
    intra: intra.map(({ reader, rows: rr }) => ({
      reader,
      percent: withInterval(rr, (r) => percentAgreement(col(r, 0), col(r, 1), categories), opts),
      kappa: withInterval(rr, (r) => cohenKappa(col(r, 0), col(r, 1), categories), opts),
    })),
  };
}

export interface StudyReads {
  study: number;
  group: LabelGroup;
  items: string[];
  readers: string[];
  /** reader → item → label of the first read, and of the repeat. */
  first: Map<string, Map<string, string>>;
  repeat: Map<string, Map<string, string>>;
}

export function studyAgreement(s: StudyReads, opts: BootstrapOptions): StudyAgreement {
  const keys = s.group.labels.map((l) => l.key);
  const raw: Rating[][] = s.items.map((item) => s.readers.map((r) => s.first.get(r)?.get(item) ?? null));
  const matrix = (map: (label: string) => string | null, keep: (row: Rating[]) => boolean = () => true): Rating[][] =>
    raw.filter(keep).map((row) => row.map((v) => (v === null ? null : map(v))));
  const intra = (map: (label: string) => string | null): { reader: string; rows: Rating[][] }[] =>
    s.readers.map((reader) => ({
      reader,
      rows: [...(s.repeat.get(reader) ?? new Map<string, string>())].map(([item, v]) => {
        const f = s.first.get(reader)?.get(item);
        return [f === undefined ? null : map(f), map(v)];
      }),
    }));
  const id = (v: string): string => v;
  const levels: Level[] = [levelAgreement('label', keys, s.readers, matrix(id), intra(id), opts)];
  const hasHierarchy = s.group.labels.some((l) => l.parent !== undefined);
  if (hasHierarchy) {
    const top = (v: string): string => withAncestors(s.group, v)[0]!;
    const roots = s.group.labels.filter((l) => l.parent === undefined).map((l) => l.key);
    levels.push(levelAgreement('top', roots, s.readers, matrix(top), intra(top), opts));
    for (const parent of s.group.labels) {
      const children = s.group.labels.filter((l) => l.parent === parent.key).map((l) => l.key);
      if (children.length === 0) continue;
      // The label right under `parent` on the way to v, or parent itself when the reader named no subtype.
      const under = (v: string): string | null => {
        const chain = withAncestors(s.group, v);
        const at = chain.indexOf(parent.key);
        return at < 0 ? null : (chain[at + 1] ?? parent.key);
      };
      // Only the items that every reader who read them put under `parent`.
      const rows = matrix(under, (row) => row.some((v) => v !== null) && row.every((v) => v === null || under(v) !== null));
      levels.push(levelAgreement(`under:${parent.key}`, [parent.key, ...children], s.readers, rows, intra(under).map((x) => ({ ...x, rows: x.rows.filter((r) => r[0] !== null && r[1] !== null) })), opts));
    }
  }
  return { study: s.study, group: s.group.key, items: s.items.length, levels };
}
