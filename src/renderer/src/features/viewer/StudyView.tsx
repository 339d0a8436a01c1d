// The study view: series thumbnails, one stack viewer, the DICOM tags and images similar to what is on screen.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { SeriesRow, StudyRow, TagRow } from '../../../../shared/contract.ts';
import { keyHint } from '../../../../shared/keymap.ts';
import { api } from '../../api/client.ts';
import { formatDicomDate, formatDicomTime, formatPersonName } from '../../components/format.ts';
import { SimilarPanel } from '../../components/SimilarPanel.tsx';
import { DocumentSeries } from './DocumentView.tsx';
import { StackViewer } from '../../components/StackViewer.tsx';
import { KeyHelp } from '../../keyboard/KeyHelp.tsx';
import type { ViewerControls } from '../../components/StackViewer.tsx';
import { useKeymap } from '../../keyboard/use-keymap.ts';
import { renderThumbnail } from '../../viewer/cornerstone.ts';
import { seriesImageIds } from '../../viewer/image-ids.ts';
import type { Snapshot } from '../../viewer/snapshot.ts';

function Thumbnail({ series, active, onSelect }: { series: SeriesRow; active: boolean; onSelect: () => void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [failed, setFailed] = useState(false);
  const ids = useMemo(() => seriesImageIds(series), [series]);
  useEffect(() => {
    const mid = ids[Math.floor(ids.length / 2)];
    if (!mid || !ref.current) return;
    renderThumbnail(ref.current, mid.imageId).catch(() => setFailed(true));
  }, [ids]);
  return (
    <button className={`thumb ${active ? 'active' : ''}`} onClick={onSelect} data-testid="series-thumb" data-series-id={series.id} data-description={series.description}>
      {ids.length > 0 ? <canvas ref={ref} width={96} height={96} /> : <div className="nonimage">{series.modality || 'non-image'}</div>}
      <span className="caption">#{series.seriesNumber ?? '–'} {series.modality} {series.description}</span>
      <span className="caption dim">{series.imageCount > 0 ? `${series.frameCount} image${series.frameCount === 1 ? '' : 's'}` : `${series.instanceCount} object${series.instanceCount === 1 ? '' : 's'}`}{failed ? ' · thumbnail failed' : ''}</span>
    </button>
  );
}

function TagPanel({ instanceId, study }: { instanceId: number; study: StudyRow }) {
  const [tags, setTags] = useState<TagRow[] | null>(null);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setTags(null);
    api.call('instance.tags', { instanceId }).then(setTags, (e: Error) => setError(e.message));
  }, [instanceId]);
  const f = filter.toLowerCase();
  const shown = tags?.filter((t) => !f || t.name.toLowerCase().includes(f) || t.tag.toLowerCase().includes(f) || t.value.toLowerCase().includes(f));
  return (
    <aside className="tags" data-testid="tag-panel">
      <div className="tags-header" data-testid="tags-header">
        <strong>{formatPersonName(study.patientName) || '(no name)'}</strong> <span className="dim">{study.patientId}</span>
        <span className="dim"> · {formatDicomDate(study.studyDate)}{study.studyTime && ` ${formatDicomTime(study.studyTime)}`}</span>
      </div>
      <input type="search" placeholder="Filter tags" value={filter} onChange={(e) => setFilter(e.target.value)} />
      {error && <div className="banner error">{error}</div>}
      <table>
        <tbody>
          {shown?.map((t, i) => (
            <tr key={i}>
              <td className="mono" style={{ paddingLeft: `${t.depth * 10 + 4}px` }}>{t.tag}</td>
              <td>{t.name}</td>
              <td className="mono">{t.vr}</td>
              <td className="value">{t.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </aside>
  );
}

export function StudyView({ studyId, onClose, onOpenStudy }: { studyId: number; onClose: () => void; onOpenStudy: (studyId: number) => void }) {
  const [snap, setSnap] = useState<Snapshot | null>(null);
  const [data, setData] = useState<{ study: StudyRow; series: SeriesRow[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [seriesIndex, setSeriesIndex] = useState(0);
  const [instanceId, setInstanceId] = useState<number | null>(null);
  const [showTags, setShowTags] = useState(false);
  const [showHelp, setShowHelp] = useState(false);

  useEffect(() => {
    api.call('study.get', { studyId }).then((d) => {
      setData(d);
      const first = d.series.findIndex((s) => s.imageCount > 0);
      setSeriesIndex(first >= 0 ? first : 0);
    }, (e: Error) => setError(e.message));
  }, [studyId]);

  const viewer = useRef<ViewerControls>(null);
  const stepSeries = (delta: number): boolean => {
    if (!data) return false;
    setSeriesIndex((i) => Math.max(0, Math.min(data.series.length - 1, i + delta)));
    return true;
  };
  useKeymap('study', {
    'study.back': () => (showHelp ? setShowHelp(false) : onClose()),
    'study.help': () => setShowHelp((v) => !v),
    'study.tags': () => setShowTags((v) => !v),
    'study.previous-series': () => stepSeries(-1),
    'study.next-series': () => stepSeries(1),
    'study.preset': ({ index }) => viewer.current?.preset(index) ?? false,
  });

  const series = data?.series[seriesIndex];
  const images = useMemo(() => (series ? seriesImageIds(series) : []), [series]);
  const tagInstance = instanceId ?? series?.instances[0]?.id ?? null;

  if (error) return <div className="banner error">{error}</div>;
  if (!data) return <div className="empty">Loading study…</div>;
  const s = data.study;
  return (
    <section className="study" data-testid="study-view">
      <div className="study-header">
        <button onClick={onClose} title={`Back to worklist (${keyHint('study.back')})`}>← Worklist</button>
        <strong data-testid="study-patient" title={s.patientName}>{formatPersonName(s.patientName) || '(no name)'}</strong><span>{s.patientId}</span><span>{s.patientSex}</span>
        <span data-testid="study-date">{formatDicomDate(s.studyDate)}</span><span>{s.description}</span><span>{s.accession}</span>
        <span className="spacer" />
        <button onClick={() => void navigator.clipboard?.writeText(location.href).catch(() => {})} title={`Copy a link to this study (${location.hash})`} data-testid="copy-link">Copy link</button>
        <button onClick={() => setShowTags((v) => !v)} aria-pressed={showTags} data-testid="toggle-tags">Tags ({keyHint('study.tags')})</button>
        <button onClick={() => setShowHelp(true)} title={`Keyboard shortcuts (${keyHint('study.help')})`} data-testid="open-help">?</button>
      </div>
      <div className="study-body">
        <nav className="thumbs">
          {data.series.map((x, i) => <Thumbnail key={x.id} series={x} active={i === seriesIndex} onSelect={() => { setSeriesIndex(i); setInstanceId(null); }} />)}
        </nav>
        {series && images.length > 0
          ? <StackViewer key={series.id} images={images} modality={series.modality} onInstance={setInstanceId} onSnapshot={setSnap} controls={viewer} />
          : series ? <DocumentSeries key={series.id} series={series} /> : <div className="empty">This study holds no series.</div>}
        {showTags && tagInstance !== null && <TagPanel instanceId={tagInstance} study={s} />}
        {snap && <SimilarPanel snap={snap} onOpenStudy={onOpenStudy} onClose={() => setSnap(null)} />}
      </div>
      {showHelp && (
        <div className="modal-backdrop" onClick={() => setShowHelp(false)}>
          <div className="modal help" onClick={(e) => e.stopPropagation()} data-testid="help">
            <h2>Keyboard</h2>
            <div className="help-columns"><KeyHelp contexts={['study', 'viewer']} /></div>
            <div className="row end"><button onClick={() => setShowHelp(false)}>Close ({keyHint('study.back')})</button></div>
          </div>
        </div>
      )}
    </section>
  );
}
