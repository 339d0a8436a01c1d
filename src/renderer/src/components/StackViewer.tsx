// One stack viewport and its toolbar, shared by the study view and the labelling view. Its own keys (slices,
// invert, reset, Similar) are the keymap's viewer context; the study view drives presets through `controls`.
import { useEffect, useImperativeHandle, useRef, useState } from 'react';
import type { Ref } from 'react';
import type { Types } from '@cornerstonejs/core';
import { Enums as CsEnums, eventTarget, metaData, utilities } from '@cornerstonejs/core';
import { keyHint, keysOf } from '../../../shared/keymap.ts';
import { useKeymap } from '../keyboard/use-keymap.ts';
import { disableViewport, enableStackViewport, initCornerstone, resizeViewports } from '../viewer/cornerstone.ts';
import { presetsFor, resolvePreset, sameWindow } from '../viewer/presets.ts';
import type { VoiPreset, Window } from '../viewer/presets.ts';
import type { StackImage } from '../viewer/image-ids.ts';
import { snapshot } from '../viewer/snapshot.ts';
import type { Snapshot } from '../viewer/snapshot.ts';

let viewerCount = 0;

declare global {
  interface Window { __lightboxMetrics?: { firstImageMs: number[] } }
}

interface Props {
  images: StackImage[];
  /** The series' modality, which picks the window/level presets; '' reads it from the images. */
  modality: string;
  onInstance: (instanceId: number) => void;
  /** Called with what the viewport shows (after window/level, zoom and pan), as RGB pixels. */
  onSnapshot?: (snap: Snapshot) => void;
  /** What a view's own keys can ask of the viewer; each returns false when there is nothing to do it to. */
  controls?: Ref<ViewerControls>;
}

export interface ViewerControls {
  /** Applies the modality's preset `index`; false when it has none there. */
  preset(index: number): boolean;
}

export function StackViewer({ images, modality, onInstance, onSnapshot, controls }: Props) {
  const element = useRef<HTMLDivElement>(null);
  const viewportRef = useRef<Types.IStackViewport | null>(null);
  const [index, setIndex] = useState(0);
  const [voi, setVoi] = useState<Window | null>(null);
  const [imageModality, setImageModality] = useState('');
  // The preset last applied and the window it set: the overlay names it while the window is still that one.
  const [active, setActive] = useState<{ name: string; window: Window } | null>(null);
  const presets = presetsFor(modality || imageModality);
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
        const id = images[vp.getCurrentImageIdIndex()]?.imageId;
        const series = id ? (metaData.get('generalSeriesModule', id) as { modality?: string } | undefined) : undefined;
        setImageModality(series?.modality ?? '');
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
    // The canvas must follow its box (a side panel opening, the window resizing), or the image is stretched;
    // the reader's zoom and pan survive.
    const resized = new ResizeObserver(() => resizeViewports(viewportRef.current));
    resized.observe(el);
    return () => {
      disposed = true;
      resized.disconnect();
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
  const applyPreset = (p: VoiPreset): boolean => {
    const vp = viewportRef.current;
    if (!vp) return false;
    const image = vp.getCornerstoneImage();
    const first = (v: number | number[] | undefined): number | undefined => (Array.isArray(v) ? v[0] : v);
    const w = resolvePreset(p.rule, { min: image.minPixelValue, max: image.maxPixelValue, fileWidth: first(image.windowWidth), fileCenter: first(image.windowCenter) });
    if (!w) return false;
    vp.setProperties({ voiRange: utilities.windowLevel.toLowHighRange(w.width, w.center) });
    setActive({ name: p.name, window: w });
    vp.render();
    return true;
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
    setActive(null);
    vp.render();
  };

  const findSimilar = (): boolean => {
    const vp = viewportRef.current;
    if (!vp || !onSnapshot) return false;
    const snap = snapshot(vp, 384);
    if (snap) onSnapshot(snap);
    else setError(`Nothing of the image is in view to search with; press ${keyHint('viewer.reset')} to reset the view`);
    return true;
  };

  useImperativeHandle(controls, () => ({
    preset: (i) => {
      const p = presets[i];
      return p ? applyPreset(p) : false;
    },
  }));

  useKeymap('viewer', {
    'viewer.next-image': () => scroll(1),
    'viewer.previous-image': () => scroll(-1),
    'viewer.next-page': () => scroll(10),
    'viewer.previous-page': () => scroll(-10),
    'viewer.first-image': () => scroll(-images.length),
    'viewer.last-image': () => scroll(images.length),
    'viewer.invert': invert,
    'viewer.reset': reset,
    'viewer.similar': findSimilar,
  });
  const presetShown = active && voi && sameWindow(active.window, voi) ? active.name : null;

  return (
    <div className="viewer">
      <div className="toolbar">
        {presets.map((p, i) => (
          <button key={p.name} onClick={() => applyPreset(p)} aria-pressed={presetShown === p.name} data-testid="voi-preset" data-preset={p.name}
            title={`${p.rule.kind === 'fixed' ? `W ${p.rule.width} / L ${p.rule.center}` : p.rule.kind === 'file' ? 'The window the file carries' : 'From the image\'s own range of values'} (key ${keysOf('study.preset')[i] ?? ''} in the study view)`}>
            {p.name}
          </button>
        ))}
        <button onClick={invert} title={`Invert (${keyHint('viewer.invert')})`}>Invert</button>
        <button onClick={reset} title={`Reset (${keyHint('viewer.reset')})`}>Reset</button>
        {onSnapshot && <button onClick={findSimilar} title={`Find images like what is shown now — zoom and pan to a region first (${keyHint('viewer.similar')})`} data-testid="find-similar">Similar ({keyHint('viewer.similar')})</button>}
        <span className="hint">Drag: window/level · Right-drag: zoom · Middle-drag: pan · Wheel/↑↓: slices</span>
      </div>
      <div className="viewport-wrap">
        <div ref={element} className="viewport" data-testid="viewport" data-rendered={rendered} data-image-index={index} data-image-count={images.length} onContextMenu={(e) => e.preventDefault()} />
        <div className="overlay tl">{index + 1} / {images.length}</div>
        {voi && <div className="overlay br" data-testid="voi" data-preset={presetShown ?? ''}>{presetShown && <>{presetShown} · </>}W {Math.round(voi.width)} L {Math.round(voi.center)}</div>}
        {error && <div className="overlay error" data-testid="viewer-error">{error}</div>}
      </div>
    </div>
  );
}
