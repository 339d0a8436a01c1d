// The reading studies: each with its options and every reader's progress, and the way into reading, unblinding,
// adjudication and agreement; the readers (add one here); and the form for a new study.
import { useCallback, useEffect, useState } from 'react';
import type { ReadingStudy } from '../../../../shared/contract.ts';
import { api } from '../../api/client.ts';
import { CreateStudyForm } from './CreateStudyForm.tsx';
import type { ReaderPage } from './reader-routes.ts';
import { readerStore, useReaders } from './reader-store.ts';

export function Progress({ done, total, label }: { done: number; total: number; label: string }) {
  const pct = total === 0 ? 0 : Math.round((done / total) * 100);
  return (
    <div className="reader-progress" data-testid="reader-progress" data-reader={label} data-done={done} data-total={total} title={`${label}: ${done} of ${total} reads`}>
      <span className="who">{label}</span>
      <span className="bar"><span style={{ width: `${pct}%` }} /></span>
      <span className="num">{done}/{total}</span>
    </div>
  );
}

export function StudyList({ open }: { open: (study: number, page: ReaderPage) => void }) {
  const readers = useReaders();
  const [studies, setStudies] = useState<ReadingStudy[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [newReader, setNewReader] = useState('');
  const load = useCallback(() => { api.call('reading.list', {}).then(setStudies, (e: Error) => setError(e.message)); }, []);
  useEffect(load, [load]);

  const unblind = (s: ReadingStudy): void => {
    if (!window.confirm(`Unblind "${s.name}"? Reads close, and every reader's reads become visible for agreement and adjudication.`)) return;
    api.call('reading.unblind', { study: s.id }).then(load, (e: Error) => setError(e.message));
  };
  const addReader = (): void => {
    const name = newReader.trim();
    if (!name) return;
    readerStore.create(name).then(() => setNewReader(''), (e: Error) => setError(e.message));
  };

  return (
    <div className="readers-page" data-testid="reading-studies">
      {error && <div className="banner error" data-testid="readers-error">{error}</div>}
      <section className="readers-block">
        <h2>Readers</h2>
        <div className="row">
          {readers?.readers.map((r) => (
            <button key={r.name} aria-pressed={readers.current === r.name} data-testid="reader-chip" data-reader={r.name}
              onClick={() => void readerStore.select(r.name).catch((e: Error) => setError(e.message))}
              title={readers.current === r.name ? 'The current reader' : `Switch to ${r.name}`}>{r.name}</button>
          ))}
          <input value={newReader} onChange={(e) => setNewReader(e.target.value)} placeholder="new reader's name" data-testid="new-reader-name" style={{ flex: 'none', width: 200 }} />
          <button onClick={addReader} disabled={!newReader.trim()} data-testid="add-reader">Add reader</button>
        </div>
      </section>
      <section className="readers-block">
        <div className="row">
          <h2>Reading studies</h2>
          <span className="spacer" />
          <button onClick={() => setCreating((c) => !c)} aria-pressed={creating} data-testid="new-study">New study…</button>
        </div>
        {creating && <CreateStudyForm onCreated={() => { setCreating(false); load(); }} onCancel={() => setCreating(false)} />}
        {studies?.length === 0 && <div className="dim">No reading study yet. A study gives the same items to several readers, each in their own order, and compares their reads.</div>}
        {studies && studies.length > 0 && (
          <table className="grid reading-studies">
            <thead><tr><th className="static">Study</th><th className="static">Group</th><th className="static">Items</th><th className="static">Options</th><th className="static">Progress</th><th className="static">State</th><th className="static" /></tr></thead>
            <tbody>
              {studies.map((s) => {
                const mine = readers?.current != null && s.readers.includes(readers.current);
                return (
                  <tr key={s.id} data-testid="reading-study" data-study={s.id} data-name={s.name} data-unblinded={s.unblinded ? '1' : '0'}>
                    <td>{s.name}<div className="dim">by {s.createdBy || '—'}, {s.createdAt.slice(0, 10)}</div></td>
                    <td>{s.group}</td>
                    <td className="num">{s.items}</td>
                    <td className="dim">
                      {s.blindedToModel ? 'blinded to the model' : 'model shown'} · seed {s.seed}{s.repeatShare > 0 ? ` · ${Math.round(s.repeatShare * 100)} % repeated` : ''}
                    </td>
                    <td>{s.progress.map((p) => <Progress key={p.reader} label={p.reader} done={p.done} total={p.total} />)}</td>
                    <td>{s.unblinded ? 'unblinded' : 'blinded'}</td>
                    <td className="actions">
                      {!s.unblinded && <button disabled={!mine} onClick={() => open(s.id, 'read')} data-testid="study-read"
                        title={mine ? `Read as ${readers!.current}` : `The current reader is not a reader of this study (${s.readers.join(', ')})`}>Read</button>}
                      {!s.unblinded && <button onClick={() => unblind(s)} data-testid="study-unblind" title="Close reads and show everyone's reads">Unblind…</button>}
                      {s.unblinded && <button onClick={() => open(s.id, 'adjudicate')} data-testid="study-adjudicate">Adjudicate</button>}
                      {s.unblinded && <button onClick={() => open(s.id, 'agreement')} data-testid="study-agreement">Agreement</button>}
                      {s.unblinded && <button onClick={() => open(s.id, 'compare')} data-testid="study-compare">Model vs readers</button>}
                      {s.unblinded && <button onClick={() => open(s.id, 'errors')} data-testid="study-errors">Where the model errs</button>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
