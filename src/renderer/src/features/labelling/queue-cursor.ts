// Where the labeller is in a queue: the item on screen, the items ahead (fetched in pages), the items behind
// (for "previous"), and the items decided in this session, which a refreshed queue leaves out so that a label
// just set does not bring its item back. A pure reducer: fetching is the hook's (use-queue-cursor.ts), which
// reads `refills` to know when the items ahead run low.
import type { QueueItem } from '../../../../shared/contract.ts';

export interface QueueCursor {
  current: QueueItem | null;
  upcoming: readonly QueueItem[];
  back: readonly QueueItem[];
  /** Items in the queue, as the last page said. */
  total: number;
  /** Item ids decided in this session (of this group and queue). */
  decided: ReadonlySet<number>;
  /** Bumped each time moving on leaves fewer than LOW_WATER items ahead: a request for the next page. */
  refills: number;
}

export type QueueAction =
  /** The group or the queue changed: forget what was decided and passed (a page follows). */
  | { type: 'restart' }
  /** A page of the queue arrived. `keepCurrent` keeps the item on screen (a refresh, not a new queue). */
  | { type: 'loaded'; items: readonly QueueItem[]; total: number; keepCurrent: boolean }
  | { type: 'next' }
  | { type: 'previous' }
  /** The labeller picked an item further down the queue. */
  | { type: 'jump'; item: QueueItem }
  /** Back to an item that is not ahead (an undone change on an earlier item); the one on screen comes next. */
  | { type: 'revisit'; item: QueueItem }
  | { type: 'decided'; itemId: number };

/** Fewer items ahead than this after moving on asks for the next page, well before the queue runs dry. */
export const LOW_WATER = 5;

export const EMPTY_CURSOR: QueueCursor = { current: null, upcoming: [], back: [], total: 0, decided: new Set(), refills: 0 };

const same = (a: QueueItem, b: QueueItem): boolean => a.level === b.level && a.itemId === b.itemId;

export function queueCursor(s: QueueCursor, a: QueueAction): QueueCursor {
  switch (a.type) {
    case 'restart':
      return { ...s, back: [], decided: new Set() };
    case 'loaded': {
      // The item on screen keeps its object, so the view does not reload it for a refresh.
      const keep = a.keepCurrent ? s.current : null;
      const fresh = a.items.filter((x) => x.itemId !== keep?.itemId && !s.decided.has(x.itemId));
      return { ...s, total: a.total, current: keep ?? fresh[0] ?? null, upcoming: keep ? fresh : fresh.slice(1) };
    }
    case 'next': {
      const [head, ...rest] = s.upcoming;
      return {
        ...s,
        back: s.current ? [...s.back, s.current] : s.back,
        current: head ?? null,
        upcoming: rest,
        refills: rest.length < LOW_WATER ? s.refills + 1 : s.refills,
      };
    }
    case 'previous': {
      const last = s.back.at(-1);
      if (!last) return s;
      return { ...s, back: s.back.slice(0, -1), current: last, upcoming: s.current ? [s.current, ...s.upcoming] : s.upcoming };
    }
    case 'jump':
      return {
        ...s,
        back: s.current ? [...s.back, s.current] : s.back,
        current: a.item,
        upcoming: s.upcoming.filter((x) => !same(x, a.item)),
      };
    case 'revisit':
      return { ...s, current: a.item, upcoming: s.current ? [s.current, ...s.upcoming] : s.upcoming };
    case 'decided':
      return s.decided.has(a.itemId) ? s : { ...s, decided: new Set([...s.decided, a.itemId]) };
  }
}
