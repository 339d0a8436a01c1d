// The map view's pure parts: what a point's colour means for each "colour by" choice (label, suggestion,
// confidence, disagreement, a DICOM attribute), the view transform (pan/zoom) between map and screen coordinates,
// and box/lasso hit tests. No DOM here, so it is tested in Node.
import type { Coded, MapPoints } from '../../../../shared/contract.ts';

/** Categorical colours, distinguishable on the dark background; grey is "none". */
export const PALETTE = ['#4ea1ff', '#ff8c42', '#5fd068', '#e05d9c', '#c9b24a', '#9b7bff', '#3fc7c1', '#ff5f5f', '#a3d977', '#d08b5b', '#7aa6c2', '#f2a1e8'];
export const NONE = '#4a525c';

export type ColourBy =
  | { kind: 'label' | 'suggestion' | 'confidence' | 'disagreement'; group: string }
  | { kind: 'attribute'; attribute: string };

export function colourByKey(c: ColourBy): string {
  return c.kind === 'attribute' ? `attribute:${c.attribute}` : `${c.kind}:${c.group}`;
}

export function parseColourBy(key: string): ColourBy | null {
  const [kind, rest] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
  if (kind === 'attribute') return { kind, attribute: rest };
  if (kind === 'label' || kind === 'suggestion' || kind === 'confidence' || kind === 'disagreement') return { kind, group: rest };
  return null;
}

/** Every colouring the points allow, with the words a menu shows. */
export function colourChoices(p: MapPoints): { key: string; title: string }[] {
  const out: { key: string; title: string }[] = [];
  for (const g of p.groups) {
    out.push({ key: `label:${g.key}`, title: `${g.name}: label` });
    if (!p.blinded) {
      out.push({ key: `suggestion:${g.key}`, title: `${g.name}: suggestion` });
      out.push({ key: `confidence:${g.key}`, title: `${g.name}: confidence` });
      out.push({ key: `disagreement:${g.key}`, title: `${g.name}: label ≠ model` });
    }
  }
  const names: Record<string, string> = { modality: 'Modality', bodyPart: 'Body part', year: 'Study year', sex: 'Patient sex' };
  for (const a of Object.keys(p.attributes)) out.push({ key: `attribute:${a}`, title: names[a] ?? a });
  return out;
}

/** What each point is coloured by: a colour index per point into `legend` (-1 = none), and the legend. */
export interface Colouring { index: Int32Array; legend: { name: string; colour: string; count: number }[] }

function categorical(coded: Coded, name: (v: string) => string): Colouring {
  const index = Int32Array.from(coded.index);
  const counts = new Array<number>(coded.values.length).fill(0);
  for (const i of index) if (i >= 0) counts[i]!++;
  // Colours by frequency, so the big classes get the clearest ones.
  const order = coded.values.map((_, i) => i).sort((a, b) => counts[b]! - counts[a]!);
  const slot = new Map(order.map((v, rank) => [v, rank]));
  for (let i = 0; i < index.length; i++) if (index[i]! >= 0) index[i] = slot.get(index[i]!)!;
  const legend = order.map((v, rank) => ({ name: name(coded.values[v]!), colour: PALETTE[rank % PALETTE.length]!, count: counts[v]! }));
  return { index, legend };
}

/** Confidence bands from low (red) to high (green). */
const BANDS = [
  { name: '< 0.5', max: 0.5, colour: '#ff5f5f' },
  { name: '0.5–0.7', max: 0.7, colour: '#ff8c42' },
  { name: '0.7–0.9', max: 0.9, colour: '#c9b24a' },
  { name: '≥ 0.9', max: Infinity, colour: '#5fd068' },
];

export function colouring(p: MapPoints, by: ColourBy): Colouring {
  const n = p.ids.length;
  if (by.kind === 'attribute') {
    const coded = p.attributes[by.attribute];
    return coded ? categorical(coded, (v) => v) : { index: new Int32Array(n).fill(-1), legend: [] };
  }
  const g = p.groups.find((x) => x.key === by.group);
  if (!g) return { index: new Int32Array(n).fill(-1), legend: [] };
  const word = (v: string): string => v.split('+').map((k) => g.names[k] ?? k).join(' + ');
  if (by.kind === 'label') return categorical(g.label, word);
  if (by.kind === 'suggestion') return categorical(g.suggestion, word);
  const index = new Int32Array(n).fill(-1);
  if (by.kind === 'confidence') {
    const legend = BANDS.map((b) => ({ name: b.name, colour: b.colour, count: 0 }));
    g.confidence.forEach((c, i) => {
      if (c < 0) return;
      const b = BANDS.findIndex((x) => c < x.max);
      index[i] = b;
      legend[b]!.count++;
    });
    return { index, legend };
  }
  const legend = [
    { name: 'label ≠ model', colour: '#ff5f5f', count: 0 },
    { name: 'label = model', colour: '#5fd068', count: 0 },
    { name: 'unlabelled', colour: '#6b7785', count: 0 },
  ];
  for (let i = 0; i < n; i++) {
    const l = g.label.index[i]!;
    const s = g.suggestion.index[i]!;
    if (s < 0 && l < 0) continue;
    const c = l < 0 ? 2 : s < 0 ? -1 : g.label.values[l] === g.suggestion.values[s] ? 1 : 0;
    if (c < 0) continue;
    index[i] = c;
    legend[c]!.count++;
  }
  return { index, legend };
}

/** Map → screen: sx = (x − cx) · scale + w/2, sy = h/2 − (y − cy) · scale (y up, as in a plot). */
export interface View { cx: number; cy: number; scale: number }

export function fitView(x: readonly number[], y: readonly number[], w: number, h: number): View {
  if (x.length === 0) return { cx: 0, cy: 0, scale: 1 };
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < x.length; i++) {
    x0 = Math.min(x0, x[i]!); x1 = Math.max(x1, x[i]!);
    y0 = Math.min(y0, y[i]!); y1 = Math.max(y1, y[i]!);
  }
  const span = Math.max(x1 - x0, y1 - y0, 1e-9);
  return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, scale: (0.9 * Math.min(w, h)) / span };
}

export const toScreen = (v: View, w: number, h: number, x: number, y: number): [number, number] => [(x - v.cx) * v.scale + w / 2, h / 2 - (y - v.cy) * v.scale];
export const toMap = (v: View, w: number, h: number, sx: number, sy: number): [number, number] => [(sx - w / 2) / v.scale + v.cx, (h / 2 - sy) / v.scale + v.cy];

/** Zooms by `factor` keeping the map point under the screen point (sx, sy) where it is. */
export function zoomAt(v: View, w: number, h: number, sx: number, sy: number, factor: number): View {
  const [mx, my] = toMap(v, w, h, sx, sy);
  const scale = Math.min(1e7, Math.max(1e-7, v.scale * factor));
  return { scale, cx: mx - (sx - w / 2) / scale, cy: my - (h / 2 - sy) / scale };
}

/** Whether (px, py) is inside a polygon (even–odd rule). */
export function inPolygon(poly: readonly [number, number][], px: number, py: number): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if ((yi > py) !== (yj > py) && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Indices of the points inside a screen-space box or lasso. */
export function pointsInShape(p: { x: readonly number[]; y: readonly number[] }, v: View, w: number, h: number, shape: { box: [number, number, number, number] } | { lasso: [number, number][] }): number[] {
  const out: number[] = [];
  if ('box' in shape) {
    const [ax, ay, bx, by] = shape.box;
    const [x0, x1, y0, y1] = [Math.min(ax, bx), Math.max(ax, bx), Math.min(ay, by), Math.max(ay, by)];
    for (let i = 0; i < p.x.length; i++) {
      const [sx, sy] = toScreen(v, w, h, p.x[i]!, p.y[i]!);
      if (sx >= x0 && sx <= x1 && sy >= y0 && sy <= y1) out.push(i);
    }
    return out;
  }
  if (shape.lasso.length < 3) return out;
  for (let i = 0; i < p.x.length; i++) {
    const [sx, sy] = toScreen(v, w, h, p.x[i]!, p.y[i]!);
    if (inPolygon(shape.lasso, sx, sy)) out.push(i);
  }
  return out;
}

/** The point nearest a screen position within `radius` pixels, or -1. */
export function nearestPoint(p: { x: readonly number[]; y: readonly number[] }, v: View, w: number, h: number, sx: number, sy: number, radius = 8): number {
  let best = -1;
  let bd = radius * radius;
  for (let i = 0; i < p.x.length; i++) {
    const [px, py] = toScreen(v, w, h, p.x[i]!, p.y[i]!);
    const d = (px - sx) ** 2 + (py - sy) ** 2;
    if (d <= bd) { bd = d; best = i; }
  }
  return best;
}
