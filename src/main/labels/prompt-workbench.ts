// The prompt workbench: how well a label's prompt (or alternatives being tried) separates the items already
// labelled with it from the group's other labelled items — the one-vs-rest ROC AUC of the prompt's cosine score —
// so a clinician can reword a prompt and see whether zero-shot would do better before relying on it.
import type { AreaHandlers, CallParsed, CallResult } from '../../shared/contract.ts';
import { LightboxError } from '../../shared/contract.ts';
import type { TextSearch } from '../inference/text-search.ts';
import { cosines } from '../inference/text-search.ts';
import { splitPrompts } from './prompt-heads.ts';
import type { SchemaService } from './schema-service.ts';

/** ROC AUC of scores (positives vs negatives), ties counted half: the Mann–Whitney U over pos × neg. */
export function rocAuc(pos: readonly number[], neg: readonly number[]): number | null {
  if (!pos.length || !neg.length) return null;
  const all = [...pos.map((s) => ({ s, p: 1 })), ...neg.map((s) => ({ s, p: 0 }))].sort((a, b) => a.s - b.s);
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j]!.s === all[i]!.s) j++;
    const mid = (i + j + 1) / 2; // mean of ranks i+1..j
    for (let t = i; t < j; t++) if (all[t]!.p) rankSum += mid;
    i = j;
  }
  return (rankSum - (pos.length * (pos.length + 1)) / 2) / (pos.length * neg.length);
}

export class PromptWorkbench {
  private readonly schemas: SchemaService;
  private readonly search: TextSearch;

  constructor(schemas: SchemaService, search: TextSearch) {
    this.schemas = schemas;
    this.search = search;
  }

  async auc({ group, label, prompts }: CallParsed<'prompts.auc'>): Promise<CallResult<'prompts.auc'>> {
    const g = this.schemas.groups.find((x) => x.key === group);
    if (!g) throw new LightboxError('not-found', `prompts.auc: the schema has no group "${group}"`);
    const l = g.labels.find((x) => x.key === label);
    if (!l) throw new LightboxError('not-found', `prompts.auc: group "${group}" has no label "${label}" (its labels: ${g.labels.map((x) => x.key).join(', ')})`);
    const texts = prompts.length ? prompts : [l.prompt];
    const items = await this.search.items(g.level);
    const at = new Map(items.uids.map((u, i) => [u, i]));
    // Stored values include the ancestors of the chosen label, so a parent's positives are its children's too.
    const labelled = [...this.schemas.labelled(g)].flatMap(([uid, labels]) => (at.has(uid) ? [{ i: at.get(uid)!, pos: labels.includes(label) }] : []));
    const positives = labelled.filter((x) => x.pos).length;
    const negatives = labelled.length - positives;
    const results = [];
    for (const prompt of texts) {
      const parts = splitPrompts(prompt);
      const base = { prompt, positives, negatives };
      if (!parts.length) { results.push({ ...base, auc: null, note: 'no prompt: write one' }); continue; }
      const vs = await this.search.embedTexts(items.pkg, parts);
      const q = new Float32Array(items.dim);
      for (const v of vs) for (let d = 0; d < items.dim; d++) q[d]! += v[d]!;
      const norm = Math.hypot(...q);
      if (norm < 1e-6) { results.push({ ...base, auc: null, note: `the text encoder of ${items.pkg.manifest.name} finds nothing it knows in this prompt` }); continue; }
      for (let d = 0; d < items.dim; d++) q[d]! /= norm;
      const scores = cosines(items, q);
      const auc = rocAuc(labelled.filter((x) => x.pos).map((x) => scores[x.i]!), labelled.filter((x) => !x.pos).map((x) => scores[x.i]!));
      results.push({ ...base, auc, note: auc === null ? (positives ? `no item of "${g.name}" is labelled otherwise yet` : `no item is labelled "${l.name}" yet`) : null });
    }
    return { group, label, labelled: labelled.length, results };
  }
}

export function promptHandlers(workbench: PromptWorkbench): AreaHandlers<'prompts'> {
  return { 'prompts.auc': (input) => workbench.auc(input) };
}
