import { useEffect, useRef, useState } from 'react';
import type { Types } from '@cornerstonejs/core';
import { Enums as CsEnums, eventTarget, utilities } from '@cornerstonejs/core';
import { VOI_PRESETS, disableViewport, enableStackViewport, initCornerstone, resizeViewports } from '../viewer/cornerstone.ts';

let viewerCount = 0;

declare global {
  interface Window { __lightboxMetrics?: { firstImageMs: number[] } }
}

interface Props {
  images: { imageId: string; instanceId: number }[];
  modality: string;
  onInstance: (instanceId: number) => void;
  /** Called with what the viewport shows (after window/level, zoom and pan), as RGB pixels. */
  onSnapshot?: (snap: Snapshot) => void;
  /** Digit keys pick window presets; off where digits mean something else (label shortcuts). */
  presetKeys?: boolean;
}

export interface Snapshot { width: number; height: number; rgb: Uint8Array }

/**
 * What the viewport shows of the image — the canvas cropped to the image's bounds (so letterbox bars are left
 * out, and a zoomed-in view is just that region) — downscaled to at most `side` pixels, as RGB bytes.
 */
function snapshot(vp: Types.IStackViewport, side: number): Snapshot | null {
  const canvas = vp.getCanvas();
  const imageId = vp.getCurrentImageId();
  const dims = vp.getImageData()?.dimensions;
  if (!imageId || !dims) return null;
  const corners = [[0, 0], [dims[0], dims[1]]].map((c) => utilities.imageToWorldCoords(imageId, c as Types.Point2));
  if (!corners[0] || !corners[1]) return null;
  const ratio = canvas.width / Math.max(1, canvas.clientWidth);
  const [a, b] = corners.map((w) => vp.worldToCanvas(w!).map((v) => v * ratio));
  const x0 = Math.max(0, Math.min(a![0]!, b![0]!));
  const y0 = Math.max(0, Math.min(a![1]!, b![1]!));
  const x1 = Math.min(canvas.width, Math.max(a![0]!, b![0]!));
  const y1 = Math.min(canvas.height, Math.max(a![1]!, b![1]!));
  if (x1 - x0 < 2 || y1 - y0 < 2) return null;
  const scale = Math.min(1, side / Math.max(x1 - x0, y1 - y0));
  const width = Math.max(1, Math.round((x1 - x0) * scale));
  const height = Math.max(1, Math.round((y1 - y0) * scale));
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  const ctx = c.getContext('2d')!;
  ctx.drawImage(canvas, x0, y0, x1 - x0, y1 - y0, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  return { width, height, rgb };
}

export function StackViewer({ images, modality, onInstance, onSnapshot, presetKeys = true }: Props) {
  const element = useRef<HTMLDivElement>(null);
  const viewportRef = useRef<Types.IStackViewport | null>(null);
  const [index, setIndex] = useState(0);
  const [voi, setVoi] = useState<{ width: number; center: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [rendered, setRendered] = useState(false);

  useEffect(() => {
    const el = element.current;
    if (!el) return;
    const viewportId = `stack-${++viewerCount}`;
    const opened = performance.now();
    let disposed = false;
    let first = true;
    const onRendered = (): void => {
      const vp = viewportRef.current;
      if (!vp) return;
      if (first) {
        first = false;
        window.__lightboxMetrics ??= { firstImageMs: [] };
        window.__lightboxMetrics.firstImageMs.push(performance.now() - opened);
        setRendered(true);
      }
      const range = vp.getProperties().voiRange;
      if (range) {
        const wl = utilities.windowLevel.toWindowLevel(range.lower, range.upper);
        setVoi({ width: wl.windowWidth, center: wl.windowCenter });
      }
      const i = vp.getCurrentImageIdIndex();
      setIndex(i);
    };
    const onLoadError = (evt: Event): void => {
      const detail = (evt as CustomEvent<{ imageId?: string; error?: { message?: string } }>).detail;
      setError(`Could not display ${detail.imageId ?? 'image'}: ${detail.error?.message ?? 'decode failed'}`);
    };
    el.addEventListener(CsEnums.Events.IMAGE_RENDERED, onRendered);
    eventTarget.addEventListener(CsEnums.Events.IMAGE_LOAD_ERROR, onLoadError);
    void (async () => {
      await initCornerstone();
      if (disposed) return;
      const vp = enableStackViewport(viewportId, el);
      viewportRef.current = vp;
      try {
        await vp.setStack(images.map((i) => i.imageId), 0);
        vp.render();
      } catch (e) {
        setError(`Could not display this series: ${e instanceof Error ? e.message : String(e)}`);
      }
    })();
    const onResize = (): void => resizeViewports();
    window.addEventListener('resize', onResize);
    return () => {
      disposed = true;
      window.removeEventListener('resize', onResize);
      el.removeEventListener(CsEnums.Events.IMAGE_RENDERED, onRendered);
      eventTarget.removeEventListener(CsEnums.Events.IMAGE_LOAD_ERROR, onLoadError);
      viewportRef.current = null;
      disableViewport(viewportId);
    };
  }, [images]);

  useEffect(() => {
    const id = images[index]?.instanceId;
    if (id !== undefined) onInstance(id);
  }, [index, images, onInstance]);

  const scroll = (delta: number): void => {
    const vp = viewportRef.current;
    if (!vp) return;
    const next = Math.max(0, Math.min(images.length - 1, vp.getCurrentImageIdIndex() + delta));
    void vp.setImageIdIndex(next);
  };
  const preset = (width: number, center: number): void => {
    const vp = viewportRef.current;
    if (!vp) return;
    vp.setProperties({ voiRange: utilities.windowLevel.toLowHighRange(width, center) });
    vp.render();
  };
  const invert = (): void => {
    const vp = viewportRef.current;
    if (!vp) return;
    vp.setProperties({ invert: !vp.getProperties().invert });
    vp.render();
  };
  const reset = (): void => {
    const vp = viewportRef.current;
    if (!vp) return;
    vp.resetProperties();
    vp.resetCamera();
    vp.render();
  };

  const findSimilar = (): void => {
    const vp = viewportRef.current;
    if (!vp || !onSnapshot) return;
    const snap = snapshot(vp, 384);
    if (snap) onSnapshot(snap);
    else setError('Nothing of the image is in view to search with; press r to reset the view');
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLTextAreaElement) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 's' && onSnapshot) { findSimilar(); return; }
      if (e.key === 'ArrowDown' || e.key === 'PageDown' || e.key === 'j') { scroll(e.key === 'PageDown' ? 10 : 1); e.preventDefault(); }
      else if (e.key === 'ArrowUp' || e.key === 'PageUp' || e.key === 'k') { scroll(e.key === 'PageUp' ? -10 : -1); e.preventDefault(); }
      else if (e.key === 'Home') scroll(-images.length);
      else if (e.key === 'End') scroll(images.length);
      else if (e.key === 'i') invert();
      else if (e.key === 'r') reset();
      else if (presetKeys) {
        const p = VOI_PRESETS.find((x) => x.key === e.key);
        if (p) preset(p.width, p.center);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  return (
    <div className="viewer">
      <div className="toolbar">
        {VOI_PRESETS.map((p) => (
          <button key={p.key} onClick={() => preset(p.width, p.center)} title={`W ${p.width} / L ${p.center} (key ${p.key})`} disabled={modality !== 'CT' && modality !== 'MR' && modality !== 'PT' && p.key !== '1'}>
            {p.name}
          </button>
        ))}
        <button onClick={invert} title="Invert (i)">Invert</button>
        <button onClick={reset} title="Reset (r)">Reset</button>
        {onSnapshot && <button onClick={findSimilar} title="Find images like what is shown now — zoom and pan to a region first (s)" data-testid="find-similar">Similar (s)</button>}
        <span className="hint">Drag: window/level · Right-drag: zoom · Middle-drag: pan · Wheel/↑↓: slices</span>
      </div>
      <div className="viewport-wrap">
        <div ref={element} className="viewport" data-testid="viewport" data-rendered={rendered} data-image-index={index} data-image-count={images.length} onContextMenu={(e) => e.preventDefault()} />
        <div className="overlay tl">{index + 1} / {images.length}</div>
        {voi && <div className="overlay br" data-testid="voi">W {Math.round(voi.width)} L {Math.round(voi.center)}</div>}
        {error && <div className="overlay error" data-testid="viewer-error">{error}</div>}
      </div>
    </div>
  );
}
