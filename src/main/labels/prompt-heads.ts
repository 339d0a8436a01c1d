// Zero-shot heads from the schema's own words: each label's prompt (several, separated by "|", are averaged as an
// ensemble) embedded by the package's text encoder becomes that label's row of the group's head. Labels without a
// prompt keep the package's precomputed head row (matched by name, as without a text encoder). In a single-choice
// group a parent with children gets no row of its own: its probability is the sum of its children's.
import type { LabelGroup } from '../../shared/label-schema.ts';
import type { ModelPackage } from '../inference/model-package.ts';
import type { TextEmbedder } from '../inference/text-engine.ts';
import type { GroupJob } from './suggest-engine.ts';

/** The prompts of one label: its prompt text split at "|", trimmed, empty ones dropped. */
export function splitPrompts(prompt: string): string[] {
  return prompt.split('|').map((p) => p.trim()).filter((p) => p.length > 0);
}

export interface PromptHead {
  /** labels × dim unit rows (a label without a row is all zeros). */
  head: Float32Array;
  /** Per label: its row (its own index) or -1. */
  headRow: Int32Array;
  logitScale: number;
  /** Changes whenever any row would: the prompts, and which labels fell back to the package's head. */
  key: string;
  /** Per label: the prompt text its row came from (null: no prompt, the package's head or none). */
  prompts: (string | null)[];
  /** Labels whose prompt gave nothing to score with, and why. */
  notes: string[];
}

/** The group's head from its prompts, or null when the package has no text encoder (its precomputed head stands). */
export async function promptHead(g: LabelGroup, pkg: ModelPackage, text: TextEmbedder, job: GroupJob): Promise<PromptHead | null> {
  if (!pkg.text) return null;
  const dim = pkg.text.spec.dim;
  const k = g.labels.length;
  const parents = new Set(g.kind === 'single' ? g.labels.map((l) => l.parent).filter((p): p is string => !!p) : []);
  const perLabel = g.labels.map((l) => (parents.has(l.key) ? [] : splitPrompts(l.prompt)));
  const vectors = await text.embed(pkg, [...new Set(perLabel.flat())]);
  const byText = new Map([...new Set(perLabel.flat())].map((t, i) => [t, vectors[i]!]));
  const head = new Float32Array(k * dim);
  const headRow = new Int32Array(k).fill(-1);
  const prompts: (string | null)[] = new Array<string | null>(k).fill(null);
  const notes: string[] = [];
  const keyParts: string[] = [pkg.text.sha256.slice(0, 16)];
  g.labels.forEach((l, c) => {
    const ps = perLabel[c]!;
    const row = head.subarray(c * dim, (c + 1) * dim);
    if (ps.length === 0) {
      // No prompt (or a parent): the package's own head row, when the name matching of groupJob found one.
      const r = job.headRow[c]!;
      if (!parents.has(l.key) && r >= 0 && job.head) {
        row.set(job.head.subarray(r * dim, (r + 1) * dim));
        headRow[c] = c;
        keyParts.push(`head:${r}`);
      } else keyParts.push('-');
      return;
    }
    let used = 0;
    for (const p of ps) {
      const v = byText.get(p)!;
      if (!v.some((x) => x !== 0)) continue;
      for (let d = 0; d < dim; d++) row[d]! += v[d]!;
      used++;
    }
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += row[d]! ** 2;
    norm = Math.sqrt(norm);
    if (used === 0 || norm < 1e-6) {
      row.fill(0);
      notes.push(`"${l.name}": the model's text encoder finds nothing it knows in the prompt "${l.prompt.slice(0, 100)}"; reword it for zero-shot suggestions`);
      keyParts.push('-');
      return;
    }
    for (let d = 0; d < dim; d++) row[d]! /= norm;
    headRow[c] = c;
    prompts[c] = ps.join(' | ');
    keyParts.push(`p:${ps.join('|')}`);
  });
  return { head, headRow, logitScale: pkg.text.spec.logitScale, key: keyParts.join('\n'), prompts, notes };
}

/** The group job scored against the prompt head instead of the package's precomputed one. */
export function withPromptHead(job: GroupJob, ph: PromptHead): GroupJob {
  return { ...job, head: ph.head, headRow: ph.headRow, logitScale: ph.logitScale, headKey: ph.key, headSource: "the labels' prompts" };
}
