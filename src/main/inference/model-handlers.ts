// Model calls: parsed input in, the contract's result out. The comparison is computed by the labelling area (it
// needs the labels); the app passes it in.
import type { AreaHandlers } from '../../shared/contract.ts';
import type { ModelComparison } from '../../shared/model-contract.ts';
import type { ModelCatalog } from './model-catalog.ts';

export function modelHandlers(catalog: ModelCatalog, compare: (folds: number) => Promise<ModelComparison>): AreaHandlers<'models'> {
  return {
    'models.list': () => catalog.list(),
    'models.add': ({ folder }) => catalog.add(folder),
    'models.setActive': ({ id }) => catalog.setActive(id),
    'models.compare': ({ folds }) => compare(folds),
  };
}
