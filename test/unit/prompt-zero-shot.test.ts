// Zero-shot from the schema's prompts, through the API on the demo project: the built-in package's toy text tower
// embeds each label's prompt and that becomes the label's head. Labels whose names mean nothing to the model still
// get suggestions from their prompts; rewording a prompt changes the suggestions; an accepted suggestion records the
// prompt behind it; a prompt the model has no words for is reported, not scored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lightbox } from '../../src/main/app.ts';
import type { CallName, CallResult, ItemView, LabelSchema } from '../../src/shared/contract.ts';
import { DEMO_SCHEMA } from '../../src/shared/label-schema.ts';
import { embedAll, openDemoProject, tempDir } from '../helpers.ts';

process.env.LIGHTBOX_HOME = tempDir('lightbox-home-');

let app: Lightbox;
/** Study id → the demo's true class. */
const truthOf = new Map<number, string>();

async function call<N extends CallName>(name: N, input: unknown): Promise<CallResult<N>> {
  const r = await app.call(name, input);
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.result as CallResult<N>;
}

async function setSchema(schema: LabelSchema): Promise<void> {
  await call('labels.setSchema', { schema });
  await app.labels.whenIdle();
}

/** Each study's suggested label in `group`, and the suggestion itself. */
async function suggestions(group: string): Promise<Map<number, NonNullable<ItemView['groups'][number]['suggestion']>>> {
  const out = new Map<number, NonNullable<ItemView['groups'][number]['suggestion']>>();
  for (const id of truthOf.keys()) {
    const v = await call('labels.item', { level: 'study', itemId: id });
    const s = v.groups.find((g) => g.key === group)?.suggestion;
    if (s) out.set(id, s);
  }
  return out;
}

function accuracy(sugg: Map<number, { labels: string[] }>, map: (label: string) => string = (l) => l): number {
  let right = 0;
  for (const [id, s] of sugg) if (map(s.labels[0]!) === truthOf.get(id)) right++;
  return right / truthOf.size;
}

beforeAll(async () => {
  const demo = await openDemoProject({ count: 160, ctSeries: 0 });
  app = demo.app;
  await embedAll(app, { provider: 'cpu' });
  const rows = app.store.db.prepare('SELECT st.id, i.sop_uid FROM studies st JOIN series s ON s.study_pk = st.id JOIN instances i ON i.series_pk = s.id').raw().all() as [number, string][];
  for (const [id, sop] of rows) truthOf.set(id, demo.truth.instances[sop]!.class);
}, 180_000);
afterAll(async () => app?.close());

describe('zero-shot from prompts', () => {
  it('the demo schema\'s prompts classify the demo studies far above chance, and say which prompt they came from', async () => {
    await setSchema(DEMO_SCHEMA);
    const status = await call('labels.status', {});
    const g = status.groups.find((x) => x.key === 'finding')!;
    expect(g.source).toBe('zero-shot');
    expect(g.detail).toMatch(/^zero-shot from the labels' prompts/);
    const sugg = await suggestions('finding');
    expect(sugg.size).toBe(160);
    // Four classes: chance is about 0.25.
    expect(accuracy(sugg)).toBeGreaterThan(0.7);
    const byKey = new Map(DEMO_SCHEMA.groups[0]!.labels.map((l) => [l.key, l.prompt]));
    for (const s of sugg.values()) expect(s.prompt).toBe(byKey.get(s.labels[0]!));
    // The image-quality prompts use words the toy tower does not know: reported, and no suggestions from noise.
    const quality = status.groups.find((x) => x.key === 'quality')!;
    expect(quality.source).toBeNull();
    expect(quality.warnings[0]).toMatch(/^"Rotated": the model's text encoder finds nothing it knows in the prompt "a rotated chest radiograph"; reword it/);
  });

  it('labels whose names mean nothing to the model are suggested from their prompts alone (several averaged)', async () => {
    const schema: LabelSchema = {
      format: 'lightbox-labels/1',
      groups: [{
        key: 'mystery', name: 'Mystery', kind: 'single', level: 'study', description: '',
        labels: [
          { key: 'k1', name: 'Class one', prompt: 'no abnormality | clear lungs' },
          { key: 'k2', name: 'Class two', prompt: 'an enlarged cardiac silhouette | cardiomegaly' },
          { key: 'k3', name: 'Class three', prompt: 'fluid in the pleural space' },
          { key: 'k4', name: 'Class four', prompt: 'a solitary pulmonary nodule' },
        ],
      }],
    };
    await setSchema(schema);
    const sugg = await suggestions('mystery');
    const meaning: Record<string, string> = { k1: 'normal', k2: 'cardiomegaly', k3: 'effusion', k4: 'nodule' };
    expect(accuracy(sugg, (l) => meaning[l]!)).toBeGreaterThan(0.7);
    const k2 = [...sugg.values()].find((s) => s.labels[0] === 'k2')!;
    expect(k2.prompt).toBe('an enlarged cardiac silhouette | cardiomegaly');
  });

  it('rewording a prompt recomputes that label\'s head and the suggestions follow the new words', async () => {
    await setSchema(DEMO_SCHEMA);
    const before = await suggestions('finding');
    const cardiac = [...truthOf].filter(([, c]) => c === 'cardiomegaly').map(([id]) => id);
    const asCardio = (m: typeof before): number => cardiac.filter((id) => m.get(id)?.labels[0] === 'cardiomegaly').length / cardiac.length;
    expect(asCardio(before)).toBeGreaterThan(0.8);
    // Swap the words of two labels: the enlarged hearts are now called effusions.
    const swapped = structuredClone(DEMO_SCHEMA);
    const labels = swapped.groups[0]!.labels;
    const cardio = labels.find((l) => l.key === 'cardiomegaly')!;
    const eff = labels.find((l) => l.key === 'effusion')!;
    [cardio.prompt, eff.prompt] = [eff.prompt, cardio.prompt];
    const v0 = (await call('labels.status', {})).version;
    await setSchema(swapped);
    expect((await call('labels.status', {})).version).toBeGreaterThan(v0);
    const after = await suggestions('finding');
    expect(asCardio(after)).toBeLessThan(0.2);
    const moved = cardiac.filter((id) => after.get(id)?.labels[0] === 'effusion').length / cardiac.length;
    expect(moved).toBeGreaterThan(0.8);
    expect(after.get(cardiac[0]!)!.prompt).toBe('a chest radiograph showing an enlarged heart');
  });

  it('accepting a zero-shot suggestion records the prompt that produced it', async () => {
    await setSchema(DEMO_SCHEMA);
    const id = [...truthOf.keys()][3]!;
    const v = await call('labels.item', { level: 'study', itemId: id });
    const s = v.groups.find((g) => g.key === 'finding')!.suggestion!;
    const ack = await call('labels.accept', { level: 'study', itemId: id, group: 'finding', labels: s.labels });
    const e = app.labels.repo.event(ack.eventId)!;
    expect(e.suggestionSource).toBe('zero-shot');
    expect(e.modelDetail).toContain(`prompt "${s.prompt}"`);
    expect(s.prompt).toBe(DEMO_SCHEMA.groups[0]!.labels.find((l) => l.key === s.labels[0])!.prompt);
  });
});
