// Where the window is, as a hash route, so Back and Forward work and a view has a link:
// #/ (the worklist), #/study/<id>, #/label (the labelling queue), #/label/<level>/<id> (one item),
// #/readers and #/readers/<id>/<page> (reader studies: features/readers/reader-routes.ts), #/map (the embedding map).
// Hash routes need nothing from the host: the loopback server and Electron's file both serve one page.
import { LEVELS } from '../../shared/label-schema.ts';
import type { Level } from '../../shared/label-schema.ts';
import { formatReaderRoute, parseReaderRoute } from './features/readers/reader-routes.ts';
import type { ReaderRoute } from './features/readers/reader-routes.ts';

export type Route =
  | { view: 'worklist' }
  | { view: 'study'; studyId: number }
  | { view: 'label'; item: { level: Level; itemId: number } | null }
  | ReaderRoute
  | { view: 'map' };

const id = (s: string | undefined): number | null => (s !== undefined && /^[1-9]\d{0,15}$/.test(s) ? Number(s) : null);
const isLevel = (s: string | undefined): s is Level => (LEVELS as readonly string[]).includes(s ?? '');

/** Reads a location hash ('#/study/12'); anything unknown is the worklist. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
  const [view, a, b] = parts;
  if (view === 'study') {
    const studyId = id(a);
    if (studyId !== null) return { view: 'study', studyId };
  }
  if (view === 'label') {
    const itemId = id(b);
    return { view: 'label', item: isLevel(a) && itemId !== null ? { level: a, itemId } : null };
  }
  if (view === 'readers') return parseReaderRoute(a, b);
  if (view === 'map') return { view: 'map' };
  return { view: 'worklist' };
}

export function formatRoute(r: Route): string {
  switch (r.view) {
    case 'worklist': return '#/';
    case 'study': return `#/study/${r.studyId}`;
    case 'label': return r.item ? `#/label/${r.item.level}/${r.item.itemId}` : '#/label';
    case 'readers': return formatReaderRoute(r);
    case 'map': return '#/map';
  }
}
