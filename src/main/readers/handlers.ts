// Reader-study calls: parsed input in, the contract's result out, one line each.
import { LightboxError } from '../../shared/contract.ts';
import type { AreaHandlers } from '../../shared/contract.ts';
import type { ReaderRepository } from '../project/reader-repo.ts';
import { adjudicate, referenceStandard, studyCase } from './reference.ts';
import { errorAnalysis } from './error-analysis.ts';
import type { LabelGroupsOf } from './error-analysis.ts';
import { compareModelAndReaders } from './model-vs-readers.ts';
import type { Predict } from './model-vs-readers.ts';
import { studyAgreement } from './study-agreement.ts';
import type { StudyService } from './study-service.ts';

/** `model`: the model's predictions for a study's items, and the project's labels of an item's other groups. */
export function readerHandlers(studies: StudyService, repo: ReaderRepository, model: { predict: Predict; labelGroups: LabelGroupsOf }): AreaHandlers<'readers'> & AreaHandlers<'reading'> {
  return {
    'readers.list': () => studies.listReaders(),
    'readers.create': (i) => studies.createReader(i.name),
    'readers.select': (i) => studies.selectReader(i.name),
    'reading.create': (i) => studies.create(i),
    'reading.list': () => studies.list(),
    'reading.status': (i) => studies.status(i.study),
    'reading.next': (i) => studies.next(i.study),
    'reading.item': (i) => studies.item(i),
    'reading.read': (i) => studies.read(i),
    'reading.reads': (i) => studies.reads(i.study),
    'reading.unblind': (i) => studies.unblind(i.study),
    'reading.reference': (i) => referenceStandard(studies, repo, i),
    'reading.compare': (i) => compareModelAndReaders(studies, repo, model.predict, i),
    'reading.errors': (i) => errorAnalysis(studies, repo, model.predict, model.labelGroups, i),
    'reading.case': (i) => studyCase(studies, repo, i),
    'reading.adjudicate': (i) => adjudicate(studies, repo, studies.listReaders().current, i),
    'reading.agreement': (i) => {
      const d = studies.data(i.study, 'reading.agreement');
      // Agreement tables (confusion matrices) say what other readers chose: only once the study is unblinded.
      if (d.row.unblinded_at === null) throw new LightboxError('conflict', `reading.agreement: study ${i.study} is still blinded; unblind it first (reading.unblind)`);
      return studyAgreement({ study: i.study, group: d.group, items: d.items, readers: d.readers, ...studies.allReads(d) }, { seed: i.seed, resamples: i.resamples });
    },
  };
}
