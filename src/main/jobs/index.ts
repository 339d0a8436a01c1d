// The job runner: one way to run, report, pause, cancel and resume every long task (see job-runner.ts).
export { JobRunner } from './job-runner.ts';
export type { JobContext, JobEnd, JobPhase, JobSpec, JobUpdate } from './job-runner.ts';
export { JOB_KINDS } from './job-kinds.ts';
export type { JobKind, JobResults } from './job-kinds.ts';
export { ProgressMeter } from './progress-meter.ts';
