// Cornerstone image ids for what the viewer shows, built from instance ids only (the renderer never sees a path).
// The study view and the labelling view both build their stacks here, so a frame has one id and one cache entry.
import type { SeriesRow } from '../../../shared/contract.ts';
import { api } from '../api/client.ts';

export interface StackImage { imageId: string; instanceId: number }

/** Cornerstone image ids for every frame of these image instances, in the order given (one stack). */
export function stackImages(instances: readonly { instanceId: number; frames: number }[]): StackImage[] {
  return instances.flatMap(({ instanceId, frames }) => (frames > 1
    ? Array.from({ length: frames }, (_, f) => ({ imageId: api.imageId(instanceId, f + 1), instanceId }))
    : [{ imageId: api.imageId(instanceId), instanceId }]));
}

/** Cornerstone image ids for every displayable frame of a series, in instance order. */
export function seriesImageIds(s: SeriesRow): StackImage[] {
  return stackImages(s.instances.filter((i) => i.isImage).map((i) => ({ instanceId: i.id, frames: i.frames })));
}
