// Reading one study as the current reader: the next item of their own order, its images and the group's labels —
// and nothing of the model, nor anyone else's reads. Reads resume where the reader stopped; p goes back to change a
// read. The item is served by reading.item, which carries images and the reader's own read only.
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { CallResult } from '../../../../shared/contract.ts';
import { keyHint } from '../../../../shared/keymap.ts';
import { api } from '../../api/client.ts';
import { StackViewer } from '../../components/StackViewer.tsx';
import { KeyHelp } from '../../keyboard/KeyHelp.tsx';
import { useKeymap } from '../../keyboard/use-keymap.ts';
import { stackImages } from '../../viewer/image-ids.ts';
import { useReaders } from './reader-store.ts';
import { Progress } from './StudyList.tsx';
import { labelName, shortcutsOf, useStudyGroup } from './use-study-group.ts';

type Item = CallResult<'reading.item'>;

export function ReadingScreen({ studyId, onClose }: { studyId: number; onClose: () => void }) {
  const readers = useReaders();
  const { study, group, error: loadError, reload } = useStudyGroup(studyId);
  const [item, setItem] = useState<Item | null>(null);
  const [finished, setFinished] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [help, setHelp] = useState(false);
  const [saving, setSaving] = useState(false);
  const reader = readers?.current ?? null;

  const show = useCallback((position: number) => {
    api.call('reading.item', { study: studyId, position }).then((it) => { setItem(it); setFinished(false); setError(null); }, (e: Error) => setError(e.message));
  }, [studyId]);
  const toNext = useCallback(() => {
    api.call('reading.next', { study: studyId }).then((n) => {
      if (n === null) { setFinished(true); setItem(null); reload(); } else show(n.position);
    }, (e: Error) => setError(e.message));
  }, [studyId, show, reload]);
  // The reader changed (or the screen opened): their own place in their own order.
  useEffect(() => { setItem(null); if (reader) toNext(); }, [reader, toNext]);

  const read = (label: string): void => {
    if (!item || saving) return;
    setSaving(true);
    api.call('reading.read', { study: studyId, position: item.position, label })
      .then(() => { reload(); toNext(); }, (e: Error) => setError(e.message))
      .finally(() => setSaving(false));
  };
  const shortcuts = useMemo(() => shortcutsOf(group), [group]);
  useKeymap('reading', {
    'reading.set-label': ({ key }) => { const l = shortcuts.get(key); if (!l || !item) return false; read(l); },
    'reading.next': () => toNext(),
    'reading.previous': () => { if (!item && !finished) return false; const p = item ? item.position - 1 : (study ? (study.progress[0]?.total ?? 1) - 1 : -1); if (p < 0) return false; show(p); },
    'reading.help': () => setHelp((h) => !h),
    'reading.close': () => { if (help) setHelp(false); else onClose(); },
  }, { dynamic: { 'reading.set-label': [...shortcuts.keys()] } });

  const images = useMemo(() => (item ? stackImages(item.images) : []), [item]);
  const mine = study && reader ? study.readers.includes(reader) : false;

  return (
    <div className="reading" data-testid="reading-screen" data-reader={reader ?? ''}>
      <div className="study-header">
        <button onClick={onClose} title={`Back to the reading studies (${keyHint('reading.close')})`}>← Studies</button>
        <strong>{study?.name ?? '…'}</strong>
        <span className="dim">reading as <b data-testid="reading-as">{reader ?? 'no reader'}</b>{study?.blindedToModel ? ' · blinded to the model' : ''}</span>
        <span className="spacer" />
        {study?.progress.map((p) => <Progress key={p.reader} label={p.reader} done={p.done} total={p.total} />)}
        <button onClick={() => setHelp(true)}>Keys ({keyHint('reading.help')})</button>
      </div>
      {(error ?? loadError) && <div className="banner error" data-testid="reading-error">{error ?? loadError}</div>}
      {study && reader && !mine && <div className="banner" data-testid="reading-not-a-reader">{reader} is not a reader of this study ({study.readers.join(', ')}): switch the reader in the top bar.</div>}
      {study?.unblinded && <div className="banner">This study is unblinded: reads are closed.</div>}
      <div className="study-body">
        {item && images.length > 0
          ? <StackViewer key={`${item.position}:${item.itemUid}`} images={images} modality="" onInstance={() => {}} />
          : <div className="empty" data-testid="reading-empty">{finished ? 'You have read every item of this study. Thank you.' : item ? 'This item has no images to show.' : ''}</div>}
        <aside className="label-panel reading-panel" data-testid="reading-panel" data-position={item?.position ?? ''} data-item-uid={item?.itemUid ?? ''}>
          {item && (
            <>
              <div><b>Read {item.position + 1}</b> of {item.total}{item.repeat ? <span className="dim"> · a repeat</span> : null}</div>
              <div className="dim">Your reads: {item.done} of {item.total}</div>
              {item.label !== null && <div data-testid="reading-current">Your read: <b>{labelName(group, item.label)}</b> (choose again to change it)</div>}
              <div className="reading-labels">
                {group?.labels.map((l) => (
                  <button key={l.key} className={`reading-label${l.parent ? ' child' : ''}`} aria-pressed={item.label === l.key} disabled={saving || study?.unblinded}
                    onClick={() => read(l.key)} data-testid="reading-label" data-label={l.key}>
                    {l.shortcut && <kbd>{l.shortcut}</kbd>} {l.name}
                  </button>
                ))}
              </div>
              <div className="row">
                <button onClick={() => show(item.position - 1)} disabled={item.position === 0} data-testid="reading-previous">← Previous ({keyHint('reading.previous')})</button>
                <button onClick={toNext} data-testid="reading-next">Next unread ({keyHint('reading.next')})</button>
              </div>
            </>
          )}
          {finished && <button onClick={() => show(0)}>Review my reads from the start</button>}
        </aside>
      </div>
      {help && (
        <div className="modal-backdrop" onClick={() => setHelp(false)}>
          <div className="modal help" onClick={(e) => e.stopPropagation()} data-testid="help">
            <h2>Keyboard</h2>
            <div className="help-columns"><KeyHelp contexts={['reading', 'viewer']} /></div>
            <div className="row end"><button onClick={() => setHelp(false)}>Close</button></div>
          </div>
        </div>
      )}
    </div>
  );
}
