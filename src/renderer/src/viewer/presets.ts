// Window/level presets by modality, in the order of their keys (1–5, study.preset in src/shared/keymap.ts).
// Only CT has absolute units (Hounsfield), so only CT gets fixed windows. A radiograph's or an MR's pixel values
// mean nothing across machines, so their presets start from what the file says (its own window) or from the
// image's own range of values. Pure: the viewer resolves a preset against the image on screen.

/** How a preset picks its window. */
export type VoiRule =
  /** A fixed window in modality units (CT: HU). */
  | { kind: 'fixed'; width: number; center: number }
  /** The window the file carries (Window Center/Width), else the full range. */
  | { kind: 'file' }
  /** A part of the image's range of values: from/to are fractions of [min, max]. */
  | { kind: 'range'; from: number; to: number };

export interface VoiPreset { name: string; rule: VoiRule }

const fixed = (name: string, width: number, center: number): VoiPreset => ({ name, rule: { kind: 'fixed', width, center } });

export const CT_PRESETS: readonly VoiPreset[] = [
  fixed('Soft tissue', 400, 40),
  fixed('Lung', 1500, -600),
  fixed('Bone', 1800, 400),
  fixed('Brain', 80, 40),
  fixed('Abdomen', 350, 50),
];

// A radiograph's bone sits in the upper (brighter) part of its values and soft tissue in the lower middle.
export const RADIOGRAPH_PRESETS: readonly VoiPreset[] = [
  { name: 'Default', rule: { kind: 'file' } },
  { name: 'Bone', rule: { kind: 'range', from: 0.45, to: 1 } },
  { name: 'Soft tissue', rule: { kind: 'range', from: 0.1, to: 0.6 } },
];

export const OTHER_PRESETS: readonly VoiPreset[] = [
  { name: 'Default', rule: { kind: 'file' } },
  { name: 'Full range', rule: { kind: 'range', from: 0, to: 1 } },
];

const RADIOGRAPHS = new Set(['DX', 'CR', 'DR', 'RG', 'RF', 'MG', 'PX', 'IO']);

/** The presets of a modality (a study's "CT/SR" list counts as CT). */
export function presetsFor(modality: string): readonly VoiPreset[] {
  const list = modality.toUpperCase().split(/[/\\,\s]+/);
  if (list.includes('CT')) return CT_PRESETS;
  if (list.some((m) => RADIOGRAPHS.has(m))) return RADIOGRAPH_PRESETS;
  return OTHER_PRESETS;
}

/** What the viewer knows about the image on screen, in modality units. */
export interface ImageValues { min: number; max: number; fileWidth?: number | undefined; fileCenter?: number | undefined }

export interface Window { width: number; center: number }

/** The window a preset gives on this image; null when the image has no usable values. */
export function resolvePreset(rule: VoiRule, image: ImageValues): Window | null {
  if (rule.kind === 'fixed') return { width: rule.width, center: rule.center };
  if (rule.kind === 'file' && image.fileWidth !== undefined && image.fileCenter !== undefined && image.fileWidth > 0) {
    return { width: image.fileWidth, center: image.fileCenter };
  }
  if (!Number.isFinite(image.min) || !Number.isFinite(image.max)) return null;
  const span = Math.max(1, image.max - image.min);
  const [from, to] = rule.kind === 'range' ? [rule.from, rule.to] : [0, 1];
  const lo = image.min + from * span;
  const hi = image.min + to * span;
  return { width: Math.max(1, hi - lo), center: (lo + hi) / 2 };
}

/** Whether the window on screen is still the one a preset set (a drag or a reset leaves the preset). */
export function sameWindow(a: Window, b: Window): boolean {
  return Math.abs(a.width - b.width) < 0.5 && Math.abs(a.center - b.center) < 0.5;
}
