// The adjudication queue of an unblinded study: the items the readers disagree on (by the rule: unanimous sends
// every disagreement here, majority only ties), each with its images and every reader's read side by side; the
// current reader, as adjudicator, picks the reference label. Decided items leave the queue.
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { CallResult } from '../../../../shared/contract.ts';
import { keyHint } from '../../../../shared/keymap.ts';
import { api } from '../../api/client.ts';
import { StackViewer } from '../../components/StackViewer.tsx';
import { useKeymap } from '../../keyboard/use-keymap.ts';
import { stackImages } from '../../viewer/image-ids.ts';
import { useReaders } from './reader-store.ts';
import { labelName, shortcutsOf, useStudyGroup } from './use-study-group.ts';

type Reference = CallResult<'reading.reference'>;
type Case = CallResult<'reading.case'>;

export function AdjudicationQueue({ studyId, onClose }: { studyId: number; onClose: () => void }) {
  const readers = useReaders();
  const { study, group, error: loadError, reload } = useStudyGroup(studyId);
  const [rule, setRule] = useState<'majority' | 'unanimous'>('majority');
  const [ref, setRef] = useState<Reference | null>(null);
  const [at, setAt] = useState(0);
  const [kase, setKase] = useState<Case | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api.call('reading.reference', { study: studyId, rule }).then(setRef, (e: Error) => setError(e.message));
  }, [studyId, rule]);
  useEffect(load, [load]);
  const queue = ref?.queue ?? [];
  const uid = queue[Math.min(at, Math.max(0, queue.length - 1))] ?? null;
  useEffect(() => {
    setKase(null);
    if (uid) api.call('reading.case', { study: studyId, itemUid: uid }).then(setKase, (e: Error) => setError(e.message));
  }, [studyId, uid]);

  const decide = (label: string): void => {
    if (!uid) return;
    api.call('reading.adjudicate', { study: studyId, itemUid: uid, label }).then(() => { load(); reload(); }, (e: Error) => setError(e.message));
  };
  const shortcuts = useMemo(() => shortcutsOf(group), [group]);
  useKeymap('adjudication', {
    'adjudication.set-label': ({ key }) => { const l = shortcuts.get(key); if (!l || !uid) return false; decide(l); },
    'adjudication.next': () => setAt((a) => Math.min(a + 1, Math.max(0, queue.length - 1))),
    'adjudication.previous': () => setAt((a) => Math.max(0, a - 1)),
    'adjudication.close': () => onClose(),
  }, { dynamic: { 'adjudication.set-label': [...shortcuts.keys()] } });

  const counts = new Map<string, number>();
  for (const x of ref?.items ?? []) counts.set(x.basis, (counts.get(x.basis) ?? 0) + 1);
  const images = useMemo(() => (kase ? stackImages(kase.images) : []), [kase]);

  return (
    <div className="reading" data-testid="adjudication" data-queue={queue.length}>
      <div className="study-header">
        <button onClick={onClose} title={`Back to the reading studies (${keyHint('adjudication.close')})`}>← Studies</button>
        <strong>{study?.name ?? '…'}</strong>
        <span className="dim">adjudicating as <b>{readers?.current ?? 'no reader'}</b></span>
        <label className="dim">rule{' '}
          <select value={rule} onChange={(e) => setRule(e.target.value as 'majority' | 'unanimous')} data-testid="adjudication-rule">
            <option value="majority">majority (ties go to adjudication)</option>
            <option value="unanimous">unanimous (every disagreement goes to adjudication)</option>
          </select>
        </label>
        <span className="spacer" />
        <span data-testid="reference-summary">{['unanimous', 'majority', 'adjudicated', 'pending'].map((b) => `${counts.get(b) ?? 0} ${b}`).join(' · ')}</span>
      </div>
      {(error ?? loadError) && <div className="banner error" data-testid="adjudication-error">{error ?? loadError}</div>}
      <div className="study-body">
        <div className="thumbs adjudication-list" data-testid="adjudication-list">
          {queue.map((u, i) => (
            <button key={u} className={`thumb${u === uid ? ' active' : ''}`} onClick={() => setAt(i)} data-testid="adjudication-item" data-item-uid={u} title={u}>
              #{i + 1} <span className="dim mono">…{u.slice(-10)}</span>
            </button>
          ))}
          {ref && queue.length === 0 && <div className="dim">Nothing to adjudicate under this rule.</div>}
        </div>
        {kase && images.length > 0
          ? <StackViewer key={kase.itemUid} images={images} modality="" onInstance={() => {}} />
          : <div className="empty">{ref && queue.length === 0 ? 'Every item has a reference label.' : ''}</div>}
        <aside className="label-panel" data-testid="adjudication-panel" data-item-uid={kase?.itemUid ?? ''}>
          {kase && (
            <>
              <div className="dim">{kase.title}</div>
              <table className="grid reads-side" data-testid="adjudication-reads">
                <thead><tr><th className="static">Reader</th><th className="static">Read</th><th className="static">Repeat</th></tr></thead>
                <tbody>
                  {kase.reads.map((r) => (
                    <tr key={r.reader} data-testid="adjudication-read" data-reader={r.reader} data-label={r.label ?? ''}>
                      <td>{r.reader}</td><td>{labelName(group, r.label)}</td><td className="dim">{r.repeat === null ? '' : labelName(group, r.repeat)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <div>Reference label:</div>
              <div className="reading-labels">
                {group?.labels.map((l) => (
                  <button key={l.key} className={`reading-label${l.parent ? ' child' : ''}`} onClick={() => decide(l.key)} data-testid="adjudicate-label" data-label={l.key}>
                    {l.shortcut && <kbd>{l.shortcut}</kbd>} {l.name}
                  </button>
                ))}
              </div>
            </>
          )}
        </aside>
      </div>
    </div>
  );
}
