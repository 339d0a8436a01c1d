// Labelling calls: parsed input in, the contract's result out, one line each. `labels.import` reads export files
// and so lives with the export handlers.
import type { AreaHandlers } from '../../shared/contract.ts';
import type { LabelService } from './label-service.ts';

export function labelHandlers(labels: LabelService): Omit<AreaHandlers<'labels'>, 'labels.import'> {
  const { schemas, suggestions, items, queues, actions, statistics, bulk } = labels;
  return {
    'labels.schema': () => ({ ...labels.schema(), usage: schemas.usage() }),
    'labels.setSchema': (i) => labels.setSchema(i),
    'labels.profile': () => labels.profile(),
    'labels.setProfile': (i) => labels.setProfile(i),
    'labels.status': () => statistics.status(),
    'labels.queue': (i) => queues.queue(i),
    'labels.item': (i) => items.item(i),
    'labels.set': (i) => actions.set(i),
    'labels.accept': (i) => actions.accept(i),
    'labels.acceptMany': (i) => actions.acceptMany(i),
    'labels.bulkPreview': (i) => bulk.preview(i),
    'labels.bulkSet': (i) => bulk.set(i),
    'labels.reject': (i) => actions.reject(i),
    'labels.clear': (i) => actions.clear(i),
    'labels.flag': (i) => actions.flag(i),
    'labels.note': (i) => actions.note(i),
    'labels.undo': () => actions.undo(),
    'labels.redo': () => actions.redo(),
    'labels.history': (i) => labels.history(i),
    'labels.stats': () => statistics.stats(),
  };
}
