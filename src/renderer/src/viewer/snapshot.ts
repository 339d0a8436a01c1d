// What a stack viewport shows, as pixels: the input of "Similar" (embed what is on screen, not the file).
import type { Types } from '@cornerstonejs/core';
import { utilities } from '@cornerstonejs/core';

export interface Snapshot { width: number; height: number; rgb: Uint8Array }

/**
 * What the viewport shows of the image — the canvas cropped to the image's bounds (so letterbox bars are left
 * out, and a zoomed-in view is just that region) — downscaled to at most `side` pixels, as RGB bytes.
 */
export function snapshot(vp: Types.IStackViewport, side: number): Snapshot | null {
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
