// The labelling queue as a hook: the pure cursor (queue-cursor.ts) plus what talks to main — the first page when
// the group or queue changes, a refresh when suggestions were republished, the next page when the items ahead run low.
import { useCallback, useEffect, useReducer, useRef } from 'react';
import type { QueueItem, QueueName } from '../../../../shared/contract.ts';
import { api } from '../../api/client.ts';
import { EMPTY_CURSOR, queueCursor } from './queue-cursor.ts';
import type { QueueCursor } from './queue-cursor.ts';

const PAGE = 60;

export interface QueueCursorApi extends QueueCursor {
  next(): void;
  previous(): void;
  jump(item: QueueItem): void;
  revisit(item: QueueItem): void;
  markDecided(itemId: number): void;
  /** Fetches the queue afresh (a new schema). */
  reload(): void;
}

export function useQueueCursor(group: string, queue: QueueName, onError: (message: string) => void): QueueCursorApi {
  const [state, dispatch] = useReducer(queueCursor, EMPTY_CURSOR);
  // A page asked for before the group or queue changed must not land in the new one.
  const generation = useRef(0);

  const fetchQueue = useCallback((keepCurrent: boolean) => {
    if (!group) return;
    const asked = generation.current;
    api.call('labels.queue', { group, queue, limit: PAGE }).then((r) => {
      if (asked === generation.current) dispatch({ type: 'loaded', items: r.items, total: r.total, keepCurrent });
    }, (e: Error) => onError(e.message));
  }, [group, queue, onError]);

  useEffect(() => {
    generation.current++;
    dispatch({ type: 'restart' });
    fetchQueue(false);
  }, [fetchQueue]);

  // A published refresh brings a new order and new reasons; a save alone changes neither.
  useEffect(() => api.on('labels.changed', (e) => { if (e.reason !== 'saved') fetchQueue(true); }), [fetchQueue]);

  const latestFetch = useRef(fetchQueue);
  useEffect(() => { latestFetch.current = fetchQueue; });
  useEffect(() => { if (state.refills > 0) latestFetch.current(true); }, [state.refills]);

  const next = useCallback(() => dispatch({ type: 'next' }), []);
  const previous = useCallback(() => dispatch({ type: 'previous' }), []);
  const jump = useCallback((item: QueueItem) => dispatch({ type: 'jump', item }), []);
  const revisit = useCallback((item: QueueItem) => dispatch({ type: 'revisit', item }), []);
  const markDecided = useCallback((itemId: number) => dispatch({ type: 'decided', itemId }), []);
  const reload = useCallback(() => fetchQueue(false), [fetchQueue]);
  return { ...state, next, previous, jump, revisit, markDecided, reload };
}
