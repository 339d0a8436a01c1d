// Window/level presets, in the order of their keys (1–5, study.preset in src/shared/keymap.ts).
export interface VoiPreset { name: string; width: number; center: number }

export const VOI_PRESETS: readonly VoiPreset[] = [
  { name: 'Soft tissue', width: 400, center: 40 },
  { name: 'Lung', width: 1500, center: -600 },
  { name: 'Bone', width: 1800, center: 400 },
  { name: 'Brain', width: 80, center: 40 },
  { name: 'Abdomen', width: 350, center: 50 },
];
