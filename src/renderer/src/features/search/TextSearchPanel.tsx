// Free-text search: words in, the project's studies (or series, or images) nearest to them by the model's text
// encoder, shown as the Similar panel shows similar images.
import { useState } from 'react';
import type { FormEvent } from 'react';
import type { CallResult } from '../../../../shared/contract.ts';
import { LEVELS } from '../../../../shared/label-schema.ts';
import type { Level } from '../../../../shared/label-schema.ts';
import { api } from '../../api/client.ts';
import { NeighbourList } from '../../components/SimilarPanel.tsx';

export function TextSearchPanel({ onOpenStudy, onClose }: { onOpenStudy: (studyId: number) => void; onClose: () => void }) {
  const [text, setText] = useState('');
  const [level, setLevel] = useState<Level>('study');
  const [result, setResult] = useState<CallResult<'search.text'> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    setError(null);
    api.call('search.text', { text, level, k: 30 }).then(
      (r) => { setResult(r); setBusy(false); },
      (err: Error) => { setError(err.message); setResult(null); setBusy(false); },
    );
  };
  return (
    <aside className="similar text-search" data-testid="text-search-panel">
      <h3><span className="grow">Search by text</span><button className="link" onClick={onClose} title="Close" data-testid="text-search-close">×</button></h3>
      <form className="row" onSubmit={submit}>
        <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="e.g. pleural effusion" aria-label="Search text" data-testid="text-search-input" autoFocus />
        <select value={level} onChange={(e) => setLevel(e.target.value as Level)} aria-label="Level">
          {LEVELS.map((l) => <option key={l} value={l}>{l}</option>)}
        </select>
        <button type="submit" disabled={busy} data-testid="text-search-go">{busy ? '…' : 'Search'}</button>
      </form>
      {error && <div className="banner error" data-testid="text-search-error">{error}</div>}
      {result && result.items.length === 0 && <div className="dim">Nothing embedded at this level yet.</div>}
      {result && <NeighbourList items={result.items} onOpenStudy={onOpenStudy} testId="text-search-item" />}
      {result && <div className="dim" data-testid="text-search-summary">{result.items.length} nearest at the {result.level} level · {result.model}</div>}
    </aside>
  );
}
