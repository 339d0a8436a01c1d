// Labelling a map selection: before anything is written, the items that already carry another label or that the
// model disagrees with are listed in a grid to look at first (each left out unless ticked); then the rest is written
// as ONE undoable step (labels.bulkSet: every item its own event with source "bulk"), with Undo right there.
import { useEffect, useRef, useState } from 'react';
import type { CallResult } from '../../../../shared/contract.ts';
import type { LabelGroup, Level } from '../../../../shared/label-schema.ts';
import { api } from '../../api/client.ts';
import { renderThumbnail } from '../../viewer/cornerstone.ts';

type Preview = CallResult<'labels.bulkPreview'>;

const plural = (level: Level): string => (level === 'series' ? 'series' : level === 'study' ? 'studies' : 'images');

function Tile({ instanceId }: { instanceId: number | null }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current && instanceId !== null) renderThumbnail(ref.current, api.imageId(instanceId)).catch(() => undefined);
  }, [instanceId]);
  return <canvas ref={ref} width={96} height={96} />;
}

export function BulkLabelDialog({ group, labels, level, itemIds, onClose }: { group: LabelGroup; labels: string[]; level: Level; itemIds: number[]; onClose: () => void }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [include, setInclude] = useState<Set<number>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<{ written: number; undone: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api.call('labels.bulkPreview', { group: group.key, labels, level, itemIds }).then(setPreview, (e: Error) => setError(e.message));
  }, [group, labels, level, itemIds]);
  const name = (keys: string[] | null): string => (keys === null ? 'unlabelled' : keys.length === 0 ? 'none' : keys.map((k) => group.labels.find((l) => l.key === k)?.name ?? k).join(', '));
  const chosen = name(labels);
  const review = preview?.targets.filter((t) => t.otherLabel || t.disagrees) ?? [];
  const plain = preview?.targets.filter((t) => !t.otherLabel && !t.disagrees) ?? [];
  const toWrite = preview ? [...plain.map((t) => t.itemId), ...review.filter((t) => include.has(t.itemId)).map((t) => t.itemId)] : [];
  const write = (): void => {
    setBusy(true);
    api.call('labels.bulkSet', { group: group.key, labels, itemIds: toWrite }).then((r) => setDone({ written: r.written, undone: false }), (e: Error) => setError(e.message)).finally(() => setBusy(false));
  };
  const undo = (): void => {
    setBusy(true);
    api.call('labels.undo', {}).then(() => setDone((d) => (d ? { ...d, undone: true } : d)), (e: Error) => setError(e.message)).finally(() => setBusy(false));
  };
  const toggle = (id: number): void => setInclude((s) => { const n = new Set(s); if (n.has(id)) n.delete(id); else n.add(id); return n; });
  return (
    <div className="modal-backdrop" role="dialog" aria-label="Label the selection">
      <div className="modal bulk" data-testid="bulk-dialog">
        <h2>Label {itemIds.length} selected {plural(level)} as “{chosen}” ({group.name})</h2>
        {error && <div className="banner error">{error}</div>}
        {!preview && !error && <div className="dim">Checking the selection…</div>}
        {preview && !done && (
          <>
            <p data-testid="bulk-summary">
              {preview.targets.length} {plural(preview.level)} hold the selection{preview.level !== level ? ` (the group labels ${plural(preview.level)})` : ''}.{' '}
              <span data-testid="bulk-other">{preview.otherLabel} already carry another label</span>,{' '}
              <span data-testid="bulk-disagree">{preview.disagree} disagree with the model</span>,{' '}
              {preview.unchanged} already hold it.
            </p>
            {review.length > 0 && (
              <>
                <h3>Look at these first <span className="dim">— left out unless ticked</span>{' '}
                  <button className="link" onClick={() => setInclude(new Set(review.map((t) => t.itemId)))}>include all</button></h3>
                <div className="bulk-grid" data-testid="bulk-review">
                  {review.map((t) => (
                    <label key={t.itemId} className={`bulk-tile ${include.has(t.itemId) ? 'on' : ''}`} data-testid="bulk-review-item" data-item-id={t.itemId}>
                      <Tile instanceId={t.instanceId} />
                      <span>{t.otherLabel ? <>now: <strong>{name(t.labels)}</strong></> : 'unlabelled'}</span>
                      {t.suggestion && <span className={t.disagrees ? 'warn-text' : 'dim'}>model: {name(t.suggestion)}</span>}
                      <span><input type="checkbox" checked={include.has(t.itemId)} onChange={() => toggle(t.itemId)} /> include</span>
                      <button className="link" onClick={(e) => { e.preventDefault(); location.hash = `#/study/${t.studyId}`; }}>open</button>
                    </label>
                  ))}
                </div>
              </>
            )}
            <div className="actions">
              <button onClick={onClose}>Cancel</button>
              <button className="primary" disabled={busy || toWrite.length === 0} onClick={write} data-testid="bulk-confirm">Label {toWrite.length} as “{chosen}” in one step</button>
            </div>
          </>
        )}
        {done && (
          <>
            <p data-testid="bulk-done">{done.undone ? `Undone: the ${done.written} labels of that step are taken back.` : `Labelled ${done.written} as “${chosen}” in one step (source: bulk).`}</p>
            <div className="actions">
              {!done.undone && <button onClick={undo} disabled={busy} data-testid="bulk-undo">Undo</button>}
              <button onClick={onClose} data-testid="bulk-close">Close</button>
            </div>
          </>
        )}
      </div>
    </div>
  );
}
