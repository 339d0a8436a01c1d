// Map and review-queue calls: parsed input in, the contract's result out, one line each.
import type { AreaHandlers } from '../../shared/contract.ts';
import type { MapService } from './map-service.ts';

export function mapHandlers(map: MapService): AreaHandlers<'map'> & AreaHandlers<'review'> {
  return {
    'map.start': async (i) => ({ jobId: (await map.start(i)).jobId }),
    'map.cancel': ({ jobId }) => ({ ok: map.cancel(jobId) }),
    'map.status': () => map.status(),
    'map.points': ({ level }) => map.points(level),
    'review.duplicates': ({ level, threshold, limit }) => map.duplicates(level, threshold, limit),
    'review.outliers': ({ level, zMin, limit }) => map.outliers(level, zMin, limit),
  };
}
