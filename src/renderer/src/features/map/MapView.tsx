// The embedding map (#/map): every embedded item of a level as a point, drawn on a 2-D canvas by this file (no
// plotting library fits our CSP; see README), coloured by label, suggestion, confidence, label ≠ model or a DICOM
// attribute. Wheel zooms, drag pans (or draws a box / lasso with those tools), hover shows the image and its labels,
// a click opens the item's study, and a selection can be labelled in one undoable step (BulkLabelDialog).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { JobProgress, MapPoints } from '../../../../shared/contract.ts';
import type { LabelGroup, LabelSchema, Level } from '../../../../shared/label-schema.ts';
import { api } from '../../api/client.ts';
import { renderThumbnail } from '../../viewer/cornerstone.ts';
import { BulkLabelDialog } from './BulkLabelDialog.tsx';
import { ReviewPanel } from './ReviewPanel.tsx';
import { NONE, colourChoices, colouring, fitView, nearestPoint, parseColourBy, pointsInShape, toScreen, zoomAt } from './map-model.ts';
import type { View } from './map-model.ts';

type Tool = 'pan' | 'box' | 'lasso';
const ACTIVE: JobProgress['phase'][] = ['reading', 'projecting', 'placing'];
const RANK: Record<Level, number> = { image: 0, series: 1, study: 2 };

function Thumb({ instanceId }: { instanceId: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [state, setState] = useState<'waiting' | 'drawn' | 'failed'>('waiting');
  useEffect(() => {
    setState('waiting');
    if (ref.current) renderThumbnail(ref.current, api.imageId(instanceId)).then(() => setState('drawn'), () => setState('failed'));
  }, [instanceId]);
  return <canvas ref={ref} width={128} height={128} data-testid="map-hover-thumb" data-state={state} />;
}

export function MapView({ onOpenStudy }: { onOpenStudy: (studyId: number) => void }) {
  const [level, setLevel] = useState<Level>('image');
  const [points, setPoints] = useState<MapPoints | null>(null);
  const [schema, setSchema] = useState<LabelSchema | null>(null);
  const [progress, setProgress] = useState<JobProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [colourKey, setColourKey] = useState('');
  const [tool, setTool] = useState<Tool>('pan');
  const [selected, setSelected] = useState<number[]>([]);
  const [hover, setHover] = useState<{ i: number; sx: number; sy: number } | null>(null);
  const [bulk, setBulk] = useState<{ group: LabelGroup; labels: string[] } | null>(null);
  const [bulkGroup, setBulkGroup] = useState('');
  const [bulkLabel, setBulkLabel] = useState('');
  const [review, setReview] = useState<'' | 'duplicates' | 'outliers'>('');
  const [loaded, setLoaded] = useState(0);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const wrapRef = useRef<HTMLDivElement>(null);
  const view = useRef<View | null>(null);
  const size = useRef({ w: 800, h: 600 });
  const drag = useRef<{ mode: 'pan' | 'box' | 'lasso'; x0: number; y0: number; x: number; y: number; moved: boolean; add: boolean; path: [number, number][]; view: View } | null>(null);
  const frame = useRef(0);

  const load = useCallback((lv: Level, keepView = false) => {
    api.call('map.points', { level: lv }).then((p) => {
      setPoints(p);
      setLoaded((n) => n + 1);
      if (!keepView) { view.current = null; setSelected([]); }
    }, (e: Error) => setError(e.message));
  }, []);
  useEffect(() => { load(level); }, [level, load]);
  useEffect(() => { api.call('labels.schema', {}).then((s) => setSchema(s.schema), () => undefined); }, []);
  useEffect(() => api.on('job.progress', (p) => {
    if (p.kind !== 'map') return;
    setProgress(p);
    if (p.phase === 'done') load(level, false);
    if (p.phase === 'failed') setError(p.message);
  }), [level, load]);
  // Labels changed (here or anywhere): recolour, keeping the view and the selection.
  useEffect(() => {
    let t: ReturnType<typeof setTimeout> | undefined;
    const off = api.on('labels.changed', () => { clearTimeout(t); t = setTimeout(() => load(level, true), 300); });
    return () => { off(); clearTimeout(t); };
  }, [level, load]);
  useEffect(() => { api.call('map.status', {}).then((s) => { if (s.running) setProgress({ jobId: s.running.jobId, kind: 'map', phase: s.running.phase as JobProgress['phase'], done: s.running.done, total: s.running.total, ratePerSecond: 0, etaSeconds: null, message: s.running.message }); }, () => undefined); }, []);

  const choices = useMemo(() => (points ? colourChoices(points) : []), [points]);
  useEffect(() => {
    if (choices.length && !choices.some((c) => c.key === colourKey)) setColourKey(choices[0]!.key);
  }, [choices, colourKey]);
  const colours = useMemo(() => {
    const by = parseColourBy(colourKey);
    return points && by ? colouring(points, by) : null;
  }, [points, colourKey]);
  const selectedSet = useMemo(() => new Set(selected), [selected]);
  const groups = useMemo(() => (schema?.groups ?? []).filter((g) => RANK[g.level] >= RANK[level]), [schema, level]);
  useEffect(() => {
    const g = groups.find((x) => x.key === bulkGroup) ?? groups[0];
    if (g && g.key !== bulkGroup) setBulkGroup(g.key);
    if (g && !g.labels.some((l) => l.key === bulkLabel)) setBulkLabel(g.labels[0]?.key ?? '');
  }, [groups, bulkGroup, bulkLabel]);

  const draw = useCallback(() => {
    frame.current = 0;
    const canvas = canvasRef.current;
    if (!canvas || !points) return;
    const { w, h } = size.current;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#0b0d10';
    ctx.fillRect(0, 0, w, h);
    view.current ??= fitView(points.x, points.y, w, h);
    const v = view.current;
    const n = points.ids.length;
    const r = n > 20000 ? 1 : n > 2000 ? 2 : n > 500 ? 3 : 4;
    const legend = colours?.legend ?? [];
    // One fill colour at a time: points are bucketed by colour, the unselected dimmed while a selection exists.
    const buckets: number[][] = legend.map(() => []);
    const none: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = colours ? colours.index[i]! : -1;
      (c >= 0 ? buckets[c]! : none).push(i);
    }
    const dim = selected.length > 0;
    const plot = (list: number[], colour: string, alpha: number, rad: number): void => {
      ctx.globalAlpha = alpha;
      ctx.fillStyle = colour;
      for (const i of list) {
        const [sx, sy] = toScreen(v, w, h, points.x[i]!, points.y[i]!);
        if (sx < -rad || sy < -rad || sx > w + rad || sy > h + rad) continue;
        ctx.fillRect(sx - rad, sy - rad, 2 * rad, 2 * rad);
      }
    };
    plot(none, NONE, dim ? 0.35 : 0.9, r);
    legend.forEach((l, c) => plot(buckets[c]!, l.colour, dim ? 0.35 : 0.9, r));
    if (dim) {
      ctx.globalAlpha = 1;
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 1;
      for (const i of selected) {
        const [sx, sy] = toScreen(v, w, h, points.x[i]!, points.y[i]!);
        const c = colours ? colours.index[i]! : -1;
        ctx.fillStyle = c >= 0 ? legend[c]!.colour : NONE;
        ctx.fillRect(sx - r - 1, sy - r - 1, 2 * r + 2, 2 * r + 2);
        ctx.strokeRect(sx - r - 1.5, sy - r - 1.5, 2 * r + 3, 2 * r + 3);
      }
    }
    ctx.globalAlpha = 1;
    const d = drag.current;
    if (d && d.mode === 'box' && d.moved) {
      ctx.strokeStyle = '#4ea1ff';
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(Math.min(d.x0, d.x), Math.min(d.y0, d.y), Math.abs(d.x - d.x0), Math.abs(d.y - d.y0));
      ctx.setLineDash([]);
    }
    if (d && d.mode === 'lasso' && d.path.length > 1) {
      ctx.strokeStyle = '#4ea1ff';
      ctx.beginPath();
      d.path.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.closePath();
      ctx.stroke();
    }
    if (hover) {
      const [sx, sy] = toScreen(v, w, h, points.x[hover.i]!, points.y[hover.i]!);
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 2;
      ctx.strokeRect(sx - r - 3, sy - r - 3, 2 * r + 6, 2 * r + 6);
    }
  }, [points, colours, selected, hover]);
  const redraw = useCallback(() => { if (!frame.current) frame.current = requestAnimationFrame(draw); }, [draw]);
  useEffect(redraw, [redraw]);
  useEffect(() => {
    const el = wrapRef.current;
    if (!el) return;
    const ro = new ResizeObserver(() => {
      size.current = { w: el.clientWidth, h: el.clientHeight };
      redraw();
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [redraw]);

  const local = (e: { clientX: number; clientY: number }): [number, number] => {
    const b = canvasRef.current!.getBoundingClientRect();
    return [e.clientX - b.left, e.clientY - b.top];
  };
  const onPointerDown = (e: React.PointerEvent<HTMLCanvasElement>): void => {
    if (!points || !view.current) return;
    const [x, y] = local(e);
    e.currentTarget.setPointerCapture(e.pointerId);
    const mode = e.button !== 0 || tool === 'pan' ? 'pan' : tool;
    drag.current = { mode, x0: x, y0: y, x, y, moved: false, add: e.shiftKey, path: [[x, y]], view: view.current };
  };
  const onPointerMove = (e: React.PointerEvent<HTMLCanvasElement>): void => {
    if (!points || !view.current) return;
    const [x, y] = local(e);
    const d = drag.current;
    const { w, h } = size.current;
    if (d) {
      d.x = x;
      d.y = y;
      if (Math.abs(x - d.x0) + Math.abs(y - d.y0) > 3) d.moved = true;
      if (d.mode === 'pan') view.current = { ...d.view, cx: d.view.cx - (x - d.x0) / d.view.scale, cy: d.view.cy + (y - d.y0) / d.view.scale };
      if (d.mode === 'lasso') d.path.push([x, y]);
      redraw();
      return;
    }
    const i = nearestPoint(points, view.current, w, h, x, y);
    setHover((old) => (i < 0 ? null : old?.i === i ? old : { i, sx: x, sy: y }));
  };
  const onPointerUp = (e: React.PointerEvent<HTMLCanvasElement>): void => {
    const d = drag.current;
    drag.current = null;
    if (!d || !points || !view.current) return;
    const { w, h } = size.current;
    if (!d.moved) {
      const [x, y] = local(e);
      const i = nearestPoint(points, view.current, w, h, x, y);
      if (i >= 0) onOpenStudy(points.studyIds[i]!);
      else if (d.mode !== 'pan') setSelected([]);
      return;
    }
    if (d.mode === 'pan') return;
    const hit = pointsInShape(points, view.current, w, h, d.mode === 'box' ? { box: [d.x0, d.y0, d.x, d.y] } : { lasso: d.path });
    setSelected((old) => (d.add ? [...new Set([...old, ...hit])] : hit));
    redraw();
  };
  const onWheel = (e: React.WheelEvent<HTMLCanvasElement>): void => {
    if (!view.current) return;
    const [x, y] = local(e);
    view.current = zoomAt(view.current, size.current.w, size.current.h, x, y, Math.exp(-e.deltaY * 0.0015));
    redraw();
  };

  const running = progress !== null && ACTIVE.includes(progress.phase);
  const start = (refit: boolean): void => {
    setError(null);
    api.call('map.start', { level, refit }).then(() => undefined, (e: Error) => setError(e.message));
  };
  const bulkG = groups.find((g) => g.key === bulkGroup);
  const plural = level === 'series' ? 'series' : level === 'study' ? 'studies' : 'images';
  const h = hover && points ? hover.i : -1;

  return (
    <div className="mapview" data-testid="map-view" data-ready={points?.ready ? 'true' : 'false'} data-points={points?.ids.length ?? 0} data-level={level}>
      <div className="toolbar">
        <label>Level <select value={level} onChange={(e) => setLevel(e.target.value as Level)} data-testid="map-level">
          <option value="image">images</option><option value="series">series</option><option value="study">studies</option>
        </select></label>
        <label>Colour by <select value={colourKey} onChange={(e) => setColourKey(e.target.value)} data-testid="map-colour">
          {choices.map((c) => <option key={c.key} value={c.key}>{c.title}</option>)}
        </select></label>
        <span className="seg">
          {(['pan', 'box', 'lasso'] as const).map((t) => (
            <button key={t} aria-pressed={tool === t} onClick={() => setTool(t)} data-testid={`map-tool-${t}`} title={t === 'pan' ? 'Drag to pan (wheel zooms)' : t === 'box' ? 'Drag a rectangle to select (Shift adds)' : 'Draw around points to select (Shift adds)'}>{t === 'pan' ? 'Pan' : t === 'box' ? 'Box' : 'Lasso'}</button>
          ))}
        </span>
        <button onClick={() => { view.current = null; redraw(); }} title="Show every point">Fit</button>
        <label>Review <select value={review} onChange={(e) => setReview(e.target.value as typeof review)} data-testid="map-review">
          <option value="">—</option><option value="duplicates">near-duplicates</option><option value="outliers">outliers</option>
        </select></label>
        <span className="spacer" />
        {running && progress
          ? <span className="progress inline" data-testid="map-progress" data-phase={progress.phase}>
              <span className="bar"><span style={{ width: `${progress.total ? (100 * progress.done) / progress.total : 0}%` }} /></span>
              <span className="job-text" title={progress.message}>{progress.message}</span>
              <button onClick={() => void api.call('map.cancel', { jobId: progress.jobId })}>Cancel</button>
            </span>
          : <>
              {points && points.unplaced > 0 && points.ready && <span className="dim">{points.unplaced} new, not on the map yet</span>}
              <button onClick={() => start(false)} data-testid="map-start" title="Compute the map, or place new items on it without refitting">{points?.ready ? (points.unplaced ? 'Place new' : 'Refresh') : 'Compute map'}</button>
              {points?.ready && <button onClick={() => start(true)} title="Fit the layout anew">Refit</button>}
            </>}
      </div>
      {error && <div className="banner error">{error}</div>}
      {selected.length > 0 && (
        <div className="toolbar selection" data-testid="map-selection" data-count={selected.length}>
          <strong>{selected.length} selected</strong>
          {groups.length > 0 && bulkG
            ? <>
                <span>Label as</span>
                <select value={bulkGroup} onChange={(e) => setBulkGroup(e.target.value)} data-testid="bulk-group">{groups.map((g) => <option key={g.key} value={g.key}>{g.name}</option>)}</select>
                <select value={bulkLabel} onChange={(e) => setBulkLabel(e.target.value)} data-testid="bulk-label">{bulkG.labels.map((l) => <option key={l.key} value={l.key}>{l.name}</option>)}</select>
                <button onClick={() => setBulk({ group: bulkG, labels: [bulkLabel] })} data-testid="bulk-open">Label selection…</button>
              </>
            : <span className="dim">No label group applies to {plural}</span>}
          <button className="link" onClick={() => setSelected([])}>Clear selection</button>
        </div>
      )}
      <div className="map-body">
        <div className="map-canvas" ref={wrapRef}>
          {points && !points.ready && <div className="empty map-empty" data-testid="map-empty">{points.unplaced > 0 ? `No map of ${plural} yet: ${points.unplaced} embedded ${plural} can be mapped. Click "Compute map".` : 'Nothing to map yet: embed the project first (Embed in the top bar).'}</div>}
          <canvas ref={canvasRef} data-testid="map-canvas" style={{ width: '100%', height: '100%', cursor: tool === 'pan' ? 'grab' : 'crosshair' }}
            onPointerDown={onPointerDown} onPointerMove={onPointerMove} onPointerUp={onPointerUp} onPointerLeave={() => setHover(null)} onWheel={onWheel}
            onContextMenu={(e) => e.preventDefault()} />
          {h >= 0 && points && hover && (
            <div className="map-hover" data-testid="map-hover" style={{ left: Math.min(hover.sx + 14, size.current.w - 240), top: Math.min(hover.sy + 14, size.current.h - 230) }}>
              <Thumb instanceId={points.instanceIds[h]!} />
              <div>
                {points.groups.map((g) => {
                  const l = g.label.index[h]!;
                  const s = g.suggestion.index[h]!;
                  const word = (v: string): string => v.split('+').map((k) => g.names[k] ?? k).join(' + ');
                  return <div key={g.key}><strong>{g.name}:</strong> {l >= 0 ? word(g.label.values[l]!) : <span className="dim">unlabelled</span>}
                    {s >= 0 && <span className="dim"> · model: {word(g.suggestion.values[s]!)} {g.confidence[h]! >= 0 ? g.confidence[h]!.toFixed(2) : ''}</span>}</div>;
                })}
                {Object.entries(points.attributes).map(([k, c]) => c.index[h]! >= 0 && <span key={k} className="dim">{c.values[c.index[h]!]} </span>)}
                <div className="dim">{level} {points.ids[h]} · click to open</div>
              </div>
            </div>
          )}
        </div>
        <aside className="map-legend" data-testid="map-legend">
          {colours?.legend.map((l) => <div key={l.name}><span className="swatch" style={{ background: l.colour }} /> {l.name} <span className="dim">{l.count}</span></div>)}
          {points?.ready && <div className="dim">{points.ids.length} {level === 'series' ? 'series' : level === 'study' ? 'studies' : 'images'}{points.blinded ? ' · blinded read: no model colours' : ''}</div>}
          {points?.ready && <div className="dim">{points.model?.name}, {points.createdAt.slice(0, 16).replace('T', ' ')}</div>}
          {review && points && <ReviewPanel kind={review} level={level} version={loaded} onOpenStudy={onOpenStudy}
            onShow={(ids) => { const at = new Map(points.ids.map((id, i) => [id, i])); setSelected(ids.map((id) => at.get(id)).filter((i): i is number => i !== undefined)); }} />}
        </aside>
      </div>
      {bulk && points && (
        <BulkLabelDialog group={bulk.group} labels={bulk.labels} level={level} itemIds={selected.map((i) => points.ids[i]!)}
          onClose={() => setBulk(null)} />
      )}
    </div>
  );
}

