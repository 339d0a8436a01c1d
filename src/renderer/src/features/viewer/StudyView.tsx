// The study view: series thumbnails, one stack viewer, the DICOM tags and images similar to what is on screen.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { Neighbour, SeriesRow, StudyRow, TagRow } from '../../../../shared/contract.ts';
import { keyHint } from '../../../../shared/keymap.ts';
import { api } from '../../api/client.ts';
import { StackViewer } from '../../components/StackViewer.tsx';
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

function TagPanel({ instanceId }: { instanceId: number }) {
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

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Images most like what the viewport showed, by cosine similarity of their embeddings. */
function SimilarPanel({ snap, onOpenStudy }: { snap: Snapshot; onOpenStudy: (studyId: number) => void }) {
  const [result, setResult] = useState<{ neighbours: Neighbour[]; model: string; provider: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setResult(null);
    setError(null);
    api.call('embed.pixels', { width: snap.width, height: snap.height, channels: 3, data: toBase64(snap.rgb), neighbours: 12 })
      .then(setResult, (e: Error) => setError(e.message));
  }, [snap]);
  return (
    <aside className="similar" data-testid="similar-panel">
      <h3>Similar images</h3>
      {error && <div className="banner error">{error}</div>}
      {!result && !error && <div className="dim">Embedding the view…</div>}
      {result && result.neighbours.length === 0 && <div className="dim">No embedded images yet: run Embed first.</div>}
      {result && (
        <ul>
          {result.neighbours.map((n) => (
            <li key={n.instanceId} data-testid="similar-item" data-instance-id={n.instanceId}>
              <span className="score">{n.score.toFixed(3)}</span>
              <span className="grow">{n.patientName} · {n.studyDescription} {n.seriesDescription}</span>
              <button onClick={() => onOpenStudy(n.studyId)}>Open</button>
            </li>
          ))}
        </ul>
      )}
      {result && <div className="dim">{result.model} on {result.provider}</div>}
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
    'study.back': onClose,
    'study.tags': () => setShowTags((v) => !v),
    'study.previous-series': () => stepSeries(-1),
    'study.next-series': () => stepSeries(1),
    'study.preset': ({ index }) => viewer.current?.preset(index) ?? false,
    'study.similar': () => viewer.current?.findSimilar() ?? false,
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
        <strong>{s.patientName}</strong><span>{s.patientId}</span><span>{s.patientSex}</span>
        <span>{s.studyDate}</span><span>{s.description}</span><span>{s.accession}</span>
        <span className="spacer" />
        <button onClick={() => setShowTags((v) => !v)} aria-pressed={showTags} data-testid="toggle-tags">Tags ({keyHint('study.tags')})</button>
      </div>
      <div className="study-body">
        <nav className="thumbs">
          {data.series.map((x, i) => <Thumbnail key={x.id} series={x} active={i === seriesIndex} onSelect={() => { setSeriesIndex(i); setInstanceId(null); }} />)}
        </nav>
        {series && images.length > 0
          ? <StackViewer key={series.id} images={images} modality={series.modality} onInstance={setInstanceId} onSnapshot={setSnap} controls={viewer} />
          : <div className="empty">This series holds no images ({series?.sopClasses.join(', ') || 'no objects'}).</div>}
        {showTags && tagInstance !== null && <TagPanel instanceId={tagInstance} />}
        {snap && <SimilarPanel snap={snap} onOpenStudy={onOpenStudy} />}
      </div>
    </section>
  );
}
