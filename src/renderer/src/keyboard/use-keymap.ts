// The one dispatcher between key presses and commands: a component mounts a keymap context with a handler for
// each of its commands (the compiler insists on every one), and the table in src/shared/keymap.ts decides which
// key runs which. No other renderer file reads a key from a keyboard event (test/unit/keymap.test.ts checks).
import { useEffect, useRef } from 'react';
import type { KeyboardEvent as ReactKeyboardEvent } from 'react';
import { keyHits } from '../../../shared/keymap.ts';
import type { DynamicKeys, KeyContext, KeyHandler, KeyHandlers, KeyPress } from '../../../shared/keymap.ts';

const NOT_TYPED = new Set(['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file', 'image']);

/** Whether keys typed here are text: a checkbox that was just clicked is not a field, so commands keep working. */
export function isTypingTarget(t: EventTarget | null): boolean {
  return (t instanceof HTMLInputElement && !NOT_TYPED.has(t.type)) || t instanceof HTMLTextAreaElement
    || t instanceof HTMLSelectElement || (t instanceof HTMLElement && t.isContentEditable);
}

/** Leaves a text field (Esc in the labelling view's note): the keys are commands again. */
export function leaveField(t: EventTarget | null): void {
  if (t instanceof HTMLElement) t.blur();
}

type Press = KeyPress & { target: EventTarget | null; preventDefault(): void };

function dispatch<C extends KeyContext>(context: C, handlers: KeyHandlers<C>, e: Press, dynamic: DynamicKeys | undefined): void {
  const table: Partial<Record<string, KeyHandler>> = handlers;
  for (const hit of keyHits(context, e, isTypingTarget(e.target), dynamic)) {
    const run = table[hit.command];
    // A command that ran owns the key: the page's default (scrolling, focus moving on Tab, typing) must not follow.
    if (run && run(hit) !== false) { e.preventDefault(); return; }
  }
}

export interface KeymapOptions {
  /** Off while something else owns the keyboard (default on). */
  enabled?: boolean;
  dynamic?: DynamicKeys;
}

/** Keeps the latest handlers without re-subscribing on every render (they close over the render's state). */
function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  useEffect(() => { ref.current = value; });
  return ref;
}

/** Runs a context's commands from key presses anywhere in the window while the component is mounted. */
export function useKeymap<C extends KeyContext>(context: C, handlers: KeyHandlers<C>, options: KeymapOptions = {}): void {
  const latest = useLatest({ handlers, dynamic: options.dynamic });
  const enabled = options.enabled ?? true;
  useEffect(() => {
    if (!enabled) return;
    const onKey = (e: KeyboardEvent): void => dispatch(context, latest.current.handlers, e, latest.current.dynamic);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [context, enabled, latest]);
}

/** Runs a context's commands from key presses inside one element (the worklist): spread the result onto it. */
export function useKeymapProps<C extends KeyContext>(context: C, handlers: KeyHandlers<C>, options: KeymapOptions = {}): { onKeyDown: (e: ReactKeyboardEvent) => void } {
  const latest = useLatest({ handlers, dynamic: options.dynamic, enabled: options.enabled ?? true });
  return {
    onKeyDown: (e) => { if (latest.current.enabled) dispatch(context, latest.current.handlers, e, latest.current.dynamic); },
  };
}
