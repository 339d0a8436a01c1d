// The worklist: every study of the project, searchable, filterable and sortable, moved through from the keyboard.
import { useEffect, useState } from 'react';
import type { StudyRow, WorklistQuery } from '../../../../shared/contract.ts';
import { api } from '../../api/client.ts';
import { useKeymapProps } from '../../keyboard/use-keymap.ts';

type Sort = NonNullable<WorklistQuery['sort']>;
const COLUMNS: { key: Sort; label: string }[] = [
  { key: 'patientName', label: 'Patient' },
  { key: 'patientId', label: 'Patient ID' },
  { key: 'studyDate', label: 'Date' },
  { key: 'description', label: 'Description' },
  { key: 'modalities', label: 'Modality' },
  { key: 'seriesCount', label: 'Series' },
  { key: 'instanceCount', label: 'Images' },
];

function formatDate(d: string): string {
  return /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : d;
}
const toDicomDate = (d: string): string => d.replace(/-/g, '');

export function Worklist({ onOpen, version }: { onOpen: (studyId: number) => void; version: number }) {
  const [search, setSearch] = useState('');
  const [modality, setModality] = useState('');
  const [dateFrom, setDateFrom] = useState('');
  const [dateTo, setDateTo] = useState('');
  const [sort, setSort] = useState<Sort>('studyDate');
  const [direction, setDirection] = useState<'asc' | 'desc'>('desc');
  const [data, setData] = useState<{ total: number; rows: StudyRow[]; modalities: string[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [cursor, setCursor] = useState(0);

  useEffect(() => {
    let stale = false;
    const t = setTimeout(() => {
      api.call('worklist.query', { search, modality, dateFrom: toDicomDate(dateFrom), dateTo: toDicomDate(dateTo), sort, direction, limit: 500, offset: 0 })
        .then((d) => { if (!stale) { setData(d); setError(null); setCursor(0); } }, (e: Error) => !stale && setError(e.message));
    }, 120);
    return () => { stale = true; clearTimeout(t); };
  }, [search, modality, dateFrom, dateTo, sort, direction, version]);

  const toggleSort = (key: Sort): void => {
    if (key === sort) setDirection(direction === 'asc' ? 'desc' : 'asc');
    else { setSort(key); setDirection(key === 'studyDate' ? 'desc' : 'asc'); }
  };
  // Scoped to the worklist (not the window), and working from its search box: type, ↓, Enter.
  const keys = useKeymapProps('worklist', {
    'worklist.down': () => (data ? setCursor((c) => Math.min(data.rows.length - 1, c + 1)) : false),
    'worklist.up': () => (data ? setCursor((c) => Math.max(0, c - 1)) : false),
    'worklist.open': () => {
      const row = data?.rows[cursor];
      if (!row) return false;
      onOpen(row.id);
    },
  });

  return (
    <section className="worklist" {...keys}>
      <div className="filters">
        <input type="search" placeholder="Search name, ID, accession, description" value={search} onChange={(e) => setSearch(e.target.value)} data-testid="worklist-search" autoFocus />
        <select value={modality} onChange={(e) => setModality(e.target.value)} data-testid="worklist-modality" aria-label="Modality">
          <option value="">All modalities</option>
          {data?.modalities.map((m) => <option key={m} value={m}>{m}</option>)}
        </select>
        <label>From <input type="date" value={dateFrom} onChange={(e) => setDateFrom(e.target.value)} /></label>
        <label>To <input type="date" value={dateTo} onChange={(e) => setDateTo(e.target.value)} /></label>
        <span className="count" data-testid="worklist-count">{data ? `${data.total} studies${data.total > data.rows.length ? ` (first ${data.rows.length} shown)` : ''}` : 'Loading…'}</span>
      </div>
      {error && <div className="banner error">{error}</div>}
      {data && data.total === 0 && <div className="empty">No studies match. Import a folder to begin, or clear the filters.</div>}
      <div className="table-wrap">
        <table className="grid" data-testid="worklist" tabIndex={0}>
          <thead>
            <tr>{COLUMNS.map((c) => (
              <th key={c.key} onClick={() => toggleSort(c.key)} aria-sort={sort === c.key ? (direction === 'asc' ? 'ascending' : 'descending') : 'none'}>
                {c.label}{sort === c.key ? (direction === 'asc' ? ' ▲' : ' ▼') : ''}
              </th>
            ))}</tr>
          </thead>
          <tbody>
            {data?.rows.map((r, i) => (
              <tr key={r.id} className={i === cursor ? 'cursor' : ''} onClick={() => setCursor(i)} onDoubleClick={() => onOpen(r.id)} data-study-id={r.id}>
                <td><button className="link" onClick={() => onOpen(r.id)}>{r.patientName || '(no name)'}</button></td>
                <td>{r.patientId}</td>
                <td>{formatDate(r.studyDate)}</td>
                <td>{r.description}</td>
                <td>{r.modalities}</td>
                <td className="num">{r.seriesCount}</td>
                <td className="num">{r.instanceCount}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
