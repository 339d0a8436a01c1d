// Calls about the open project and its index: parsed input in, the contract's result out.
import type { AreaHandlers } from '../../shared/contract.ts';
import type { ProjectStore } from './project-store.ts';
import { existingRecentProjects } from './recent-projects.ts';

export function projectHandlers(store: ProjectStore): AreaHandlers<'project' | 'worklist' | 'study'> {
  return {
    'project.info': () => store.info(),
    'project.recent': () => existingRecentProjects(),
    'worklist.query': (q) => store.worklist(q),
    'study.get': ({ studyId }) => store.study(studyId),
  };
}
