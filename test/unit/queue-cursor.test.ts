// The labelling queue's cursor, without React or main: moving on and back, picking an item, going back to an
// undone change, refreshes that keep the item on screen, and items decided in this session staying out.
import { describe, expect, it } from 'vitest';
import type { QueueItem } from '../../src/shared/contract.ts';
import { EMPTY_CURSOR, LOW_WATER, queueCursor } from '../../src/renderer/src/features/labelling/queue-cursor.ts';
import type { QueueAction, QueueCursor } from '../../src/renderer/src/features/labelling/queue-cursor.ts';

const item = (itemId: number, reason = 'Unlabelled'): QueueItem => ({ level: 'study', itemId, studyId: itemId, title: `Study ${itemId}`, reason, score: null, images: [] });
const items = (...ids: number[]): QueueItem[] => ids.map((id) => item(id));
const run = (...actions: QueueAction[]): QueueCursor => actions.reduce(queueCursor, EMPTY_CURSOR);
const ids = (list: readonly QueueItem[]): number[] => list.map((x) => x.itemId);
const loaded = (list: QueueItem[], keepCurrent = false): QueueAction => ({ type: 'loaded', items: list, total: list.length, keepCurrent });

describe('the labelling queue cursor', () => {
  it('shows the head of the first page and holds the rest ahead', () => {
    const s = run(loaded(items(1, 2, 3)));
    expect(s.current?.itemId).toBe(1);
    expect(ids(s.upcoming)).toEqual([2, 3]);
    expect(s.total).toBe(3);
    expect(run(loaded([])).current).toBeNull();
  });

  it('moves on and back, and previous at the start is a no-op', () => {
    const start = run(loaded(items(1, 2, 3)));
    expect(queueCursor(start, { type: 'previous' })).toBe(start);
    const moved = run(loaded(items(1, 2, 3)), { type: 'next' }, { type: 'next' });
    expect(moved.current?.itemId).toBe(3);
    expect(ids(moved.back)).toEqual([1, 2]);
    const back = queueCursor(moved, { type: 'previous' });
    expect(back.current?.itemId).toBe(2);
    expect(ids(back.upcoming)).toEqual([3]);
    expect(ids(back.back)).toEqual([1]);
    const end = run(loaded(items(1)), { type: 'next' });
    expect(end.current).toBeNull();
    expect(ids(end.back)).toEqual([1]);
  });

  it('asks for the next page each time moving on leaves fewer than LOW_WATER ahead', () => {
    const page = items(...Array.from({ length: LOW_WATER + 3 }, (_, i) => i + 1));
    let s = run(loaded(page));
    const asked: number[] = [];
    for (let i = 0; i < 4; i++) { s = queueCursor(s, { type: 'next' }); asked.push(s.refills); }
    // LOW_WATER + 2 ahead at first: the second step leaves LOW_WATER, the third LOW_WATER - 1.
    expect(asked).toEqual([0, 0, 1, 2]);
    expect(queueCursor(s, { type: 'previous' }).refills).toBe(2);
  });

  it('keeps the item on screen (the same object) through a refresh, with the new order ahead', () => {
    const s = run(loaded(items(1, 2, 3)), { type: 'next' });
    const current = s.current;
    const refreshed = queueCursor(s, loaded([item(3, 'Uncertain'), item(2, 'Uncertain'), item(4)], true));
    expect(refreshed.current).toBe(current);
    expect(ids(refreshed.upcoming)).toEqual([3, 4]);
    expect(refreshed.upcoming[0]?.reason).toBe('Uncertain');
    expect(ids(refreshed.back)).toEqual([1]);
    // Nothing on screen: a refresh shows its head.
    expect(queueCursor(EMPTY_CURSOR, loaded(items(5, 6), true)).current?.itemId).toBe(5);
  });

  it('leaves items decided in this session out of later pages, until the queue restarts', () => {
    const s = run(loaded(items(1, 2, 3)), { type: 'decided', itemId: 1 }, { type: 'next' }, { type: 'decided', itemId: 2 });
    expect(ids(queueCursor(s, loaded(items(1, 2, 3, 4), true)).upcoming)).toEqual([3, 4]);
    expect(queueCursor(s, loaded(items(1, 2, 3, 4))).current?.itemId).toBe(3);
    const restarted = queueCursor(s, { type: 'restart' });
    expect(restarted.back).toEqual([]);
    expect(queueCursor(restarted, loaded(items(1, 2, 3))).current?.itemId).toBe(1);
    expect(queueCursor(s, { type: 'decided', itemId: 2 })).toBe(s);
  });

  it('jumps to a picked item (the one left goes behind) and revisits an undone one (the one left comes next)', () => {
    const s = run(loaded(items(1, 2, 3, 4)));
    const jumped = queueCursor(s, { type: 'jump', item: s.upcoming[1]! });
    expect(jumped.current?.itemId).toBe(3);
    expect(ids(jumped.upcoming)).toEqual([2, 4]);
    expect(ids(jumped.back)).toEqual([1]);
    const revisited = queueCursor(jumped, { type: 'revisit', item: item(1, 'Back to the undone change') });
    expect(revisited.current?.reason).toBe('Back to the undone change');
    expect(ids(revisited.upcoming)).toEqual([3, 2, 4]);
    expect(ids(revisited.back)).toEqual([1]);
  });

  it('never changes the state it is given', () => {
    const s = run(loaded(items(1, 2, 3)), { type: 'decided', itemId: 9 });
    const frozen = structuredClone({ ...s, decided: [...s.decided] });
    for (const a of [{ type: 'next' }, { type: 'previous' }, { type: 'restart' }, { type: 'decided', itemId: 4 }, loaded(items(7), true), { type: 'jump', item: s.upcoming[0]! }] as QueueAction[]) queueCursor(s, a);
    expect({ ...s, decided: [...s.decided] }).toEqual(frozen);
  });
});
