// Images most like what a viewport showed, by cosine similarity of their embeddings: the study view's and the
// labelling view's Similar panel.
import { useEffect, useState } from 'react';
import type { Neighbour } from '../../../shared/contract.ts';
import { api } from '../api/client.ts';
import type { Snapshot } from '../viewer/snapshot.ts';
import { formatPersonName } from './format.ts';

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Images ranked by similarity, each with its score and a way to open its study (also the text search's results). */
export function NeighbourList({ items, onOpenStudy, testId = 'similar-item' }: { items: Neighbour[]; onOpenStudy: (studyId: number) => void; testId?: string }) {
  return (
    <ul>
      {items.map((n) => (
        <li key={n.instanceId} data-testid={testId} data-instance-id={n.instanceId} data-study-id={n.studyId}>
          <span className="score">{n.score.toFixed(3)}</span>
          <span className="grow">{formatPersonName(n.patientName)} · {n.studyDescription} {n.seriesDescription}</span>
          <button onClick={() => onOpenStudy(n.studyId)}>Open</button>
        </li>
      ))}
    </ul>
  );
}

export function SimilarPanel({ snap, onOpenStudy, onClose }: { snap: Snapshot; onOpenStudy: (studyId: number) => void; onClose: () => void }) {
  const [result, setResult] = useState<{ neighbours: Neighbour[]; model: string; provider: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setResult(null);
    setError(null);
    api.call('embed.pixels', { width: snap.width, height: snap.height, channels: 3, data: toBase64(snap.rgb), neighbours: 12 })
      .then(setResult, (e: Error) => setError(e.message));
  }, [snap]);
  return (
    <aside className="similar" data-testid="similar-panel">
      <h3><span className="grow">Similar images</span><button className="link" onClick={onClose} title="Close" data-testid="similar-close">×</button></h3>
      {error && <div className="banner error">{error}</div>}
      {!result && !error && <div className="dim">Embedding the view…</div>}
      {result && result.neighbours.length === 0 && <div className="dim">No embedded images yet: run Embed first.</div>}
      {result && <NeighbourList items={result.neighbours} onOpenStudy={onOpenStudy} />}
      {result && <div className="dim">{result.model} on {result.provider}</div>}
    </aside>
  );
}
