// Every key binding of the UI, declared once: which command a key runs, where, and what the help says about it.
// The renderer's key handlers are driven from this table (src/renderer/src/keyboard), the `?` help is generated
// from it, and the label schema derives the keys a label shortcut may not take from it (RESERVED_KEYS), so a new
// binding cannot silently collide with a label. Pure data and pure functions: main validates schemas with it too.

/** Where a binding applies, with the help's heading for it. */
export const KEY_CONTEXTS = {
  worklist: { title: 'Worklist' },
  study: { title: 'Study view' },
  viewer: { title: 'Images (study and labelling views)', note: 'Mouse: drag for window/level, right-drag to zoom, middle-drag to pan, wheel to scroll.' },
  labelling: { title: 'Labelling' },
  dialog: { title: 'Dialogs' },
  reading: { title: 'Reading (a reader study)', note: 'Nothing of the model is shown here; your reads are yours alone until the study is unblinded.' },
  adjudication: { title: 'Adjudication' },
} as const satisfies Record<string, { title: string; note?: string }>;
export type KeyContext = keyof typeof KEY_CONTEXTS;

/**
 * Whether a binding fires while the focus is in a text field: 'skip' (the default; the key is typed), 'also'
 * (the worklist's arrows and Enter work from its search box; Esc closes a dialog from any field), 'only'.
 */
export type Typing = 'skip' | 'also' | 'only';

export interface KeyBinding {
  /** `<context>.<verb>`: what the renderer names its handler by. */
  readonly command: string;
  readonly context: KeyContext;
  /**
   * Chords as KeyboardEvent.key values with optional modifiers: 'n', 'ArrowRight', '?', 'Ctrl+Z', 'Ctrl+Shift+Z'.
   * Ctrl also means Cmd on a Mac. A handler is told which of these matched (its index: the 1–5 presets).
   */
  readonly keys: readonly string[];
  /** The help's description of what the keys do. */
  readonly label: string;
  readonly typing?: Typing;
  /**
   * The keys come from data at run time (the schema's label shortcuts) and `keys` is empty; this is what the
   * help shows in the key column.
   */
  readonly dynamic?: string;
  /** A label shortcut may not take this binding's keys although its context is not part of the labelling view. */
  readonly reserved?: true;
}

export const KEYMAP = [
  { command: 'worklist.down', context: 'worklist', keys: ['ArrowDown'], label: 'move the cursor down', typing: 'also' },
  { command: 'worklist.up', context: 'worklist', keys: ['ArrowUp'], label: 'move the cursor up', typing: 'also' },
  { command: 'worklist.open', context: 'worklist', keys: ['Enter'], label: 'open the study under the cursor', typing: 'also' },

  { command: 'study.back', context: 'study', keys: ['Escape'], label: 'back to the worklist' },
  { command: 'study.tags', context: 'study', keys: ['t'], label: 'show or hide the DICOM tags', reserved: true },
  { command: 'study.previous-series', context: 'study', keys: ['['], label: 'previous series' },
  { command: 'study.next-series', context: 'study', keys: [']'], label: 'next series' },
  // The labelling view leaves digits to label shortcuts, so the presets are the study view's, not the viewer's.
  // A key past the modality's presets does nothing (src/renderer/src/viewer/presets.ts).
  { command: 'study.preset', context: 'study', keys: ['1', '2', '3', '4', '5'], label: 'window/level presets of the modality: CT soft tissue, lung, bone, brain, abdomen; DX/CR default, bone, soft tissue; others default, full range' },
  { command: 'study.help', context: 'study', keys: ['?'], label: 'this help' },

  { command: 'viewer.next-image', context: 'viewer', keys: ['ArrowDown', 'j'], label: 'next image (slice or frame)' },
  { command: 'viewer.previous-image', context: 'viewer', keys: ['ArrowUp', 'k'], label: 'previous image' },
  { command: 'viewer.next-page', context: 'viewer', keys: ['PageDown'], label: '10 images on' },
  { command: 'viewer.previous-page', context: 'viewer', keys: ['PageUp'], label: '10 images back' },
  { command: 'viewer.first-image', context: 'viewer', keys: ['Home'], label: 'first image' },
  { command: 'viewer.last-image', context: 'viewer', keys: ['End'], label: 'last image' },
  { command: 'viewer.invert', context: 'viewer', keys: ['i'], label: 'invert' },
  { command: 'viewer.reset', context: 'viewer', keys: ['r'], label: 'reset the view (window/level, zoom, pan)' },
  // The viewer's, so the study view and the labelling view both have it (and no label can take s).
  { command: 'viewer.similar', context: 'viewer', keys: ['s'], label: 'find images like what the viewport shows (zoom and pan to a region first)' },

  { command: 'labelling.accept', context: 'labelling', keys: ['Enter', 'a'], label: 'accept the suggestion of the active group' },
  { command: 'labelling.reject', context: 'labelling', keys: ['x'], label: 'reject the suggestion (the next best is shown)' },
  { command: 'labelling.next', context: 'labelling', keys: ['n', 'ArrowRight'], label: 'next item' },
  { command: 'labelling.previous', context: 'labelling', keys: ['p', 'ArrowLeft'], label: 'previous item' },
  { command: 'labelling.undo', context: 'labelling', keys: ['z', 'Ctrl+Z'], label: 'undo your last change' },
  { command: 'labelling.redo', context: 'labelling', keys: ['y', 'Ctrl+Shift+Z', 'Ctrl+Y'], label: 'redo' },
  { command: 'labelling.flag', context: 'labelling', keys: ['f'], label: 'flag for a second opinion' },
  { command: 'labelling.note', context: 'labelling', keys: ['e'], label: 'write a note (Esc leaves it; it is saved)' },
  { command: 'labelling.reveal', context: 'labelling', keys: ['b'], label: 'reveal a hidden suggestion (blinded read)' },
  { command: 'labelling.next-group', context: 'labelling', keys: ['Tab'], label: 'next label group at this level' },
  { command: 'labelling.history', context: 'labelling', keys: ['h'], label: 'history of this study' },
  { command: 'labelling.help', context: 'labelling', keys: ['?'], label: 'this help' },
  { command: 'labelling.close', context: 'labelling', keys: ['Escape'], label: 'close the open panel, or leave the note', typing: 'also' },
  { command: 'labelling.set-label', context: 'labelling', keys: [], dynamic: 'a label\'s key', label: 'set that label (a child implies its parent; in a multi-label group, toggle it)' },

  { command: 'dialog.close', context: 'dialog', keys: ['Escape'], label: 'close the dialog', typing: 'also' },

  // Reader studies (src/renderer/src/features/readers): the keys the labelling view already owns, so no label
  // shortcut can take them.
  { command: 'reading.set-label', context: 'reading', keys: [], dynamic: 'a label\'s key', label: 'read the item as that label, and go on to the next' },
  { command: 'reading.next', context: 'reading', keys: ['n', 'ArrowRight'], label: 'on to your next unread item' },
  { command: 'reading.previous', context: 'reading', keys: ['p', 'ArrowLeft'], label: 'back to the read before this one (to change it)' },
  { command: 'reading.help', context: 'reading', keys: ['?'], label: 'this help' },
  { command: 'reading.close', context: 'reading', keys: ['Escape'], label: 'back to the reading studies' },
  { command: 'adjudication.set-label', context: 'adjudication', keys: [], dynamic: 'a label\'s key', label: 'make that label the reference, and go on to the next disagreement' },
  { command: 'adjudication.next', context: 'adjudication', keys: ['n', 'ArrowRight'], label: 'next item of the queue' },
  { command: 'adjudication.previous', context: 'adjudication', keys: ['p', 'ArrowLeft'], label: 'previous item of the queue' },
  { command: 'adjudication.close', context: 'adjudication', keys: ['Escape'], label: 'back to the reading studies' },
] as const satisfies readonly KeyBinding[];

type Binding = (typeof KEYMAP)[number];
/** A row of the table read as a plain binding (its optional fields readable), its command still typed. */
export type KeymapRow = KeyBinding & { readonly command: KeyCommand };
const TABLE: readonly KeymapRow[] = KEYMAP;
export type KeyCommand = Binding['command'];
/** The commands of one context: a component that mounts the context must handle every one of them. */
export type KeyCommandIn<C extends KeyContext> = Extract<Binding, { context: C }>['command'];

/** What a handler is told: the key that matched, its index in the binding's keys, and whether a field had focus. */
export interface KeyHit { command: KeyCommand; key: string; index: number; typing: boolean }

/** The parts of a keyboard event (DOM or React) the keymap reads. */
export interface KeyPress { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean; shiftKey: boolean }

/** Runs a command; `false` means it does not apply now (nothing to accept), so the key is left to the page. */
export type KeyHandler = (hit: KeyHit) => boolean | void;
export type KeyHandlers<C extends KeyContext> = { readonly [K in KeyCommandIn<C>]: KeyHandler };
/** Keys known only at run time, by command (the schema's label shortcuts for labelling.set-label). */
export type DynamicKeys = Partial<Record<KeyCommand, readonly string[]>>;

export interface Chord { key: string; ctrl: boolean; alt: boolean; shift: boolean }

/** 'Ctrl+Shift+Z' → { key: 'Z', ctrl, shift }. Throws on an unknown modifier (a typo in the table is a bug). */
export function parseChord(chord: string): Chord {
  const parts = chord.length > 1 ? chord.split('+') : [chord];
  const key = parts.pop();
  if (!key) throw new Error(`keymap: "${chord}" has no key`);
  const mods = new Set(parts);
  for (const m of mods) if (m !== 'Ctrl' && m !== 'Alt' && m !== 'Shift') throw new Error(`keymap: "${chord}" has an unknown modifier "${m}" (Ctrl, Alt or Shift)`);
  return { key, ctrl: mods.has('Ctrl'), alt: mods.has('Alt'), shift: mods.has('Shift') };
}

const isPunctuation = (key: string): boolean => key.length === 1 && !/[\p{L}\p{N}]/u.test(key);

/**
 * Whether a key press is this chord. A chord with Ctrl or Alt needs exactly its modifiers (Ctrl+Z is undo,
 * Ctrl+Shift+Z redo) and ignores case. A plain chord does not fire with Ctrl, Cmd or Alt held (those are the
 * browser's and the system's), and ignores Shift, which is already in the key: '?' is Shift+/ and 'N' is not 'n'.
 * Punctuation ignores modifiers altogether: on many layouts '[' or '?' is typed with AltGr, which reads as Ctrl+Alt.
 */
export function matchesChord(chord: Chord, e: KeyPress): boolean {
  const ctrl = e.ctrlKey || e.metaKey;
  if (chord.ctrl || chord.alt) {
    return ctrl === chord.ctrl && e.altKey === chord.alt && e.shiftKey === chord.shift && e.key.toLowerCase() === chord.key.toLowerCase();
  }
  if (isPunctuation(chord.key)) return e.key === chord.key;
  return !ctrl && !e.altKey && e.key === chord.key;
}

const CHORDS = new Map<string, Chord>(TABLE.flatMap((b) => b.keys.map((k) => [k, parseChord(k)] as const)));
const chordOf = (key: string): Chord => CHORDS.get(key) ?? parseChord(key);

export function bindingsOf(context: KeyContext): readonly KeymapRow[] {
  return TABLE.filter((b) => b.context === context);
}

/**
 * The commands a key press could run in a context, in table order: the dispatcher tries each until one applies.
 * `typing` says whether the focus is in a text field; `dynamic` adds keys known only at run time.
 */
export function keyHits(context: KeyContext, e: KeyPress, typing: boolean, dynamic: DynamicKeys = {}): KeyHit[] {
  const hits: KeyHit[] = [];
  for (const b of TABLE) {
    if (b.context !== context) continue;
    const when = b.typing ?? 'skip';
    if ((typing && when === 'skip') || (!typing && when === 'only')) continue;
    const keys = b.dynamic !== undefined ? dynamic[b.command] ?? [] : b.keys;
    const index = keys.findIndex((k) => matchesChord(chordOf(k), e));
    if (index >= 0) hits.push({ command: b.command, key: keys[index]!, index, typing });
  }
  return hits;
}

const KEY_NAMES: Record<string, string> = {
  ArrowRight: '→', ArrowLeft: '←', ArrowUp: '↑', ArrowDown: '↓', PageUp: 'PgUp', PageDown: 'PgDn', Escape: 'Esc',
};

/** How the help writes a chord: '→', 'Esc', 'Ctrl+Shift+Z'. */
export function keyLabel(chord: string): string {
  const c = chordOf(chord);
  return [c.ctrl && 'Ctrl', c.alt && 'Alt', c.shift && 'Shift', KEY_NAMES[c.key] ?? c.key].filter(Boolean).join('+');
}

/** The contexts on screen in the labelling view: their keys are the view's own. */
const LABELLING_VIEW: readonly KeyContext[] = ['labelling', 'viewer'];

/**
 * The keys a label shortcut may not take: every plain one-character key of the labelling view's contexts and of
 * bindings marked `reserved`. Letters and digits (what a shortcut can be) come first, then the rest ('?'), which no
 * shortcut can take but the schema's error message lists so that the reader sees every key the view owns.
 */
export function reservedKeys(): string[] {
  const rank = (c: KeyContext): number => (LABELLING_VIEW.includes(c) ? LABELLING_VIEW.indexOf(c) : LABELLING_VIEW.length);
  const keys = TABLE
    .filter((b) => LABELLING_VIEW.includes(b.context) || b.reserved)
    .sort((a, b) => rank(a.context) - rank(b.context))
    .flatMap((b) => b.keys.filter((k) => k.length === 1));
  const unique = [...new Set(keys)];
  return [...unique.filter((k) => /^[a-z0-9]$/.test(k)), ...unique.filter((k) => !/^[a-z0-9]$/.test(k))];
}

/** A command's keys as the UI names them in titles and hints: 'z or Ctrl+Z'. */
export function keyHint(command: KeyCommand): string {
  const b = TABLE.find((x) => x.command === command);
  return b ? b.dynamic ?? b.keys.map(keyLabel).join(' or ') : '';
}

/** The keys bound to a command, in table order (the preset buttons name their key by index). */
export function keysOf(command: KeyCommand): readonly string[] {
  return TABLE.find((x) => x.command === command)?.keys ?? [];
}
