// Labelling calls: parsed input in, the contract's result out. `labels.import` reads export files and so lives
// with the export handlers.
import type { AreaHandlers } from '../../shared/contract.ts';
import type { LabelService } from './label-service.ts';

export function labelHandlers(labels: LabelService): Omit<AreaHandlers<'labels'>, 'labels.import'> {
  return {
    'labels.schema': () => ({ ...labels.schema(), usage: labels.usage() }),
    'labels.setSchema': ({ schema }) => labels.setSchema(schema),
    'labels.profile': () => labels.profile(),
    'labels.setProfile': (patch) => labels.setProfile(patch),
    'labels.status': () => labels.status(),
    'labels.queue': ({ group, queue, offset, limit }) => labels.queue(group, queue, offset, limit),
    'labels.item': ({ level, itemId, reveal }) => labels.item(level, itemId, reveal),
    'labels.set': ({ level, itemId, group, labels: chosen, revealed }) => labels.set(level, itemId, group, chosen, revealed),
    'labels.accept': ({ level, itemId, group, labels: seen }) => labels.accept(level, itemId, group, seen),
    'labels.acceptMany': ({ group, items }) => labels.acceptMany(group, items),
    'labels.reject': ({ level, itemId, group, label }) => labels.reject(level, itemId, group, label),
    'labels.clear': ({ level, itemId, group }) => labels.clear(level, itemId, group),
    'labels.flag': ({ level, itemId, flagged }) => labels.flag(level, itemId, flagged),
    'labels.note': ({ level, itemId, note }) => labels.note(level, itemId, note),
    'labels.undo': () => labels.undo(),
    'labels.redo': () => labels.redo(),
    'labels.history': ({ studyId }) => labels.history(studyId),
    'labels.stats': () => labels.stats(),
  };
}
