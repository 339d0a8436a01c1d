// Each reader's order of a study: the items shuffled with a seed of their own (the study's seed and the reader's
// name), then the repeats (a share of the items, shuffled again) after every first read, so a repeat is read
// long after the first look. Pure: the same study and reader always give the same order.
import { mulberry32 } from '../../shared/random.ts';

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

function shuffle<T>(list: T[], random: () => number): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}

/** Item indices in the order `reader` reads them; positions at or after items.length are repeats. */
export function readingOrder(items: number, seed: number, reader: string, repeatShare: number): number[] {
  const random = mulberry32((seed ^ hash(reader)) >>> 0);
  const first = shuffle(Array.from({ length: items }, (_, i) => i), random);
  const repeats = shuffle(shuffle([...first], random).slice(0, Math.round(items * repeatShare)), random);
  return [...first, ...repeats];
}
