// The prompt workbench in the schema editor: for a saved label, the ROC AUC (one-vs-rest) of the prompt as it is
// being typed against the labels already accepted in its group, recomputed a moment after typing stops.
import { useEffect, useState } from 'react';
import type { CallResult } from '../../../../shared/contract.ts';
import { api } from '../../api/client.ts';

type Result = CallResult<'prompts.auc'>['results'][number];

export function PromptAucCell({ group, label, prompt, saved }: { group: string; label: string; prompt: string; saved: boolean }) {
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setResult(null);
    setError(null);
    if (!saved) return;
    let stale = false;
    const t = setTimeout(() => {
      api.call('prompts.auc', { group, label, prompts: [prompt] }).then(
        (r) => { if (!stale) setResult(r.results[0] ?? null); },
        (e: Error) => { if (!stale) setError(e.message); },
      );
    }, 300);
    return () => { stale = true; clearTimeout(t); };
  }, [group, label, prompt, saved]);
  if (!saved) return <td className="dim" title="Save the schema to score this prompt">–</td>;
  if (error) return <td className="dim" title={error} data-testid="prompt-auc" data-auc="">n/a</td>;
  if (!result) return <td className="dim" data-testid="prompt-auc" data-auc="">…</td>;
  return (
    <td className={result.auc === null ? 'dim' : 'num'} data-testid="prompt-auc" data-auc={result.auc ?? ''}
      title={result.note ?? `ROC AUC of this prompt's similarity over ${result.positives} items labelled with it and ${result.negatives} labelled otherwise`}>
      {result.auc === null ? 'n/a' : result.auc.toFixed(2)}
    </td>
  );
}

/**
 * Alternative wordings side by side: one per line, each with its AUC next to the current prompt's (prompt wording
 * alone can move zero-shot AUC a lot); Use puts one into the label.
 */
export function PromptAlternatives({ group, label, prompt, onUse }: { group: string; label: string; prompt: string; onUse: (prompt: string) => void }) {
  const [text, setText] = useState('');
  const [results, setResults] = useState<Result[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0).slice(0, 9);
  const key = JSON.stringify([prompt, ...lines]);
  useEffect(() => {
    let stale = false;
    const t = setTimeout(() => {
      const prompts = JSON.parse(key) as string[];
      api.call('prompts.auc', { group, label, prompts }).then(
        (r) => { if (!stale) { setResults(r.results); setError(null); } },
        (e: Error) => { if (!stale) setError(e.message); },
      );
    }, 300);
    return () => { stale = true; clearTimeout(t); };
  }, [group, label, key]);
  return (
    <div className="prompt-alternatives" data-testid="prompt-alternatives">
      <textarea rows={3} value={text} onChange={(e) => setText(e.target.value)} placeholder="Other wordings to compare, one per line" aria-label="Alternative prompts" data-testid="alternative-prompts" />
      {error && <div className="banner error">{error}</div>}
      {results && (
        <table>
          <tbody>
            {results.map((r, i) => (
              <tr key={i} data-testid="alternative" data-auc={r.auc ?? ''}>
                <td className="num">{r.auc === null ? 'n/a' : r.auc.toFixed(2)}</td>
                <td className={i === 0 ? 'dim' : ''} title={r.note ?? ''}>{i === 0 ? `current: ${r.prompt || '(none)'}` : r.prompt}</td>
                <td>{i > 0 && <button onClick={() => onUse(r.prompt)} data-testid="use-alternative">Use</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
