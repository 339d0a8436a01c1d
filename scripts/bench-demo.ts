// What the labelling benchmarks share: a call that throws on an error answer, and a demo project imported,
// embedded on CPU and given the demo schema, with each study's true finding.
import { Lightbox } from '../src/main/app.ts';
import { generateDemoProjectData } from '../src/main/demo/demo-data.ts';
import { calls } from '../src/shared/contract.ts';
import type { CallName, CallResult } from '../src/shared/contract.ts';
import { DEMO_SCHEMA } from '../src/shared/label-schema.ts';

export async function call<N extends CallName>(app: Lightbox, name: N, input: unknown): Promise<CallResult<N>> {
  const r = await app.call(name, input);
  if (!r.ok) throw new Error(`${name}: ${r.error.message}`);
  return r.result as CallResult<N>;
}

/** A demo project of `count` radiograph studies in `dir`, ready to label; `classOf` maps study id → true finding. */
export async function labelledDemo(dir: string, count: number): Promise<{ app: Lightbox; classOf: Map<number, string> }> {
  const { dataDir, truth } = generateDemoProjectData(dir, { count, ctSeries: 0 });
  const app = Lightbox.open(dir, { create: true });
  await app.imports.run({ folder: dataDir });
  await (await app.embeddings.start(calls['embed.start'].input.parse({ provider: 'cpu' }))).done;
  app.labels.setSchema({ schema: DEMO_SCHEMA });
  await app.labels.whenIdle();
  const classOf = new Map((app.store.db.prepare('SELECT st.id, i.sop_uid FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id').raw().all() as [number, string][])
    .map(([id, sop]) => [id, truth.instances[sop]!.class]));
  return { app, classOf };
}

