// Whether this machine has a GPU an execution provider could use, so the UI can tell "no GPU here, CPU is the
// normal state" from "a GPU is here but its provider failed" (a warning worth acting on, e.g. npm run setup:gpu).
import fs from 'node:fs';

export type GpuPresence = 'none' | 'present' | 'unknown';

/**
 * Linux: the providers tried there need NVIDIA (CUDA), whose driver always creates /dev/nvidiactl and
 * /proc/driver/nvidia. Elsewhere (DirectML takes any GPU, CoreML any Mac) there is no cheap honest answer: unknown.
 */
export function probeGpu(platform: NodeJS.Platform = process.platform, exists: (p: string) => boolean = fs.existsSync): GpuPresence {
  if (platform !== 'linux') return 'unknown';
  return ['/proc/driver/nvidia/version', '/dev/nvidiactl', '/dev/nvidia0'].some(exists) ? 'present' : 'none';
}
