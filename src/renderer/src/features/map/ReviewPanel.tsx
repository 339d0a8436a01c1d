// The duplicate and outlier queues beside the map: each item with its reason, its image (and the image it was
// compared with), a button that shows the pair on the map and one that opens the study.
import { useEffect, useRef, useState } from 'react';
import type { CallResult } from '../../../../shared/contract.ts';
import type { Level } from '../../../../shared/label-schema.ts';
import { api } from '../../api/client.ts';
import { renderThumbnail } from '../../viewer/cornerstone.ts';

type Queue = CallResult<'review.duplicates'>;

function Small({ instanceId }: { instanceId: number | null }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current && instanceId !== null) renderThumbnail(ref.current, api.imageId(instanceId)).catch(() => undefined);
  }, [instanceId]);
  return <canvas ref={ref} width={64} height={64} />;
}

export function ReviewPanel({ kind, level, version, onShow, onOpenStudy }: { kind: 'duplicates' | 'outliers'; level: Level; version: number; onShow: (itemIds: number[]) => void; onOpenStudy: (studyId: number) => void }) {
  const [queue, setQueue] = useState<Queue | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setQueue(null);
    api.call(kind === 'duplicates' ? 'review.duplicates' : 'review.outliers', { level, limit: 100 }).then(setQueue, (e: Error) => setError(e.message));
  }, [kind, level, version]);
  return (
    <div className="review-panel" data-testid="review-panel" data-kind={kind}>
      <h3>{kind === 'duplicates' ? 'Near-duplicates' : 'Outliers'} {queue?.ready && <span className="dim">{queue.total}</span>}</h3>
      {error && <div className="banner error">{error}</div>}
      {queue && !queue.ready && <div className="dim">Compute the map first: the queue comes from the same job.</div>}
      {queue?.ready && queue.items.length === 0 && <div className="dim">{kind === 'duplicates' ? 'No pair at or above cosine 0.998.' : 'Nothing stands out from its neighbours.'}</div>}
      <ul>
        {queue?.items.map((it) => (
          <li key={`${it.itemId}:${it.other?.itemId ?? ''}`} data-testid="review-item" data-item-id={it.itemId}>
            <div className="pair"><Small instanceId={it.instanceId} />{kind === 'duplicates' && it.other && <Small instanceId={it.other.instanceId} />}</div>
            <div className="reason" data-testid="review-reason">{it.reason}</div>
            <div>
              <button onClick={() => onShow(it.other ? [it.itemId, it.other.itemId] : [it.itemId])}>Show on map</button>{' '}
              <button onClick={() => onOpenStudy(it.studyId)}>Open</button>
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}
