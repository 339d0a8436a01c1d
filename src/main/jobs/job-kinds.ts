// The kinds of job, with the words their messages use and the result each one ends with. A new kind of job is a
// line here and in the contract's JobProgress kinds, plus its JobSpec where the work lives.
import type { ExportSummary, ImportSummary, JobProgress, MapSummary } from '../../shared/contract.ts';
import type { EmbedSummary } from '../inference/embed-pipeline.ts';
import type { RetrieveSummary } from '../../shared/pacs-contract.ts';

export type JobKind = JobProgress['kind'];

export interface JobResults {
  import: ImportSummary;
  embed: EmbedSummary;
  export: ExportSummary;
  pacs: RetrieveSummary;
  map: MapSummary;
}

/** `noun` starts a busy message ("an import is already running …"); `title` a failure ("Import failed: …"). */
export const JOB_KINDS: { [K in JobKind]: { noun: string; title: string } } = {
  import: { noun: 'an import', title: 'Import' },
  embed: { noun: 'embedding', title: 'Embedding' },
  export: { noun: 'an export', title: 'Export' },
  pacs: { noun: 'a PACS retrieve', title: 'PACS retrieve' },
  map: { noun: 'a map projection', title: 'Map projection' },
};
