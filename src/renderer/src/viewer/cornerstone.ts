// The one place Cornerstone3D is initialised and its engine kept. React components hold a ref to an element and
// enable/disable viewports through these functions in effects.
import { Enums, RenderingEngine, imageLoader, init as initCore, utilities } from '@cornerstonejs/core';
import type { Types } from '@cornerstonejs/core';
import { init as initLoader } from '@cornerstonejs/dicom-image-loader';
import {
  Enums as ToolEnums,
  PanTool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
  init as initTools,
} from '@cornerstonejs/tools';

let ready: Promise<void> | null = null;
let engine: RenderingEngine | null = null;
const TOOL_GROUP = 'lightbox-stack';

export function initCornerstone(): Promise<void> {
  ready ??= (async () => {
    await initCore();
    initLoader({ maxWebWorkers: Math.max(1, Math.min(4, (navigator.hardwareConcurrency || 2) - 1)) });
    await initTools();
    for (const tool of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool]) addTool(tool);
    const group = ToolGroupManager.createToolGroup(TOOL_GROUP)!;
    group.addTool(WindowLevelTool.toolName);
    group.addTool(PanTool.toolName);
    group.addTool(ZoomTool.toolName);
    group.addTool(StackScrollTool.toolName);
    group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Primary }] });
    group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Auxiliary }] });
    group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Secondary }] });
    group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Wheel }] });
    engine = new RenderingEngine('lightbox');
  })();
  return ready;
}

export function enableStackViewport(viewportId: string, element: HTMLDivElement): Types.IStackViewport {
  if (!engine) throw new Error('Cornerstone is not initialised');
  engine.enableElement({
    viewportId,
    type: Enums.ViewportType.STACK,
    element,
    defaultOptions: { background: [0, 0, 0] as Types.Point3 },
  });
  ToolGroupManager.getToolGroup(TOOL_GROUP)?.addViewport(viewportId, engine.id);
  return engine.getViewport(viewportId) as Types.IStackViewport;
}

export function disableViewport(viewportId: string): void {
  ToolGroupManager.getToolGroup(TOOL_GROUP)?.removeViewports(engine?.id ?? '', viewportId);
  engine?.disableElement(viewportId);
}

/**
 * Fits the canvases to their elements again and the image to its new box, then puts back the viewport's zoom and
 * pan relative to that fit. Keeping the raw camera instead (resize's keepCamera) keeps the world scale, so an image
 * grows past its box when the box gets taller (seen when the tags panel closes and the toolbar unwraps).
 */
export function resizeViewports(keep?: Types.IStackViewport | null): void {
  if (!engine) return;
  const zoom = keep?.getZoom();
  const pan = keep?.getPan();
  engine.resize(true, false);
  if (keep && zoom !== undefined && pan !== undefined) {
    keep.setZoom(zoom);
    keep.setPan(pan);
    keep.render();
  }
}

/** Draws one image into a plain canvas (series thumbnails), with the same loaders and codecs as the viewer. */
export async function renderThumbnail(canvas: HTMLCanvasElement, imageId: string): Promise<void> {
  await initCornerstone();
  await utilities.loadImageToCanvas({ canvas, imageId, thumbnail: true });
}

/** Loads images into Cornerstone's cache ahead of time (the next item in a labelling queue), so it shows at once. */
export async function prefetchImages(imageIds: string[]): Promise<void> {
  await initCornerstone();
  await Promise.all(imageIds.map((id) => imageLoader.loadAndCacheImage(id).catch(() => undefined)));
}

export { Enums as CoreEnums };
