// A project's label schema: groups of labels that are single-choice (mutually exclusive) or multi-label, with an
// optional hierarchy inside a group (choosing a child implies its parent), the level a group applies to, a prompt
// per label for zero-shot suggestions and a keyboard shortcut per label. Shared by main (validation at the edge,
// storage) and the renderer (the schema editor); imported and exported as JSON in this exact shape.
import { z } from 'zod';
import { reservedKeys } from './keymap.ts';

export const LEVELS = ['study', 'series', 'image'] as const;
export type Level = (typeof LEVELS)[number];
export const LABEL_SCHEMA_FORMAT = 'lightbox-labels/1';

/**
 * Keys no label may take because the labelling view uses them itself (accept, reject, move, undo, the viewer's
 * slice keys, …). Derived from the keymap, so a key bound there is refused here as a shortcut without anyone
 * remembering to add it; see reservedKeys in keymap.ts for which bindings count.
 */
export const RESERVED_KEYS: readonly string[] = reservedKeys();

const Key = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1–64 of a-z, 0-9, "_" or "-", starting with a letter or digit');

export const LabelDef = z
  .object({
    key: Key,
    name: z.string().trim().min(1).max(100),
    /** Text for zero-shot suggestions ("a chest radiograph showing a pleural effusion"). */
    prompt: z.string().max(1000).default(''),
    /** One key, a-z or 0-9, that sets this label in the labelling view. */
    shortcut: z.string().regex(/^[a-z0-9]$/, 'must be one key: a-z or 0-9').optional(),
    /** The key of this label's parent in the same group: choosing this label implies the parent. */
    parent: Key.optional(),
    /** Which label of the model package's zero-shot head stands for this one (default: the same key or name). */
    zeroShot: z.string().max(200).optional(),
  })
  .strict();
export type LabelDef = z.infer<typeof LabelDef>;

export const LabelGroup = z
  .object({
    key: Key,
    name: z.string().trim().min(1).max(100),
    kind: z.enum(['single', 'multi']),
    level: z.enum(LEVELS),
    description: z.string().max(2000).default(''),
    labels: z.array(LabelDef).min(1).max(100),
  })
  .strict();
export type LabelGroup = z.infer<typeof LabelGroup>;

export const LabelSchema = z
  .object({
    format: z.literal(LABEL_SCHEMA_FORMAT).default(LABEL_SCHEMA_FORMAT),
    groups: z.array(LabelGroup).max(50),
  })
  .strict()
  .superRefine((s, ctx) => {
    const issue = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
    const groupKeys = new Set<string>();
    const shortcutsByLevel = new Map<string, string>();
    s.groups.forEach((g, gi) => {
      if (groupKeys.has(g.key)) issue(['groups', gi, 'key'], `group key "${g.key}" is used twice`);
      groupKeys.add(g.key);
      const keys = new Map(g.labels.map((l) => [l.key, l]));
      if (keys.size !== g.labels.length) {
        const seen = new Set<string>();
        g.labels.forEach((l, li) => {
          if (seen.has(l.key)) issue(['groups', gi, 'labels', li, 'key'], `label key "${l.key}" is used twice in group "${g.key}"`);
          seen.add(l.key);
        });
      }
      g.labels.forEach((l, li) => {
        const at = ['groups', gi, 'labels', li];
        if (l.parent !== undefined) {
          if (!keys.has(l.parent)) issue([...at, 'parent'], `parent "${l.parent}" is not a label of group "${g.key}"`);
          // Walk up: a parent chain must end (no cycles).
          let p: string | undefined = l.parent;
          for (let depth = 0; p !== undefined; depth++) {
            if (p === l.key || depth > g.labels.length) { issue([...at, 'parent'], `label "${l.key}" is its own ancestor`); break; }
            p = keys.get(p)?.parent;
          }
        }
        if (l.shortcut !== undefined) {
          if (RESERVED_KEYS.includes(l.shortcut)) {
            issue([...at, 'shortcut'], `"${l.shortcut}" is reserved by the labelling view (${RESERVED_KEYS.join(' ')}); choose another key`);
          }
          const slot = `${g.level}:${l.shortcut}`;
          const other = shortcutsByLevel.get(slot);
          if (other) issue([...at, 'shortcut'], `shortcut "${l.shortcut}" is already used by ${other} at the ${g.level} level`);
          else shortcutsByLevel.set(slot, `${g.key}/${l.key}`);
        }
      });
    });
  });
export type LabelSchema = z.infer<typeof LabelSchema>;

/** A label and its ancestors, ancestors first: what choosing `key` means in a group with a hierarchy. */
export function withAncestors(group: LabelGroup, key: string): string[] {
  const byKey = new Map(group.labels.map((l) => [l.key, l]));
  const out: string[] = [];
  let k: string | undefined = key;
  while (k !== undefined && byKey.has(k) && !out.includes(k)) {
    out.unshift(k);
    k = byKey.get(k)!.parent;
  }
  return out;
}

/**
 * The most specific labels of a stored value: the chosen labels without the parents they imply. A single-choice
 * group has exactly one (its class for training); a multi-label group may have several.
 */
export function mostSpecific(group: LabelGroup, labels: readonly string[]): string[] {
  const parents = new Set(labels.flatMap((k) => withAncestors(group, k).slice(0, -1)));
  return labels.filter((k) => !parents.has(k));
}

/** The value stored for a choice: every chosen label plus its ancestors, in schema order. */
export function expandChoice(group: LabelGroup, chosen: readonly string[]): string[] {
  const all = new Set(chosen.flatMap((k) => withAncestors(group, k)));
  return group.labels.map((l) => l.key).filter((k) => all.has(k));
}

/** The schema a demo project starts with: chest radiograph findings with a Normal / Abnormal hierarchy. */
export const DEMO_SCHEMA: LabelSchema = {
  format: LABEL_SCHEMA_FORMAT,
  groups: [
    {
      key: 'finding',
      name: 'Finding',
      kind: 'single',
      level: 'study',
      description: 'The main finding of the study. Choosing a specific abnormality implies Abnormal.',
      labels: [
        { key: 'normal', name: 'Normal', prompt: 'a normal chest radiograph', shortcut: '1' },
        { key: 'abnormal', name: 'Abnormal', prompt: 'an abnormal chest radiograph', shortcut: '2' },
        { key: 'cardiomegaly', name: 'Cardiomegaly', prompt: 'a chest radiograph showing an enlarged heart', shortcut: '3', parent: 'abnormal' },
        { key: 'effusion', name: 'Pleural effusion', prompt: 'a chest radiograph showing a pleural effusion', shortcut: '4', parent: 'abnormal' },
        { key: 'nodule', name: 'Nodule', prompt: 'a chest radiograph showing a lung nodule', shortcut: '5', parent: 'abnormal' },
      ],
    },
    {
      key: 'quality',
      name: 'Image quality',
      kind: 'multi',
      level: 'study',
      description: 'Any that apply.',
      labels: [
        { key: 'rotated', name: 'Rotated', prompt: 'a rotated chest radiograph', shortcut: '7' },
        { key: 'underexposed', name: 'Underexposed', prompt: 'an underexposed radiograph', shortcut: '8' },
        { key: 'artefact', name: 'Artefact', prompt: 'an image with an artefact', shortcut: '9' },
      ],
    },
  ],
};
