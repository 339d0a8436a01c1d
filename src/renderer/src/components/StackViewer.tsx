import { useEffect, useRef, useState } from 'react';
import type { Types } from '@cornerstonejs/core';
import { Enums as CsEnums, eventTarget, utilities } from '@cornerstonejs/core';
import { VOI_PRESETS, disableViewport, enableStackViewport, initCornerstone, resizeViewports } from '../viewer/cornerstone.ts';
import type { StackImage } from '../viewer/image-ids.ts';
import { snapshot } from '../viewer/snapshot.ts';
import type { Snapshot } from '../viewer/snapshot.ts';

let viewerCount = 0;

declare global {
  interface Window { __lightboxMetrics?: { firstImageMs: number[] } }
}

interface Props {
  images: StackImage[];
  modality: string;
  onInstance: (instanceId: number) => void;
  /** Called with what the viewport shows (after window/level, zoom and pan), as RGB pixels. */
  onSnapshot?: (snap: Snapshot) => void;
  /** Digit keys pick window presets; off where digits mean something else (label shortcuts). */
  presetKeys?: boolean;
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
