// Where an API answer says what the model thinks: the walk the blinding tests (labels-blinded, reader-blinding)
// run over every answer a blinded reader gets.
import { DEMO_SCHEMA } from '../src/shared/label-schema.ts';

const NAMES = DEMO_SCHEMA.groups.flatMap((g) => g.labels.map((l) => l.name));
const NUMBER_IN_WORDS = /\d\.\d\d|\d+ ?%/;
const MODEL_NUMBERS = new Set(['probability', 'score', 'agreement', 'zeroShot', 'knn', 'adapter']);
const MODEL_WORDS = new Set(['reason', 'detail', 'message', 'modelDetail']);

/** Where in `v` the model speaks: paths of model-derived fields that carry a value. */
export function leaks(v: unknown, at = '$'): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leaks(x, `${at}[${i}]`));
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) => {
    const here = `${at}.${k}`;
    if (MODEL_NUMBERS.has(k) && typeof x === 'number') return [`${here} = ${x}`];
    if (k === 'suggested' && (typeof x === 'number' || (typeof x === 'string' && x !== ''))) return [`${here} = ${JSON.stringify(x)}`];
    if ((k === 'suggestion' || k === 'ranked') && x !== null && !(Array.isArray(x) && x.length === 0)) return [`${here} is shown`];
    if (k === 'curve' && Array.isArray(x) && x.length > 0) return [`${here} has ${x.length} points`];
    if (MODEL_WORDS.has(k) && typeof x === 'string' && (NAMES.some((n) => x.includes(n)) || NUMBER_IN_WORDS.test(x))) return [`${here} = ${JSON.stringify(x)}`];
    return leaks(x, here);
  });
}

