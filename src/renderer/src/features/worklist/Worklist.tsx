// The worklist: every study of the project, searchable, filterable and sortable, with how far its labelling is and
// a small image, loaded a page at a time and moved through from the keyboard. It comes back as it was left.
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ReactElement } from 'react';
import type { WorklistRow } from '../../../../shared/contract.ts';
import { api } from '../../api/client.ts';
import { formatDicomDate, formatPersonName } from '../../components/format.ts';
import { useKeymapProps } from '../../keyboard/use-keymap.ts';
import { renderThumbnail } from '../../viewer/cornerstone.ts';
import { PAGE, recallWorklist, rememberWorklist } from './worklist-state.ts';
import type { Sort, WorklistFilters } from './worklist-state.ts';

const COLUMNS: { key: Sort; label: string }[] = [
  { key: 'patientName', label: 'Patient' },
  { key: 'patientId', label: 'Patient ID' },
  { key: 'studyDate', label: 'Date' },
  { key: 'description', label: 'Description' },
  { key: 'modalities', label: 'Modality' },
  { key: 'seriesCount', label: 'Series' },
  { key: 'instanceCount', label: 'Images' },
];

const toDicomDate = (d: string): string => d.replace(/-/g, '');
/** The query takes at most this many rows at once; more loaded rows are fetched again in pieces this size. */
const MAX_LIMIT = 1000;

/** The study's first image, drawn only once its row scrolls into view (a long list must not decode every image). */
function RowThumbnail({ thumbnail }: { thumbnail: WorklistRow['thumbnail'] }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [state, setState] = useState<'waiting' | 'drawn' | 'failed'>('waiting');
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas || !thumbnail) return;
    const seen = new IntersectionObserver((entries) => {
      if (!entries.some((e) => e.isIntersecting)) return;
      seen.disconnect();
      const imageId = api.imageId(thumbnail.instanceId, thumbnail.frames > 1 ? 1 : undefined);
      renderThumbnail(canvas, imageId).then(() => setState('drawn'), () => setState('failed'));
    });
    seen.observe(canvas);
    return () => seen.disconnect();
  }, [thumbnail]);
  if (!thumbnail) return <span className="row-thumb none" title="No images in this study" />;
  return (
    <span className="row-thumb" data-testid="row-thumb" data-state={state} title={state === 'failed' ? 'Could not draw this image' : ''}>
      <canvas ref={ref} width={40} height={40} />
    </span>
  );
}

const count = (n: number, cls = ''): ReactElement => <td className={`num ${n === 0 ? 'dim' : cls}`}>{n === 0 ? '–' : n}</td>;

export function Worklist({ onOpen, version }: { onOpen: (studyId: number) => void; version: number }) {
  const remembered = recallWorklist();
  const [filters, setFilters] = useState<WorklistFilters>(remembered.filters);
  const [data, setData] = useState<{ total: number; rows: WorklistRow[]; modalities: string[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [cursor, setCursor] = useState(remembered.cursor);
  const [loadingMore, setLoadingMore] = useState(false);
  const wrap = useRef<HTMLDivElement>(null);
  // The scroll position to restore once the remembered rows are back (only on the first load after mounting).
  const restoreScroll = useRef<number | null>(remembered.scrollTop);
  const { search, modality, dateFrom, dateTo, sort, direction } = filters;
  const set = (patch: Partial<WorklistFilters>): void => setFilters((f) => ({ ...f, ...patch }));

  useEffect(() => { rememberWorklist({ filters }); }, [filters]);
  useEffect(() => { rememberWorklist({ cursor }); }, [cursor]);

  const query = (offset: number, limit: number) => api.call('worklist.query', {
    search, modality, dateFrom: toDicomDate(dateFrom), dateTo: toDicomDate(dateTo), sort, direction, limit, offset,
  });

  useEffect(() => {
    let stale = false;
    const first = restoreScroll.current !== null;
    // Coming back loads as many rows as were loaded before, so the scroll position and cursor land where they were.
    const want = first ? Math.max(PAGE, recallWorklist().loaded) : PAGE;
    const t = setTimeout(() => {
      void (async () => {
        try {
          let d = await query(0, Math.min(want, MAX_LIMIT));
          while (d.rows.length < Math.min(want, d.total)) {
            const more = await query(d.rows.length, Math.min(want - d.rows.length, MAX_LIMIT));
            if (more.rows.length === 0) break;
            d = { ...more, rows: [...d.rows, ...more.rows] };
          }
          if (stale) return;
          setData(d);
          setError(null);
          rememberWorklist({ loaded: d.rows.length });
          if (!first) { setCursor(0); rememberWorklist({ scrollTop: 0 }); }
        } catch (e) {
          if (!stale) setError((e as Error).message);
        }
      })();
    }, first ? 0 : 120);
    return () => { stale = true; clearTimeout(t); };
    // `query` closes over the filters listed here.
  }, [search, modality, dateFrom, dateTo, sort, direction, version]);

  useLayoutEffect(() => {
    if (!data || restoreScroll.current === null || !wrap.current) return;
    wrap.current.scrollTop = restoreScroll.current;
    restoreScroll.current = null;
  }, [data]);

  const loadMore = (): void => {
    if (!data || loadingMore || data.rows.length >= data.total) return;
    setLoadingMore(true);
    query(data.rows.length, PAGE).then((more) => {
      setData((d) => (d ? { ...more, rows: [...d.rows, ...more.rows] } : d));
      rememberWorklist({ loaded: data.rows.length + more.rows.length });
    }, (e: Error) => setError(e.message)).finally(() => setLoadingMore(false));
  };

  const toggleSort = (key: Sort): void => {
    if (key === sort) set({ direction: direction === 'asc' ? 'desc' : 'asc' });
    else set({ sort: key, direction: key === 'studyDate' ? 'desc' : 'asc' });
  };
  // Scoped to the worklist (not the window), and working from its search box: type, ↓, Enter.
  const keys = useKeymapProps('worklist', {
    'worklist.down': () => {
      if (!data) return false;
      if (cursor >= data.rows.length - 2) loadMore();
      setCursor((c) => Math.min(data.rows.length - 1, c + 1));
    },
    'worklist.up': () => (data ? setCursor((c) => Math.max(0, c - 1)) : false),
    'worklist.open': () => {
      const row = data?.rows[cursor];
      if (!row) return false;
      onOpen(row.id);
    },
  });
  useEffect(() => {
    wrap.current?.querySelector('tr.cursor')?.scrollIntoView({ block: 'nearest' });
  }, [cursor]);

  const more = data ? data.total - data.rows.length : 0;
  return (
    <section className="worklist" {...keys}>
      <div className="filters">
        <input type="search" placeholder="Search name, ID, accession, description" value={search} onChange={(e) => set({ search: e.target.value })} data-testid="worklist-search" autoFocus />
        <select value={modality} onChange={(e) => set({ modality: e.target.value })} data-testid="worklist-modality" aria-label="Modality">
          <option value="">All modalities</option>
          {data?.modalities.map((m) => <option key={m} value={m}>{m}</option>)}
        </select>
        <label>From <input type="date" value={dateFrom} onChange={(e) => set({ dateFrom: e.target.value })} data-testid="worklist-from" /></label>
        <label>To <input type="date" value={dateTo} onChange={(e) => set({ dateTo: e.target.value })} data-testid="worklist-to" /></label>
        <span className="count" data-testid="worklist-count">{data ? `${data.total} studies${more > 0 ? ` (${data.rows.length} shown)` : ''}` : 'Loading…'}</span>
      </div>
      {error && <div className="banner error">{error}</div>}
      {data && data.total === 0 && <div className="empty">No studies match. Import a folder to begin, or clear the filters.</div>}
      <div className="table-wrap" ref={wrap} onScroll={(e) => rememberWorklist({ scrollTop: e.currentTarget.scrollTop })} data-testid="worklist-scroll">
        <table className="grid" data-testid="worklist" tabIndex={0}>
          <thead>
            <tr>
              <th className="thumb-col" aria-label="Image" />
              {COLUMNS.map((c) => (
                <th key={c.key} onClick={() => toggleSort(c.key)} aria-sort={sort === c.key ? (direction === 'asc' ? 'ascending' : 'descending') : 'none'}>
                  {c.label}{sort === c.key ? (direction === 'asc' ? ' ▲' : ' ▼') : ''}
                </th>
              ))}
              <th className="static" title="Items of the study (the study, its series, its images) with a label">Labelled</th>
              <th className="static" title="Items flagged for a second opinion">Flagged</th>
              <th className="static" title="Labelled items whose label is an accepted suggestion">Suggested</th>
            </tr>
          </thead>
          <tbody>
            {data?.rows.map((r, i) => (
              <tr key={r.id} className={i === cursor ? 'cursor' : ''} onClick={() => setCursor(i)} onDoubleClick={() => onOpen(r.id)} data-study-id={r.id}
                data-labelled={r.labelled} data-flagged={r.flagged} data-suggested={r.suggested}>
                <td className="thumb-col"><RowThumbnail thumbnail={r.thumbnail} /></td>
                <td><button className="link" onClick={() => onOpen(r.id)} title={r.patientName} data-testid="worklist-patient">{formatPersonName(r.patientName) || '(no name)'}</button></td>
                <td>{r.patientId}</td>
                <td data-testid="worklist-date">{formatDicomDate(r.studyDate)}</td>
                <td>{r.description}</td>
                <td>{r.modalities}</td>
                <td className="num">{r.seriesCount}</td>
                <td className="num">{r.instanceCount}</td>
                {count(r.labelled)}
                {count(r.flagged, 'warn')}
                {count(r.suggested)}
              </tr>
            ))}
          </tbody>
        </table>
        {more > 0 && (
          <div className="load-more">
            <button onClick={loadMore} disabled={loadingMore} data-testid="worklist-more">{loadingMore ? 'Loading…' : `Load ${Math.min(PAGE, more)} more (${more} not shown)`}</button>
          </div>
        )}
      </div>
    </section>
  );
}
