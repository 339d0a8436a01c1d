// A job's progress as every long task reports it (import, embed, export, PACS retrieve, map): its own file so that
// area contracts (pacs-contract.ts) can use it without importing contract.ts, which imports them.
import { z } from 'zod';

export const JobProgress = z.object({
  jobId: z.number().int(),
  kind: z.enum(['import', 'embed', 'export', 'pacs', 'map']),
  phase: z.enum(['scanning', 'reading', 'embedding', 'pooling', 'exporting', 'retrieving', 'projecting', 'placing', 'neighbours', 'paused', 'done', 'cancelled', 'failed']),
  done: z.number().int(),
  total: z.number().int(),
  ratePerSecond: z.number(),
  etaSeconds: z.number().nullable(),
  message: z.string(),
});
export type JobProgress = z.infer<typeof JobProgress>;
