// Why an item is in a queue, in the words the reader sees beside it. Pure functions of the group, the item's
// probabilities and the queue's score, so the wording can be tested without a model. In a blinded read no reason
// names a label: the suggestion itself stays hidden until the reader commits or asks.
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
 * (single-choice). `p` holds the item's probability per label of the group, `score` the queue's certainty.
 */
export function uncertainReason(g: LabelGroup, p: ArrayLike<number>, score: number, source: string, blinded: boolean): string {
  const top = ranked(p);
  if (g.kind === 'multi') {
    const edge = top.slice().sort((a, b) => Math.abs(a.v - 0.5) - Math.abs(b.v - 0.5))[0]!;
    return blinded ? `Uncertain: a label is near 50 % (${source})` : `Uncertain: ${g.labels[edge.c]!.name} at ${pct(edge.v)} (${source})`;
  }
  return blinded
    ? `Uncertain: the top two labels are ${pct(score)} apart (${source})`
    : `Uncertain: ${g.labels[top[0]!.c]!.name} ${pct(top[0]!.v)} vs ${g.labels[top[1]?.c ?? 0]!.name} ${pct(top[1]?.v ?? 0)} (${source})`;
}

/** A confident item: how sure the model is, and of which label (single-choice). */
export function confidentReason(g: LabelGroup, p: ArrayLike<number>, score: number, source: string, blinded: boolean): string {
  if (blinded) return `Confident: the model is ${pct(score)} sure (${source})`;
  return `Confident: ${g.kind === 'multi' ? 'decisions' : g.labels[ranked(p)[0]!.c]!.name} ${pct(score)} (${source})`;
}

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
