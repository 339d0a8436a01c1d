// A new reading study: its items (the worklist's current filter, or pasted UIDs), a single-choice label group,
// its readers, and the options — blinded to the model, the seed of the readers' orders, a share of repeats.
import { useEffect, useState } from 'react';
import type { LabelSchema } from '../../../../shared/contract.ts';
import { api } from '../../api/client.ts';
import { recallWorklist } from '../worklist/worklist-state.ts';
import { useReaders } from './reader-store.ts';

const toDicomDate = (d: string): string => d.replace(/-/g, '');

/** The study UIDs the worklist shows with its current filter (every page of it). */
async function worklistUids(): Promise<string[]> {
  const f = recallWorklist().filters;
  const uids: string[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await api.call('worklist.query', { search: f.search, modality: f.modality, dateFrom: toDicomDate(f.dateFrom), dateTo: toDicomDate(f.dateTo), sort: f.sort, direction: f.direction, limit: 1000, offset });
    uids.push(...page.rows.map((r) => r.studyUid));
    if (page.rows.length < 1000) return uids;
  }
}

function describeFilter(): string {
  const f = recallWorklist().filters;
  const parts = [f.search && `“${f.search}”`, f.modality && `modality ${f.modality}`, f.dateFrom && `from ${f.dateFrom}`, f.dateTo && `to ${f.dateTo}`].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no filter: every study';
}

export function CreateStudyForm({ onCreated, onCancel }: { onCreated: () => void; onCancel: () => void }) {
  const readers = useReaders();
  const [schema, setSchema] = useState<LabelSchema | null>(null);
  const [name, setName] = useState('');
  const [group, setGroup] = useState('');
  const [source, setSource] = useState<'worklist' | 'uids'>('worklist');
  const [uidText, setUidText] = useState('');
  const [worklistCount, setWorklistCount] = useState<number | null>(null);
  const [chosen, setChosen] = useState<string[]>([]);
  const [blinded, setBlinded] = useState(true);
  const [seed, setSeed] = useState(1);
  const [repeatPct, setRepeatPct] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.call('labels.schema', {}).then((r) => {
      setSchema(r.schema);
      setGroup((g) => g || (r.schema.groups.find((x) => x.kind === 'single')?.key ?? ''));
    }, (e: Error) => setError(e.message));
    worklistUids().then((u) => setWorklistCount(u.length), () => setWorklistCount(null));
  }, []);

  const singles = schema?.groups.filter((g) => g.kind === 'single') ?? [];
  const level = singles.find((g) => g.key === group)?.level;
  const uids = uidText.split(/[\s,;]+/).map((u) => u.trim()).filter(Boolean);
  const toggle = (r: string): void => setChosen((c) => (c.includes(r) ? c.filter((x) => x !== r) : [...c, r]));

  const create = async (): Promise<void> => {
    setError(null);
    if (source === 'worklist' && level !== 'study') {
      setError(`The worklist lists studies, but group "${group}" labels ${level ?? '?'} items: paste its ${level ?? ''} UIDs instead`);
      return;
    }
    setBusy(true);
    try {
      const items = source === 'worklist' ? await worklistUids() : uids;
      if (items.length === 0) throw new Error(source === 'worklist' ? 'The worklist\'s filter matches no study: change it in the worklist first' : 'Paste at least one UID');
      await api.call('reading.create', { name: name.trim(), group, items, readers: chosen, seed, repeatShare: repeatPct / 100, blindedToModel: blinded });
      onCreated();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="create-study" data-testid="create-study" onSubmit={(e) => { e.preventDefault(); void create(); }}>
      {error && <div className="banner error" data-testid="create-study-error">{error}</div>}
      <label>Name <input value={name} onChange={(e) => setName(e.target.value)} data-testid="study-name" placeholder="e.g. CXR findings, round 1" /></label>
      <label>Label group{' '}
        <select value={group} onChange={(e) => setGroup(e.target.value)} data-testid="study-group">
          {singles.map((g) => <option key={g.key} value={g.key}>{g.name} ({g.level} level)</option>)}
        </select>
      </label>
      <fieldset>
        <legend>Items</legend>
        <label><input type="radio" checked={source === 'worklist'} onChange={() => setSource('worklist')} data-testid="items-worklist" /> the worklist's current filter ({describeFilter()}; {worklistCount ?? '…'} studies)</label>
        <label><input type="radio" checked={source === 'uids'} onChange={() => setSource('uids')} data-testid="items-uids" /> a list of UIDs{source === 'uids' ? ` (${uids.length})` : ''}</label>
        {source === 'uids' && <textarea rows={4} value={uidText} onChange={(e) => setUidText(e.target.value)} data-testid="study-uids" placeholder="one UID a line (or separated by spaces or commas)" />}
      </fieldset>
      <fieldset>
        <legend>Readers</legend>
        {readers?.readers.length === 0 && <span className="dim">Add readers above first.</span>}
        {readers?.readers.map((r) => (
          <label key={r.name}><input type="checkbox" checked={chosen.includes(r.name)} onChange={() => toggle(r.name)} data-testid="study-reader" data-reader={r.name} /> {r.name}</label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Options</legend>
        <label title="Readers of this study see no suggestion, score or model-ranked queue for its items until it is unblinded"><input type="checkbox" checked={blinded} onChange={(e) => setBlinded(e.target.checked)} data-testid="study-blinded" /> blinded to the model</label>
        <label title="Each reader's order is shuffled with this seed and their name">order seed <input type="number" min={0} value={seed} onChange={(e) => setSeed(Math.max(0, Math.floor(Number(e.target.value) || 0)))} data-testid="study-seed" style={{ width: 90 }} /></label>
        <label title="A share of the items is shown again after all first reads, for intra-reader agreement">repeats <input type="number" min={0} max={100} value={repeatPct} onChange={(e) => setRepeatPct(Math.min(100, Math.max(0, Number(e.target.value) || 0)))} data-testid="study-repeats" style={{ width: 70 }} /> %</label>
      </fieldset>
      <div className="row end">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="submit" disabled={busy || !name.trim() || !group || chosen.length === 0} data-testid="create-study-submit">Create study</button>
      </div>
    </form>
  );
}
