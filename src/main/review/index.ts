// The review area's public names: the embedding map (projection jobs, cached layouts, points to colour).
export { mapHandlers } from './handlers.ts';
export { MapService } from './map-service.ts';
export type { MapTuning } from './map-service.ts';
export { knnPreservation, poolItems } from './projection-math.ts';
