// A reader in a study blinded to the model sees nothing of the model (InnerEye's principle). The labels area hides
// suggestions item by item (ItemViews.modelBlinding); the views below are the model's view of the whole project —
// nearest images, text search, the map's layout and colours, the duplicate and outlier lists, the disagreement count
// of a bulk label, a prompt's AUC — and any of them would show a study item's model ranking. So while the current
// reader has items hidden from the model they are refused with the reason and what to do.
import { LightboxError } from '../../shared/contract.ts';
import type { CallName, Handler, Handlers } from '../../shared/contract.ts';
import type { StudyService } from './study-service.ts';

/** `handlers` with each model view refused while the current reader reads a study blinded to the model. */
export function gateModelViews(h: Handlers, studies: StudyService): Handlers {
  const g = <N extends CallName>(name: N, inner: Handler<N>): Handler<N> => (input) => {
    const study = studies.blindingStudy();
    if (study !== null) {
      throw new LightboxError('conflict', `${name}: reader "${study.reader}" is reading study "${study.name}" blinded to the model, and this shows the model's view; it opens again when the study is unblinded (reading.unblind) or another reader is selected (readers.select)`);
    }
    return inner(input);
  };
  return {
    ...h,
    'embed.pixels': g('embed.pixels', h['embed.pixels']),
    'search.text': g('search.text', h['search.text']),
    'map.points': g('map.points', h['map.points']),
    'review.duplicates': g('review.duplicates', h['review.duplicates']),
    'review.outliers': g('review.outliers', h['review.outliers']),
    'labels.bulkPreview': g('labels.bulkPreview', h['labels.bulkPreview']),
    'prompts.auc': g('prompts.auc', h['prompts.auc']),
    'models.compare': g('models.compare', h['models.compare']),
  };
}

