// The reader-study pages behind #/readers: the studies, reading, adjudication, agreement, model vs readers,
// and where the model errs.
import { AdjudicationQueue } from './AdjudicationQueue.tsx';
import { AgreementView } from './AgreementView.tsx';
import { ComparisonView } from './ComparisonView.tsx';
import { ErrorTreeView } from './ErrorTreeView.tsx';
import { ReadingScreen } from './ReadingScreen.tsx';
import type { ReaderPage, ReaderRoute } from './reader-routes.ts';
import { StudyList } from './StudyList.tsx';
import './readers.css';

export function ReadersView({ route, go }: { route: ReaderRoute; go: (r: ReaderRoute) => void }) {
  const toList = (): void => go({ view: 'readers', study: null });
  const open = (study: number, page: ReaderPage): void => go({ view: 'readers', study, page });
  if (route.study === null) return <StudyList open={open} />;
  switch (route.page) {
    case 'read': return <ReadingScreen key={route.study} studyId={route.study} onClose={toList} />;
    case 'adjudicate': return <AdjudicationQueue key={route.study} studyId={route.study} onClose={toList} />;
    case 'agreement': return <AgreementView key={route.study} studyId={route.study} onClose={toList} />;
    case 'compare': return <ComparisonView key={route.study} studyId={route.study} onClose={toList} />;
    case 'errors': return <ErrorTreeView key={route.study} studyId={route.study} onClose={toList} />;
  }
}
