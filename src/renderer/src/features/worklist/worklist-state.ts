// What the worklist remembers while a study is open: its filters, how many rows were loaded, the cursor and the
// scroll position. The worklist unmounts when a study opens; this small store outlives it, so coming back shows
// the list as it was left. Not persisted: a new window starts from the default list.
import type { WorklistQuery } from '../../../../shared/contract.ts';

export type Sort = NonNullable<WorklistQuery['sort']>;

export interface WorklistFilters {
  search: string;
  modality: string;
  /** yyyy-mm-dd, as the date inputs hold them. */
  dateFrom: string;
  dateTo: string;
  sort: Sort;
  direction: 'asc' | 'desc';
}

export interface WorklistMemory {
  filters: WorklistFilters;
  /** Rows loaded (pages of PAGE), to load as many again. */
  loaded: number;
  cursor: number;
  scrollTop: number;
}

/** Rows per page; "Load more" fetches the next page (the query takes up to 1000 at once). */
export const PAGE = 200;

export const DEFAULT_FILTERS: WorklistFilters = { search: '', modality: '', dateFrom: '', dateTo: '', sort: 'studyDate', direction: 'desc' };

let memory: WorklistMemory = { filters: DEFAULT_FILTERS, loaded: PAGE, cursor: 0, scrollTop: 0 };

export function recallWorklist(): WorklistMemory {
  return memory;
}

export function rememberWorklist(patch: Partial<WorklistMemory>): void {
  memory = { ...memory, ...patch };
}
