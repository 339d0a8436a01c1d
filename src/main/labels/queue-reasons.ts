// Why an item is in a queue, in the words the reader sees beside it. Pure functions of the group, the item's
// probabilities and the queue's score, so the wording can be tested without a model. A blinded read gets no
// model-derived reason at all (see blindedOrderReason).
import { mostSpecific } from '../../shared/label-schema.ts';
import type { LabelGroup } from '../../shared/label-schema.ts';

/** Probabilities and scores as the queues print them. */
export const pct = (p: number): string => p.toFixed(2);

export const NOT_LABELLED_REASON = 'Not labelled yet';

const nameOf = (g: LabelGroup, key: string): string => g.labels.find((l) => l.key === key)?.name ?? key;

/** Classes by probability, highest first. */
const ranked = (p: ArrayLike<number>): { c: number; v: number }[] => Array.from(p, (v, c) => ({ c, v })).sort((a, b) => b.v - a.v);

/**
 * An uncertain item: the label closest to 50 % (multi-label), or the top two labels and how close they are
 * (single-choice). `p` holds the item's probability per label of the group.
 */
export function uncertainReason(g: LabelGroup, p: ArrayLike<number>, source: string): string {
  const top = ranked(p);
  if (g.kind === 'multi') {
    const edge = top.slice().sort((a, b) => Math.abs(a.v - 0.5) - Math.abs(b.v - 0.5))[0]!;
    return `Uncertain: ${g.labels[edge.c]!.name} at ${pct(edge.v)} (${source})`;
  }
  return `Uncertain: ${g.labels[top[0]!.c]!.name} ${pct(top[0]!.v)} vs ${g.labels[top[1]?.c ?? 0]!.name} ${pct(top[1]?.v ?? 0)} (${source})`;
}

/** A confident item: how sure the model is (`score`), and of which label (single-choice). */
export function confidentReason(g: LabelGroup, p: ArrayLike<number>, score: number, source: string): string {
  return `Confident: ${g.kind === 'multi' ? 'decisions' : g.labels[ranked(p)[0]!.c]!.name} ${pct(score)} (${source})`;
}

/**
 * Why an item is in the uncertain or confident queue of a blinded read. Those queues are the model's ranking, and
 * the ranking itself says what the model thinks (the head of "most confident" is what it is surest of), so a
 * blinded read gets the undecided items in project order instead, and is told so.
 */
export const blindedOrderReason = (queue: 'uncertain' | 'confident'): string =>
  `Not labelled yet (blinded read: project order, not ${queue === 'uncertain' ? 'most uncertain' : 'most confident'} first, so the order does not hint at the model)`;

/**
 * A labelled item that held-out predictions contradict: `current` is its labels, `cls` the contradicting class
 * and `p` the held-out probabilities per label.
 */
export function labelErrorReason(g: LabelGroup, current: readonly string[], cls: number, p: ArrayLike<number>, source: string | null): string {
  const other = g.labels[cls]!.key;
  if (g.kind === 'single') {
    const given = mostSpecific(g, current).at(-1) ?? '';
    const givenP = p[g.labels.findIndex((l) => l.key === given)] ?? 0;
    return `Possible label error: labelled ${nameOf(g, given)}, but held-out ${source} predictions give ${nameOf(g, other)} ${pct(p[cls]!)} vs ${nameOf(g, given)} ${pct(givenP)}`;
  }
  return `Possible label error: ${nameOf(g, other)} is ${current.includes(other) ? 'set' : 'not set'}, held-out ${source} predictions say ${pct(p[cls]!)}`;
}

/** A flagged item, with the start of its note. */
export function flaggedReason(note: string): string {
  return `Flagged for a second opinion${note ? `: ${note.slice(0, 80)}` : ''}`;
}
