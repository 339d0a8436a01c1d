// The keymap is the one place keys are bound: the table is consistent, key presses resolve to the commands a
// user expects (modifiers, Shift, AltGr, text fields), the schema's reserved keys come from it, and no renderer
// file reads a key from a keyboard event except through it.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEYMAP, KEY_CONTEXTS, bindingsOf, keyHint, keyHits, keyLabel, matchesChord, parseChord, reservedKeys } from '../../src/shared/keymap.ts';
import type { KeyContext, KeyHandlers, KeyPress } from '../../src/shared/keymap.ts';
import { DEMO_SCHEMA, LabelSchema, RESERVED_KEYS } from '../../src/shared/label-schema.ts';
import { CT_PRESETS, OTHER_PRESETS, RADIOGRAPH_PRESETS } from '../../src/renderer/src/viewer/presets.ts';

const RENDERER = path.resolve(import.meta.dirname, '../../src/renderer/src');
const KEYBOARD_MODULE = path.join(RENDERER, 'keyboard');
const sources = (): { file: string; text: string }[] => fs.readdirSync(RENDERER, { recursive: true, withFileTypes: true })
  .filter((d) => d.isFile() && /\.(ts|tsx)$/.test(d.name))
  .map((d) => path.join(d.parentPath, d.name))
  .map((file) => ({ file: path.relative(RENDERER, file), text: fs.readFileSync(file, 'utf8') }));

const press = (key: string, mods: Partial<Omit<KeyPress, 'key'>> = {}): KeyPress => ({ key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods });
const commands = (context: KeyContext, e: KeyPress, typing = false, dynamic = {}): string[] => keyHits(context, e, typing, dynamic).map((h) => h.command);

/** Contexts on screen at the same time (a dialog aside): a chord may mean one thing only among them. */
const MOUNTED_TOGETHER: KeyContext[][] = [['study', 'viewer'], ['labelling', 'viewer'], ['worklist'], ['reading', 'viewer'], ['adjudication', 'viewer']];

describe('the keymap table', () => {
  it('names each command once, under its own context, with chords that parse', () => {
    const ids = KEYMAP.map((b) => b.command);
    expect(new Set(ids).size).toBe(ids.length);
    for (const b of (Object.keys(KEY_CONTEXTS) as KeyContext[]).flatMap(bindingsOf)) {
      expect(b.command.startsWith(`${b.context}.`), b.command).toBe(true);
      expect(b.label.length, b.command).toBeGreaterThan(3);
      expect(b.keys.length > 0 || b.dynamic !== undefined, `${b.command} has keys`).toBe(true);
      for (const k of b.keys) expect(() => parseChord(k), k).not.toThrow();
    }
    expect(() => parseChord('Hyper+Z')).toThrow(/unknown modifier "Hyper"/);
    expect((Object.keys(KEY_CONTEXTS) as KeyContext[]).flatMap(bindingsOf).length).toBe(KEYMAP.length);
  });

  it('binds a chord to one command among the contexts on screen together', () => {
    for (const group of MOUNTED_TOGETHER) {
      const seen = new Map<string, string>();
      for (const b of group.flatMap(bindingsOf)) {
        for (const k of b.keys) {
          expect(seen.get(k), `${k} is bound to ${seen.get(k)} and ${b.command}`).toBeUndefined();
          seen.set(k, b.command);
        }
      }
    }
  });

  it('has a preset key for every window/level preset of every modality, and names them', () => {
    const presets = bindingsOf('study').find((b) => b.command === 'study.preset')!;
    for (const list of [CT_PRESETS, RADIOGRAPH_PRESETS, OTHER_PRESETS]) {
      expect(presets.keys.length).toBeGreaterThanOrEqual(list.length);
      for (const p of list) expect(presets.label).toContain(p.name.toLowerCase());
    }
  });

  it('reserves for the labelling view exactly the keys it reserved before the keymap', () => {
    expect(RESERVED_KEYS).toEqual(['a', 'x', 'n', 'p', 'z', 'y', 'f', 'e', 'b', 'h', 'j', 'k', 'i', 'r', 's', 't', '?']);
    expect(RESERVED_KEYS).toEqual(reservedKeys());
    // Every plain letter or digit of the labelling view is refused as a label shortcut, with the list in the message.
    for (const b of [...bindingsOf('labelling'), ...bindingsOf('viewer')]) {
      for (const k of b.keys.filter((x) => /^[a-z0-9]$/.test(x))) {
        const s = structuredClone(DEMO_SCHEMA);
        s.groups[0]!.labels[0]!.shortcut = k;
        const r = LabelSchema.safeParse(s);
        expect(r.success, `${k} (${b.command}) accepted as a shortcut`).toBe(false);
        expect(r.error?.issues[0]?.message).toContain(`reserved by the labelling view (${RESERVED_KEYS.join(' ')})`);
      }
    }
    // Digits are the labels' (the demo schema's 1–5), though they pick window presets in the study view.
    expect(LabelSchema.safeParse(DEMO_SCHEMA).success).toBe(true);
  });

  it('writes keys for people', () => {
    expect(keyLabel('ArrowRight')).toBe('→');
    expect(keyLabel('Escape')).toBe('Esc');
    expect(keyLabel('Ctrl+Shift+Z')).toBe('Ctrl+Shift+Z');
    expect(keyHint('labelling.undo')).toBe('z or Ctrl+Z');
    expect(keyHint('labelling.next')).toBe('n or →');
  });
});

describe('key presses', () => {
  it('run the bound command, with the index of the key that matched', () => {
    expect(commands('labelling', press('n'))).toEqual(['labelling.next']);
    expect(commands('labelling', press('ArrowRight'))).toEqual(['labelling.next']);
    expect(keyHits('study', press('3'), false)[0]).toMatchObject({ command: 'study.preset', key: '3', index: 2 });
    expect(commands('viewer', press('PageDown'))).toEqual(['viewer.next-page']);
    expect(commands('worklist', press('Enter'))).toEqual(['worklist.open']);
  });

  it('tell undo from redo by Shift, take Cmd for Ctrl, and leave other Ctrl chords to the browser', () => {
    expect(commands('labelling', press('z', { ctrlKey: true }))).toEqual(['labelling.undo']);
    expect(commands('labelling', press('Z', { ctrlKey: true, shiftKey: true }))).toEqual(['labelling.redo']);
    expect(commands('labelling', press('z', { metaKey: true }))).toEqual(['labelling.undo']);
    expect(commands('labelling', press('y', { ctrlKey: true }))).toEqual(['labelling.redo']);
    expect(commands('labelling', press('n', { ctrlKey: true }))).toEqual([]);
    expect(commands('labelling', press('n', { altKey: true }))).toEqual([]);
    expect(commands('viewer', press('r', { metaKey: true }))).toEqual([]);
  });

  it('take Shift as part of the character, and punctuation however the layout types it', () => {
    expect(commands('labelling', press('?', { shiftKey: true }))).toEqual(['labelling.help']);
    expect(commands('labelling', press('N', { shiftKey: true }))).toEqual([]);
    expect(commands('labelling', press('ArrowRight', { shiftKey: true }))).toEqual(['labelling.next']);
    // AltGr reads as Ctrl+Alt on Windows; German keyboards type [ and ] with it.
    expect(commands('study', press('[', { ctrlKey: true, altKey: true }))).toEqual(['study.previous-series']);
    expect(matchesChord(parseChord('?'), press('?', { ctrlKey: true, altKey: true }))).toBe(true);
    expect(matchesChord(parseChord('Ctrl+Z'), press('z', { ctrlKey: true, shiftKey: true }))).toBe(false);
  });

  it('are typed, not run, in a text field, except where a binding says so', () => {
    expect(commands('labelling', press('n'), true)).toEqual([]);
    expect(commands('labelling', press('z', { ctrlKey: true }), true)).toEqual([]);
    expect(commands('labelling', press('Escape'), true)).toEqual(['labelling.close']);
    expect(commands('worklist', press('ArrowDown'), true)).toEqual(['worklist.down']);
    expect(commands('dialog', press('Escape'), true)).toEqual(['dialog.close']);
    expect(commands('study', press('Escape'), true)).toEqual([]);
  });

  it('reach the schema\'s label shortcuts, given at run time, after the fixed keys', () => {
    const dynamic = { 'labelling.set-label': ['1', '4', '7'] };
    expect(keyHits('labelling', press('4'), false, dynamic)).toEqual([{ command: 'labelling.set-label', key: '4', index: 1, typing: false }]);
    expect(commands('labelling', press('4'))).toEqual([]);
    expect(commands('labelling', press('4'), true, dynamic)).toEqual([]);
  });
});

describe('the renderer', () => {
  it('reads keys from keyboard events only in its keyboard module', () => {
    const offences: string[] = [];
    for (const { file, text } of sources()) {
      if (path.join(RENDERER, file).startsWith(KEYBOARD_MODULE + path.sep)) continue;
      // The first three find any key handler at all; the rest, a key read some other way (errors have a `code`
      // too, so only KeyboardEvent.code values count there).
      const rules: [RegExp, string][] = [
        [/\bkey(down|up|press)\b/i, 'listens to key events'],
        [/\bonKey(Down|Up|Press)\b/, 'handles key events'],
        [/\bKeyboardEvent\b/, 'handles a KeyboardEvent'],
        [/\.key\s*[!=]==?\s*['"`]|['"`]\s*[!=]==?\s*[\w.]+\.key\b/, 'compares a key with a literal'],
        [/switch\s*\(\s*(e|ev|evt|event)\.key\s*\)|\.includes\(\s*(e|ev|evt|event)\.key\s*\)/, 'matches a key against literals'],
        [/\.(keyCode|which|charCode)\b/, 'reads a legacy key code'],
        [/\.code\s*[!=]==?\s*['"`](Key[A-Z]|Digit|Arrow|Numpad|Escape|Enter|Space|Tab|Page|Home|End|Bracket|Slash)/, 'compares a key code'],
      ];
      for (const [re, what] of rules) if (re.test(text)) offences.push(`${file} ${what}: route it through useKeymap and src/shared/keymap.ts`);
    }
    expect(offences).toEqual([]);
  });

  it('mounts every context of the table somewhere', () => {
    const mounted = new Set(sources().flatMap(({ text }) => [...text.matchAll(/useKeymap(?:Props)?\(\s*'([a-z-]+)'/g)].map((m) => m[1]!)));
    expect([...mounted].sort()).toEqual(Object.keys(KEY_CONTEXTS).sort());
  });

  it('must handle every command of a context it mounts (checked by the compiler)', () => {
    // @ts-expect-error — a dialog without its close handler does not type-check.
    const missing: KeyHandlers<'dialog'> = {};
    const complete: KeyHandlers<'dialog'> = { 'dialog.close': () => {} };
    expect(Object.keys(complete)).toEqual(['dialog.close']);
    expect(missing).toEqual({});
  });
});
