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
