// The labelling view: a queue (with why each item is next), the item's images, and the label panel — run entirely
// from the keyboard (the labelling context of src/shared/keymap.ts: a label's key sets it, Enter accepts the
// suggestion, x rejects it, n/p move, …; ? lists every key). The next item is prefetched.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { CallResult, ItemView, LabelSchema, LabelStatus, Profile, QueueItem, QueueName, Suggestion } from '../../../../shared/contract.ts';
import { MIN_VALIDATION_LABELS, QUEUES } from '../../../../shared/contract.ts';
import { keyHint } from '../../../../shared/keymap.ts';
import type { KeyHandler } from '../../../../shared/keymap.ts';
import { withAncestors } from '../../../../shared/label-schema.ts';
import type { LabelGroup, Level } from '../../../../shared/label-schema.ts';
import { api } from '../../api/client.ts';
import { SimilarPanel } from '../../components/SimilarPanel.tsx';
import { StackViewer } from '../../components/StackViewer.tsx';
import { leaveField, useKeymap } from '../../keyboard/use-keymap.ts';
import { prefetchImages } from '../../viewer/cornerstone.ts';
import { stackImages } from '../../viewer/image-ids.ts';
import type { Snapshot } from '../../viewer/snapshot.ts';
import { HistoryPanel, HelpOverlay, StatsPanel, describeEvent } from './LabelPanels.tsx';
import { SchemaEditor } from './SchemaEditor.tsx';
import { useQueueCursor } from './use-queue-cursor.ts';

const QUEUE_NAMES: Record<QueueName, string> = {
  uncertain: 'Most uncertain first',
  confident: 'Most confident first',
  errors: 'Likely label errors',
  unlabelled: 'Unlabelled',
  flagged: 'Flagged',
};

const pct = (p: number): string => `${Math.round(p * 100)} %`;

const sameLabels = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

/** A suggestion's labels by name, as the panel shows them. */
const namesOf = (g: LabelGroup | undefined, keys: readonly string[]): string =>
  keys.length ? keys.map((k) => g?.labels.find((l) => l.key === k)?.name ?? k).join(', ') : 'none of these';

function GroupPanel({ group, view, active, notice, onSet, onAccept, onReject }: {
  group: LabelGroup;
  view: ItemView['groups'][number];
  active: boolean;
  /** Why the suggestion on screen is not the one the reader first saw (a refresh, a refused accept). */
  notice: string | undefined;
  onSet: (labels: string[]) => void;
  onAccept: (s: Suggestion) => void;
  onReject: (label: string) => void;
}) {
  const s = view.suggestion;
  const prob = new Map(s?.ranked.map((r) => [r.label, r.probability]) ?? []);
  const chosen = new Set(view.labels ?? []);
  const toggle = (key: string): void => {
    if (group.kind === 'single') onSet([key]);
    else onSet(chosen.has(key) ? [...chosen].filter((k) => k !== key && !withAncestors(group, k).includes(key)) : [...chosen, key]);
  };
  const name = (k: string): string => group.labels.find((l) => l.key === k)?.name ?? k;
  return (
    <section className={`label-group ${active ? 'active' : ''}`} data-testid="label-group" data-group={group.key}>
      <h4>{group.name} <span className="dim">{group.kind === 'single' ? 'one of' : 'any of'}</span></h4>
      {notice && <div className="banner" data-testid="suggestion-changed">{notice}</div>}
      {s && (
        <div className="suggestion" data-testid="suggestion" data-labels={s.labels.join(',')} data-source={s.source}>
          <span>Suggested: <strong>{s.labels.length ? s.labels.map(name).join(', ') : 'none of these'}</strong> {pct(s.probability)} · {s.source}</span>
          {active && <>
            <button onClick={() => onAccept(s)} data-testid="accept" title={`Accept the suggestion (${keyHint('labelling.accept')})`}>Accept ⏎</button>
            {s.labels[0] && <button onClick={() => onReject(s.labels[0]!)} data-testid="reject" title={`Reject this suggestion (${keyHint('labelling.reject')})`}>Reject {keyHint('labelling.reject')}</button>}
          </>}
        </div>
      )}
      {view.hidden && <div className="suggestion dim" data-testid="suggestion-hidden">Suggestion hidden (blinded first read): decide, or press {keyHint('labelling.reveal')} to reveal it.</div>}
      {!s && !view.hidden && <div className="suggestion dim">No suggestion for this item yet.</div>}
      {view.rejected.length > 0 && <div className="dim">Rejected: {view.rejected.map(name).join(', ')}</div>}
      <div className="label-buttons">
        {group.labels.map((l) => {
          const depth = withAncestors(group, l.key).length - 1;
          const p = prob.get(l.key);
          return (
            <button key={l.key} className={`label-button ${chosen.has(l.key) ? 'chosen' : ''}`} style={{ marginLeft: depth * 14 }} aria-pressed={chosen.has(l.key)}
              onClick={() => toggle(l.key)} data-testid="label-button" data-label={l.key} title={l.prompt || l.name}>
              {l.shortcut && <kbd>{l.shortcut}</kbd>}
              <span className="grow">{l.name}</span>
              {p !== undefined && <span className="prob"><span style={{ width: `${Math.round(p * 100)}%` }} /></span>}
              {p !== undefined && <span className="dim num">{pct(p)}</span>}
            </button>
          );
        })}
        {group.kind === 'multi' && <button className={`label-button ${view.labels?.length === 0 ? 'chosen' : ''}`} onClick={() => onSet([])} data-testid="label-none">None of these</button>}
      </div>
    </section>
  );
}

/** `openItem`: an item to show once the queue is there (a #/label/<level>/<id> link); `onItem` hears each item shown. */
export function LabelView({ onOpenStudy, openItem, onItem }: {
  onOpenStudy: (studyId: number) => void;
  openItem?: { level: Level; itemId: number } | null;
  onItem?: (item: { level: Level; itemId: number }) => void;
}) {
  const [schema, setSchema] = useState<LabelSchema | null>(null);
  const [profile, setProfile] = useState<Profile | null>(null);
  const [status, setStatus] = useState<LabelStatus | null>(null);
  const [groupKey, setGroupKey] = useState<string>('');
  const [queue, setQueue] = useState<QueueName>('uncertain');
  const [item, setItem] = useState<ItemView | null>(null);
  const [reveal, setReveal] = useState(false);
  const [notices, setNotices] = useState<Record<string, string>>({});
  const [activeIndex, setActiveIndex] = useState(0);
  const [saved, setSaved] = useState<string>('');
  const [error, setError] = useState<string | null>(null);
  const [panel, setPanel] = useState<'none' | 'help' | 'schema' | 'stats'>('none');
  const [showHistory, setShowHistory] = useState(false);
  const [note, setNote] = useState('');
  const [snap, setSnap] = useState<Snapshot | null>(null);
  const noteRef = useRef<HTMLTextAreaElement>(null);
  const cursor = useQueueCursor(groupKey, queue, setError);
  const { current, upcoming, total, next, previous } = cursor;

  const loadSchema = useCallback(() => {
    api.call('labels.schema', {}).then((r) => {
      setSchema(r.schema);
      setGroupKey((k) => (r.schema.groups.some((g) => g.key === k) ? k : r.schema.groups[0]?.key ?? ''));
      if (r.schema.groups.length === 0) setPanel('schema');
    }, (e: Error) => setError(e.message));
  }, []);
  useEffect(() => {
    loadSchema();
    api.call('labels.profile', {}).then(setProfile, (e: Error) => setError(e.message));
    api.call('labels.status', {}).then(setStatus, () => {});
  }, [loadSchema]);

  const schemaRef = useRef(schema);
  useEffect(() => { schemaRef.current = schema; }, [schema]);
  const group = schema?.groups.find((g) => g.key === groupKey) ?? null;
  const levelGroups = useMemo(() => (schema && group ? schema.groups.filter((g) => g.level === group.level) : []), [schema, group]);
  const activeGroup = levelGroups[activeIndex % Math.max(1, levelGroups.length)] ?? group;

  useEffect(() => api.on('labels.changed', () => { api.call('labels.status', {}).then(setStatus, () => {}); }), []);

  // The item under the cursor now: a load answered after the cursor moved on (a slow call, a toggle's reload) must
  // not put a previous item back on screen under the current one's place in the queue.
  const currentRef = useRef(current);
  currentRef.current = current;
  const loadItem = useCallback((q: QueueItem | null, revealIt: boolean) => {
    if (!q) { setItem(null); return; }
    api.call('labels.item', { level: q.level, itemId: q.itemId, reveal: revealIt }).then((v) => {
      const now = currentRef.current;
      if (now && (now.level !== v.level || now.itemId !== v.itemId)) return;
      setItem(v); setNote(v.note);
    }, (e: Error) => setError(e.message));
  }, []);
  useEffect(() => {
    setReveal(false);
    setNotices({});
    setActiveIndex(0);
    setSnap(null);
    loadItem(current, false);
  }, [current, loadItem]);

  // A link's item replaces the queue's first one as soon as the queue has loaded (earlier, the page would replace it).
  const linked = useRef(false);
  useEffect(() => {
    if (linked.current || !openItem || !current) return;
    linked.current = true;
    if (current.level === openItem.level && current.itemId === openItem.itemId) return;
    api.call('labels.item', { level: openItem.level, itemId: openItem.itemId, reveal: false }).then((v) => {
      cursor.revisit({ level: v.level, itemId: v.itemId, studyId: v.studyId, title: v.title, reason: 'Opened from a link', score: null, images: v.images });
    }, (e: Error) => setError(e.message));
  }, [openItem, current, cursor.revisit]);
  useEffect(() => { if (item) onItem?.({ level: item.level, itemId: item.itemId }); }, [item?.level, item?.itemId, onItem]);

  // A published refresh can change the suggestion of the item on screen. Show the new one, never silently: each
  // group whose suggestion changed says from what to what, so an Enter pressed a moment later is not a surprise.
  const shownItem = useRef<ItemView | null>(null);
  useEffect(() => { shownItem.current = item; }, [item]);
  const revealRef = useRef(reveal);
  useEffect(() => { revealRef.current = reveal; }, [reveal]);
  useEffect(() => api.on('labels.changed', (e) => {
    const before = shownItem.current;
    if (e.reason === 'saved' || !before) return;
    api.call('labels.item', { level: before.level, itemId: before.itemId, reveal: revealRef.current }).then((after) => {
      // Only while this item is still the one on screen and under the cursor (auto-advance may have moved on).
      const now = currentRef.current;
      if (shownItem.current?.itemId !== before.itemId || shownItem.current.level !== before.level) return;
      if (!now || now.itemId !== before.itemId || now.level !== before.level) return;
      const changed: Record<string, string> = {};
      for (const g of after.groups) {
        const was = before.groups.find((x) => x.key === g.key)?.suggestion ?? null;
        const now = g.suggestion;
        if (!was || !now || sameLabels(was.labels, now.labels)) continue;
        const group = schemaRef.current?.groups.find((x) => x.key === g.key);
        changed[g.key] = `The suggestion changed from ${namesOf(group, was.labels)} to ${namesOf(group, now.labels)} while you looked; review it.`;
      }
      setItem(after);
      if (Object.keys(changed).length) setNotices((n) => ({ ...n, ...changed }));
    }, () => {});
  }), []);

  // Prefetch the next item's images so moving on is instant.
  useEffect(() => {
    const next = upcoming[0];
    if (next) {
      const ids = stackImages(next.images).map((i) => i.imageId);
      void prefetchImages(ids.slice(0, 1).concat(ids.length > 1 ? [ids[Math.floor(ids.length / 2)]!] : []));
    }
  }, [upcoming]);

  const acked = useCallback((r: CallResult<'labels.set'>, advance: boolean) => {
    setItem(r.item);
    setNotices({});
    setError(null);
    if (r.eventId) setSaved(`Saved · event #${r.eventId}`);
    cursor.markDecided(r.item.itemId);
    if (advance && profile?.autoAdvance) next();
  }, [profile, next, cursor.markDecided]);

  const act = useCallback(<T,>(p: Promise<T>, then: (r: T) => void, onConflict?: (message: string) => void) => {
    setSaved('Saving…');
    p.then(then, (e: Error & { code?: string }) => {
      setSaved('');
      setError(e.message);
      // The item changed under the reader: show it as it is now (revealed only if it was), and say what happened.
      if (e.code === 'conflict' && current) { onConflict?.(e.message); loadItem(current, reveal); }
    });
  }, [current, loadItem, reveal]);

  const setLabels = (g: LabelGroup, labels: string[]): void => {
    if (!item) return;
    const view = item.groups.find((x) => x.key === g.key);
    act(api.call('labels.set', { level: item.level, itemId: item.itemId, group: g.key, labels, revealed: !view?.hidden }), (r) => acked(r, g.kind === 'single'));
  };
  const accept = (g: LabelGroup, s: Suggestion): void => {
    if (!item) return;
    act(api.call('labels.accept', { level: item.level, itemId: item.itemId, group: g.key, labels: s.labels }), (r) => acked(r, true),
      (message) => setNotices((n) => ({ ...n, [g.key]: `Not accepted: ${message}` })));
  };
  const reject = (g: LabelGroup, label: string): void => {
    if (!item) return;
    act(api.call('labels.reject', { level: item.level, itemId: item.itemId, group: g.key, label }), (r) => acked(r, false));
  };
  const undoRedo = (which: 'labels.undo' | 'labels.redo'): void => {
    act(api.call(which, {}), (r) => {
      if (!r.event) { setSaved(`Nothing to ${which === 'labels.undo' ? 'undo' : 'redo'}`); return; }
      // Say what was undone (or redone), in the reader's words: the group, and what it went from and to.
      setSaved(`${which === 'labels.undo' ? 'Undone' : 'Redone'}: ${describeEvent(r.event, schema)} · ${r.item?.title ?? ''} · event #${r.event.id}`);
      if (r.item && r.item.itemId === item?.itemId) setItem(r.item);
      else if (r.item) {
        // The undone action was on an earlier item: go back to it.
        const it = r.item;
        cursor.revisit({ level: it.level, itemId: it.itemId, studyId: it.studyId, title: it.title, reason: 'Back to the undone change', score: null, images: it.images });
      }
    });
  };
  const flag = (): void => {
    if (!item) return;
    act(api.call('labels.flag', { level: item.level, itemId: item.itemId, flagged: !item.flagged }), (r) => acked(r, false));
  };
  const saveNote = (): void => {
    if (!item || note === item.note) return;
    act(api.call('labels.note', { level: item.level, itemId: item.itemId, note }), (r) => acked(r, false));
  };

  // The schema editor and the progress report own the keyboard while open (only Esc reaches the view); the help
  // overlay does not, so the keys it lists can be tried with it open.
  const modal = panel === 'schema' || panel === 'stats';
  const unlessModal = (run: KeyHandler): KeyHandler => (hit) => (modal ? false : run(hit));
  const activeView = item && activeGroup ? item.groups.find((g) => g.key === activeGroup.key) : undefined;
  const shortcuts = useMemo(() => levelGroups.flatMap((g) => g.labels.flatMap((l) => (l.shortcut ? [l.shortcut] : []))), [levelGroups]);
  useKeymap('labelling', {
    'labelling.accept': unlessModal(() => {
      if (!activeGroup || !activeView?.suggestion) return false;
      accept(activeGroup, activeView.suggestion);
    }),
    'labelling.reject': unlessModal(() => {
      const label = activeView?.suggestion?.labels[0];
      if (!activeGroup || !label) return false;
      reject(activeGroup, label);
    }),
    'labelling.next': unlessModal(next),
    'labelling.previous': unlessModal(previous),
    'labelling.undo': unlessModal(() => undoRedo('labels.undo')),
    'labelling.redo': unlessModal(() => undoRedo('labels.redo')),
    'labelling.flag': unlessModal(flag),
    'labelling.note': unlessModal(() => noteRef.current?.focus()),
    'labelling.reveal': unlessModal(() => { setReveal(true); loadItem(current, true); }),
    'labelling.next-group': unlessModal(() => setActiveIndex((i) => (i + 1) % Math.max(1, levelGroups.length))),
    'labelling.history': unlessModal(() => setShowHistory((v) => !v)),
    'labelling.help': unlessModal(() => setPanel((p) => (p === 'help' ? 'none' : 'help'))),
    'labelling.close': ({ typing }) => (typing ? leaveField(document.activeElement) : (setPanel('none'), setSnap(null))),
    'labelling.set-label': unlessModal(({ key }) => {
      if (!item) return false;
      for (const g of levelGroups) {
        const l = g.labels.find((x) => x.shortcut === key);
        if (!l) continue;
        const chosen = item.groups.find((x) => x.key === g.key)?.labels ?? [];
        setLabels(g, g.kind === 'single' ? [l.key] : chosen.includes(l.key) ? chosen.filter((k) => k !== l.key) : [...chosen, l.key]);
        return;
      }
      return false;
    }),
  }, { dynamic: { 'labelling.set-label': shortcuts } });

  const gStatus = status?.groups.find((g) => g.key === groupKey);
  // Keyed by the item, not the view object: an accepted label returns a new view of the same item, and the viewer
  // must not reload its images for that.
  const itemKey = item ? `${item.level}:${item.itemId}` : '';
  const images = useMemo(() => (item ? stackImages(item.images) : []), [itemKey]);
  const onInstance = useCallback(() => {}, []);

  return (
    <section className="labelling" data-testid="label-view">
      <div className="label-toolbar">
        <select value={groupKey} onChange={(e) => setGroupKey(e.target.value)} data-testid="group-select" title="Label group">
          {schema?.groups.map((g) => <option key={g.key} value={g.key}>{g.name} ({g.level})</option>)}
        </select>
        <select value={queue} onChange={(e) => setQueue(e.target.value as QueueName)} data-testid="queue-select" title="Queue">
          {QUEUES.map((q) => <option key={q} value={q}>{QUEUE_NAMES[q]}</option>)}
        </select>
        {gStatus && (
          <span className="dim" data-testid="label-progress">
            {gStatus.labelled}/{gStatus.items} labelled · suggestions: {gStatus.source ?? 'none'}
            {gStatus.validation
              ? <span data-testid="cv-accuracy" title={`Cross-validated on ${gStatus.validation.labels} labels (95 % Wilson interval). All sources: ${(['adapter', 'zeroShot', 'knn'] as const).filter((k) => gStatus.accuracies[k] !== null).map((k) => `${k === 'zeroShot' ? 'zero-shot' : k} ${pct(gStatus.accuracies[k]!)}`).join(', ')}`}>
                  {` · CV accuracy ${pct(gStatus.validation.accuracy)} (95 % CI ${pct(gStatus.validation.low)}–${pct(gStatus.validation.high)}, ${gStatus.validation.labels} labels)`}
                </span>
              : !profile?.blinded && gStatus.labelled < MIN_VALIDATION_LABELS && <span className="dim"> · accuracy after {MIN_VALIDATION_LABELS} labels</span>}
          </span>
        )}
        <span className="spacer" />
        {profile && <>
          <label title="Hide suggestions until you have decided (against anchoring on the model)"><input type="checkbox" checked={profile.blinded} data-testid="blinded-toggle"
            onChange={(e) => api.call('labels.setProfile', { blinded: e.target.checked }).then((p) => {
              // The queue's order and reasons, the status line and the item all change with it: fetch them again.
              setProfile(p);
              loadItem(currentRef.current, false);
              cursor.reload();
              api.call('labels.status', {}).then(setStatus, () => {});
            })} /> Blinded first read</label>
          <label title="Go to the next item after a label is set or accepted"><input type="checkbox" checked={profile.autoAdvance}
            onChange={(e) => api.call('labels.setProfile', { autoAdvance: e.target.checked }).then(setProfile)} /> Auto-advance</label>
          <span className="dim" title="Label events are recorded under this name">{profile.name}</span>
        </>}
        <button onClick={() => setPanel('stats')} data-testid="open-stats">Progress</button>
        <button onClick={() => setPanel('schema')} data-testid="open-schema">Schema…</button>
        <button onClick={() => setPanel('help')} title={`Keyboard shortcuts (${keyHint('labelling.help')})`} data-testid="open-help">?</button>
      </div>
      {error && <div className="banner error" data-testid="label-error">{error}</div>}
      {status?.message && <div className="banner" data-testid="label-message">{status.message}</div>}
      {gStatus && gStatus.warnings.length > 0 && (
        <div className="banner" data-testid="label-warnings">{gStatus.warnings.map((w) => <div key={w}>{w}</div>)}</div>
      )}
      <div className="label-body">
        <aside className="queue" data-testid="queue">
          <div className="dim">{QUEUE_NAMES[queue]}: {total} item{total === 1 ? '' : 's'}</div>
          <ol>
            {current && <li className="current" data-testid="queue-item" data-item-id={current.itemId}><div>{current.title}</div><div className="reason" data-testid="queue-reason">{current.reason}</div></li>}
            {upcoming.slice(0, 30).map((q) => (
              <li key={`${q.level}:${q.itemId}`} data-testid="queue-item" data-item-id={q.itemId}
                onClick={() => cursor.jump(q)}>
                <div>{q.title}</div><div className="reason">{q.reason}</div>
              </li>
            ))}
          </ol>
          {!current && <div className="empty">Nothing in this queue. Try another queue, or define labels in the schema.</div>}
        </aside>
        {item && images.length > 0
          ? <StackViewer key={`${item.level}:${item.itemId}`} images={images} modality="" onInstance={onInstance} onSnapshot={setSnap} />
          : <div className="empty">{item ? 'This item has no images to show.' : ''}</div>}
        {snap && <SimilarPanel snap={snap} onOpenStudy={onOpenStudy} onClose={() => setSnap(null)} />}
        <aside className="label-panel" data-testid="label-panel" data-item-id={item?.itemId ?? ''}>
          {item && <>
            <div className="item-title">
              <strong>{item.title}</strong>
              <button className="link" onClick={() => onOpenStudy(item.studyId)} title="Open the whole study">Open study</button>
            </div>
            {current && current.itemId === item.itemId && <div className="reason" data-testid="why">Why: {current.reason}</div>}
            {levelGroups.map((g, i) => {
              const view = item.groups.find((x) => x.key === g.key);
              return view ? <GroupPanel key={g.key} group={g} view={view} active={g.key === activeGroup?.key || (i === 0 && !activeGroup)} notice={notices[g.key]}
                onSet={(labels) => setLabels(g, labels)} onAccept={(s) => accept(g, s)} onReject={(l) => reject(g, l)} /> : null;
            })}
            <div className="row">
              <button onClick={flag} aria-pressed={item.flagged} data-testid="flag" className={item.flagged ? 'flagged' : ''}>{item.flagged ? '⚑ Flagged' : 'Flag for second opinion'} ({keyHint('labelling.flag')})</button>
              <button onClick={() => undoRedo('labels.undo')} data-testid="undo" title={`Undo (${keyHint('labelling.undo')})`}>Undo</button>
              <button onClick={() => undoRedo('labels.redo')} title={`Redo (${keyHint('labelling.redo')})`}>Redo</button>
              <button onClick={() => setShowHistory((v) => !v)} aria-pressed={showHistory} data-testid="toggle-history">History ({keyHint('labelling.history')})</button>
            </div>
            <textarea ref={noteRef} value={note} placeholder={`Note (${keyHint('labelling.note')} to write, ${keyHint('labelling.close')} to leave)`} onChange={(e) => setNote(e.target.value)} onBlur={saveNote} data-testid="note" rows={2} />
            <div className="saved" data-testid="saved">{saved}{reveal && ' · suggestion revealed'}</div>
            {showHistory && <HistoryPanel studyId={item.studyId} refresh={saved} schema={schema} />}
          </>}
        </aside>
      </div>
      {panel === 'help' && <HelpOverlay schema={schema} onClose={() => setPanel('none')} />}
      {panel === 'stats' && <StatsPanel onClose={() => setPanel('none')} />}
      {panel === 'schema' && schema && <SchemaEditor schema={schema} onClose={() => setPanel('none')} onSaved={() => { loadSchema(); cursor.reload(); }} />}
    </section>
  );
}
