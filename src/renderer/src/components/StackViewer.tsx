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

/** What the viewport holds now: the frame's values as drawn (modality values, or RGB 0..255) summarised. */
export interface DrawnStats {
  imageId: string;
  index: number;
  rows: number;
  columns: number;
  colour: boolean;
  mean: number[];
  std: number[];
  min: number;
  max: number;
  /** Spread of the canvas's drawn grey levels (null where the canvas cannot be read back, e.g. WebGL). */
  canvasStd: number | null;
}

declare global {
  interface Window {
    __lightboxMetrics?: { firstImageMs: number[] };
    /** Diagnostics for tests and support: the newest viewer's current frame as values (read-only). */
    __lightboxDrawn?: () => DrawnStats | null;
  }
}

function drawnStats(vp: Types.IStackViewport): DrawnStats | null {
  const img = vp.getCornerstoneImage();
  if (!img) return null;
  const px = img.getPixelData();
  const n = img.rows * img.columns;
  const stride = img.color ? (px.length >= 4 * n ? 4 : 3) : 1;
  const channels = img.color ? 3 : 1;
  const sum = new Array<number>(channels).fill(0);
  const sq = new Array<number>(channels).fill(0);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) {
      const raw = px[i * stride + c]!;
      const v = img.color || img.preScale?.scaled ? raw : raw * img.slope + img.intercept;
      sum[c]! += v;
      sq[c]! += v * v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const mean = sum.map((v) => v / n);
  const std = sq.map((v, c) => Math.sqrt(Math.max(0, v / n - mean[c]! ** 2)));
  let canvasStd: number | null = null;
  const canvas = vp.getCanvas();
  const ctx = canvas.getContext('2d');
  if (ctx) {
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let s1 = 0;
    let s2 = 0;
    const m = d.length / 4;
    for (let i = 0; i < d.length; i += 4) { const l = (d[i]! + d[i + 1]! + d[i + 2]!) / 3; s1 += l; s2 += l * l; }
    canvasStd = Math.sqrt(Math.max(0, s2 / m - (s1 / m) ** 2));
  }
  return { imageId: vp.getCurrentImageId(), index: vp.getCurrentImageIdIndex(), rows: img.rows, columns: img.columns, colour: img.color, mean, std, min, max, canvasStd };
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

/** What main said about a frame it could not decode (its answer names the file), or the loader's own error. */
function loadErrorMessage(error: unknown): string {
  const e = error as { response?: unknown; status?: number; message?: string } | null | undefined;
  const body = e?.response;
  if (body instanceof ArrayBuffer || typeof body === 'string') {
    const textBody = typeof body === 'string' ? body : new TextDecoder().decode(body);
    try {
      const parsed = JSON.parse(textBody) as { message?: unknown; error?: { message?: unknown } };
      if (typeof parsed.error?.message === 'string') return parsed.error.message;
      if (typeof parsed.message === 'string') return parsed.message;
    } catch { /* not JSON: fall through */ }
    if (textBody.trim()) return textBody.trim().slice(0, 500);
  }
  if (e?.status) return `the image server answered ${e.status}`;
  if (error instanceof Error) return error.message;
  if (e?.message) return e.message;
  return 'the frame could not be decoded';
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
  // Frames that could not be drawn, by image id, with main's reason (it names the file). The frame asked for is
  // tracked apart from the one drawn, so a frame that fails never leaves the previous one on screen as if it were it.
  const [failed, setFailed] = useState<Record<string, string>>({});
  const [wanted, setWanted] = useState(0);
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
      setWanted(i);
    };
    const onLoadError = (evt: Event): void => {
      const detail = (evt as CustomEvent<{ imageId?: string; error?: unknown }>).detail;
      const imageId = detail?.imageId;
      const at = imageId ? images.findIndex((i) => i.imageId === imageId) : -1;
      if (!imageId || at < 0) return;
      setFailed((f) => ({ ...f, [imageId]: loadErrorMessage(detail.error) }));
      // Display requests only (nothing is prefetched into this viewport): the frame asked for is this one.
      setWanted(at);
    };
    el.addEventListener(CsEnums.Events.IMAGE_RENDERED, onRendered);
    eventTarget.addEventListener(CsEnums.Events.IMAGE_LOAD_ERROR, onLoadError);
    void (async () => {
      await initCornerstone();
      if (disposed) return;
      const vp = enableStackViewport(viewportId, el);
      viewportRef.current = vp;
      window.__lightboxDrawn = () => (viewportRef.current ? drawnStats(viewportRef.current) : null);
      setWanted(0);
      try {
        await vp.setStack(images.map((i) => i.imageId), 0);
        vp.render();
      } catch (e) {
        // The first frame failed: its reason arrives as a load error (and is shown over the viewport).
        const id = images[0]?.imageId;
        if (id) setFailed((f) => ({ ...f, [id]: f[id] ?? loadErrorMessage(e) }));
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
    const next = Math.max(0, Math.min(images.length - 1, wanted + delta));
    setWanted(next);
    vp.setImageIdIndex(next).catch(() => {});
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
  const wantedId = images[wanted]?.imageId;
  const failure = wantedId ? failed[wantedId] : undefined;

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
        <div ref={element} className="viewport" data-testid="viewport" data-stack={images[0]?.imageId ?? ''} data-rendered={rendered} data-image-index={index} data-wanted-index={wanted} data-failed={failure ? 'true' : 'false'} data-image-count={images.length} onContextMenu={(e) => e.preventDefault()} />
        {failure && (
          <div className="viewport-failure" data-testid="frame-error" role="alert">
            <strong>Frame {wanted + 1} of {images.length} cannot be drawn</strong>
            <span>{failure}</span>
            <span className="hint">Nothing of another image is shown here. The file may be damaged or use an encoding Lightbox cannot decode; the tags (t) still open.</span>
          </div>
        )}
        <div className="overlay tl">{wanted + 1} / {images.length}</div>
        {voi && <div className="overlay br" data-testid="voi" data-preset={presetShown ?? ''}>{presetShown && <>{presetShown} · </>}W {Math.round(voi.width)} L {Math.round(voi.center)}</div>}
        {error && <div className="overlay error" data-testid="viewer-error">{error}</div>}
      </div>
    </div>
  );
}
