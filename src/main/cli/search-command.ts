// `lightbox search "<text>"`: free-text search over a project's embeddings through the same call as the workstation
// (search.text), so validation and errors are the API's.
import { LightboxError } from '../../shared/contract.ts';
import { Lightbox } from '../app.ts';

export const SEARCH_USAGE = `  search "<text>" --project <dir> [--level image|series|study] [--k N] [--json]
                                             the items nearest to the text (the model's text encoder)`;

type Flags = ReadonlyMap<string, string | true>;

export async function runSearch(words: string[], flags: Flags, project: string): Promise<number> {
  const text = words.join(' ').trim();
  if (!text) throw new LightboxError('bad-request', 'search needs a text: lightbox search "pleural effusion" --project <dir>');
  const level = flags.get('level');
  const k = flags.get('k');
  const input: Record<string, unknown> = { text };
  if (typeof level === 'string') input.level = level;
  if (typeof k === 'string') {
    const n = Number(k);
    if (!Number.isInteger(n)) throw new LightboxError('bad-request', `--k must be a whole number, not "${k}"`);
    input.k = n;
  }
  const app = Lightbox.open(project);
  try {
    const r = await app.call('search.text', input);
    if (!r.ok) {
      console.error(`lightbox search: ${r.error.message}`);
      return r.error.code === 'bad-request' ? 2 : 1;
    }
    const res = r.result as { model: string; level: string; items: { itemId: number; studyId: number; score: number; patientName: string; studyDescription: string; seriesDescription: string }[] };
    if (flags.get('json') === true) process.stdout.write(`${JSON.stringify(res)}\n`);
    else {
      console.log(`${res.items.length} ${res.level}s nearest to "${text}" (${res.model}):`);
      for (const h of res.items) console.log(`  ${h.score.toFixed(3)}  ${res.level} ${h.itemId}  study ${h.studyId}  ${h.patientName}  ${h.studyDescription} ${h.seriesDescription}`.trimEnd());
    }
    return 0;
  } finally {
    await app.close();
  }
}
