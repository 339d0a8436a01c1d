// Keeps suggestions and queues fresh: after every label change (and new embeddings, and a new schema) it asks the
// suggestion worker for new results and publishes them as one snapshot per group. Requests that arrive while a
// refresh runs are coalesced into the next one; the worker owns the vectors, so the UI thread never waits on maths.
import { MIN_VALIDATION_LABELS } from '../../shared/contract.ts';
import type { LabelStatus, Suggestion } from '../../shared/contract.ts';
import type { LabelGroup, Level } from '../../shared/label-schema.ts';
import type { EmbedService } from '../inference/embed-service.ts';
import { WorkerRpc, workerUrl } from '../inference/worker-rpc.ts';
import type { LabelRepository } from '../project/label-repo.ts';
import type { SchemaService } from './schema-service.ts';
import type { GroupJob, GroupResult } from './suggest-engine.ts';
import { groupJob } from './suggest-jobs.ts';
import { promptHead, withPromptHead } from './prompt-heads.ts';
import type { SuggestProtocol } from './suggest-protocol.ts';
import { suggestionAt } from './suggestions.ts';
import type { IndexedLevel, ModelIndex } from './suggestions.ts';

/**
 * Labels of a group no labelled item holds yet. kNN votes and the adapter learn only from labelled items, so they can
 * never suggest such a label: the reader should be told before a learned source takes over and quietly leaves it out.
 * Nothing is said before the first label (zero-shot covers every label then).
 */
export function unseenLabelWarnings(g: LabelGroup, labelled: ReadonlyMap<string, readonly string[]>): string[] {
  if (labelled.size === 0) return [];
  const seen = new Set([...labelled.values()].flat());
  return g.labels.filter((l) => !seen.has(l.key))
    .map((l) => `"${l.name}" has no labelled example yet: learned suggestions (kNN, adapter) cannot predict it; label one when you see it`);
}

export class SuggestionRefresher {
  private readonly repo: LabelRepository;
  private readonly embeddings: EmbedService;
  private readonly schemas: SchemaService;
  private readonly onChange: (version: number, reason: string) => void;
  private modelIndex: ModelIndex | null = null;
  private rpc: WorkerRpc<SuggestProtocol> | null = null;
  /** The latest published suggestions, per group key. */
  private snapshots = new Map<string, GroupResult>();
  /** Per group: the prompt text behind each label's zero-shot row (null where none), and prompts that gave nothing. */
  private prompts = new Map<string, { prompts: (string | null)[]; notes: string[] }>();
  private published = 0;
  /** Counts label changes; a refresh that started at seq s covers every change up to s. */
  private seq = 0;
  private publishedSeq = 0;
  private dirty = false;
  private running: Promise<void> | null = null;
  private message = 'Suggestions appear once the project is embedded and has a label schema.';
  private freshWaiters: { seq: number; resolve: () => void }[] = [];
  private closed = false;

  constructor(repo: LabelRepository, embeddings: EmbedService, schemas: SchemaService, onChange: (version: number, reason: string) => void) {
    this.repo = repo;
    this.embeddings = embeddings;
    this.schemas = schemas;
    this.onChange = onChange;
  }

  /** Increases each time refreshed suggestions and queues are published. */
  get version(): number {
    return this.published;
  }

  get model(): ModelIndex | null {
    return this.modelIndex;
  }

  snapshot(groupKey: string): GroupResult | undefined {
    return this.snapshots.get(groupKey);
  }

  /** The current suggestion for an item (rejected labels left out), from the latest published snapshot. */
  suggestion(g: LabelGroup, uid: string, rejected: readonly string[]): Suggestion | null {
    const snap = this.snapshots.get(g.key);
    const model = this.modelIndex;
    const pos = model?.levels.get(g.level)?.pos.get(uid);
    if (!snap || !model || pos === undefined) return null;
    const s = suggestionAt(g, snap, model, pos, rejected);
    const used = this.prompts.get(g.key)?.prompts;
    if (!s || s.source !== 'zero-shot' || !used) return s;
    // Provenance: which words produced the suggestion (the event's model detail records it when accepted).
    const texts = s.labels.map((key) => used[g.labels.findIndex((l) => l.key === key)] ?? null).filter((p): p is string => !!p);
    if (!texts.length) return s;
    const prompt = texts.join(' ; ');
    return { ...s, prompt, detail: `prompt "${prompt}"; ${s.detail}` };
  }

  /** Labels were committed: announce the save, then refresh over them. */
  /** `reason`: 'saved' for this workstation's own action, 'remote' for events another workstation wrote. */
  labelsChanged(reason: 'saved' | 'remote' = 'saved'): void {
    this.seq++;
    this.onChange(this.published, reason);
    this.requestRefresh('labels');
  }

  /** A new schema: its groups' old suggestions no longer apply. */
  schemaChanged(): void {
    this.snapshots.clear();
    this.requestRefresh('schema');
  }

  /** The first look at labels starts the first refresh (not at open: the CLI's other commands never need it). */
  warm(): void {
    if (this.published === 0 && !this.running) this.requestRefresh('open');
  }

  /** The embedding model suggestions use: the current package if it has vectors here, else the latest that has. */
  private async ensureModel(levels: Set<Level>): Promise<ModelIndex | null> {
    const pkg = await this.embeddings.resolveModel().catch(() => null);
    const repo = this.embeddings.repo;
    const current = pkg ? repo.model(pkg.sha256) : undefined;
    const row = [current, ...repo.models().reverse()].find((m) => m !== undefined && repo.embeddedImages(m.id) > 0);
    if (!row) return null;
    const embedded = repo.embeddedImages(row.id);
    const m = this.modelIndex;
    if (m && m.modelPk === row.id && m.embedded === embedded && [...levels].every((l) => m.levels.has(l))) {
      // Another package with the same image encoder (same vectors) may bring another text tower or head.
      m.pkg = pkg && pkg.sha256 === row.sha256 ? pkg : null;
      return m;
    }
    const idx = new Map<Level, IndexedLevel>();
    for (const level of levels) {
      const li = this.repo.levelIndex(level, row.id);
      idx.set(level, { ...li, pos: new Map(li.uids.map((u, i) => [u, i])) });
    }
    this.rpc ??= new WorkerRpc<SuggestProtocol>(workerUrl('suggest-worker', import.meta.url), 'suggest');
    await this.rpc.request('init', {
      storeDir: row.storeDir, dim: row.dim, levels: Object.fromEntries([...idx].map(([l, v]) => [l, { offsets: v.offsets, rows: v.rows }])),
    });
    this.snapshots.clear();
    this.modelIndex = { modelPk: row.id, sha256: row.sha256, name: row.name, pkg: pkg && pkg.sha256 === row.sha256 ? pkg : null, embedded, levels: idx };
    return this.modelIndex;
  }

  /** Asks for fresh suggestions and queues; runs in the background, coalescing requests that arrive meanwhile. */
  requestRefresh(reason = 'labels'): void {
    if (this.closed) return;
    this.dirty = true;
    this.running ??= this.loop(reason).finally(() => {
      this.running = null;
      // A request that came after the loop's last check (while it was settling) found it still running: run it now.
      if (this.dirty && !this.closed) this.requestRefresh(reason);
      else this.settleWaiters(true); // nothing more will be published until the next change
    });
  }

  /** Resolves once suggestions reflect every label change made before the call (the fast pass, not validation). */
  whenFresh(): Promise<void> {
    const want = this.seq;
    if (this.publishedSeq >= want || !this.running) return Promise.resolve();
    return new Promise((resolve) => this.freshWaiters.push({ seq: want, resolve }));
  }

  private settleWaiters(all = false): void {
    this.freshWaiters = this.freshWaiters.filter((w) => {
      if (!all && this.publishedSeq < w.seq) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves when no refresh (fast or validating) is running or pending. */
  async whenIdle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(reason: string): Promise<void> {
    while (this.dirty && !this.closed) {
      this.dirty = false;
      // Fast pass (retrain the current source, rescore, requeue), then a validating pass (cross-validation picks
      // the source, finds likely label errors, adds a learning-curve point) unless new labels arrived meanwhile.
      await this.refreshOnce(false, reason);
      if (this.dirty || this.closed) continue;
      await this.refreshOnce(true, reason);
    }
  }

  private async refreshOnce(validate: boolean, reason: string): Promise<void> {
    const seqAtStart = this.seq;
    try {
      const groups = this.schemas.groups;
      const model = groups.length ? await this.ensureModel(new Set(groups.map((g) => g.level))) : null;
      if (!model || !this.rpc) {
        this.message = groups.length ? 'No embeddings yet: run Embed (top bar) to get suggestions.' : 'Define a label schema to start labelling.';
        this.snapshots.clear();
      } else {
        const jobs = await Promise.all(groups.map((g) => this.jobFor(g, model)));
        const results = await this.rpc.request('refresh', { jobs, validate });
        const next = new Map<string, GroupResult>();
        for (const r of results) {
          next.set(r.key, r);
          if (validate && r.labelled > 0 && r.source) {
            this.repo.addModelRun({ group: r.key, labels: r.labelled, source: r.source, ...r.accuracies, modelSha256: model.sha256 });
          }
        }
        this.snapshots = next;
        this.message = '';
      }
    } catch (e) {
      if (this.closed) return;
      this.message = `Suggestions are unavailable: ${e instanceof Error ? e.message : String(e)}`;
    }
    this.publishedSeq = Math.max(this.publishedSeq, seqAtStart);
    this.published++;
    this.onChange(this.published, `${validate ? 'validated' : 'suggestions'}: ${reason}`);
    this.settleWaiters();
  }

  /**
   * A group's refresh job. With a text encoder the labels' prompts are embedded (in the text worker; unchanged
   * prompts come from its cache) and become the zero-shot head; a text tower that fails keeps the package's head.
   */
  private async jobFor(g: LabelGroup, model: ModelIndex): Promise<GroupJob> {
    const job = groupJob(g, this.schemas.labelled(g), model.levels.get(g.level)!, model.pkg?.zeroShot ?? null);
    if (!model.pkg?.text) {
      this.prompts.delete(g.key);
      return job;
    }
    try {
      const ph = await promptHead(g, model.pkg, this.embeddings.text, job);
      if (!ph) return job;
      this.prompts.set(g.key, { prompts: ph.prompts, notes: ph.notes });
      return withPromptHead(job, ph);
    } catch (e) {
      this.prompts.set(g.key, { prompts: [], notes: [`zero-shot from prompts is unavailable (${e instanceof Error ? e.message : String(e)}); using the package's precomputed head`] });
      return job;
    }
  }

  status(): LabelStatus {
    this.warm();
    const model = this.modelIndex;
    return {
      model: model ? { name: model.name, sha256: model.sha256, zeroShot: !!(model.pkg?.zeroShot || model.pkg?.text) } : null,
      version: this.published,
      refreshing: this.running !== null,
      blinded: false,
      message: this.message,
      groups: this.schemas.groups.map((g) => {
        const r = this.snapshots.get(g.key);
        const labelled = this.schemas.labelled(g).size;
        // From a handful of labels a cross-validated accuracy says nothing: none is reported below the minimum.
        const enough = labelled >= MIN_VALIDATION_LABELS;
        return {
          key: g.key, level: g.level, items: model?.levels.get(g.level)?.ids.length ?? 0, labelled,
          source: r?.source ?? null,
          accuracies: enough && r ? r.accuracies : { zeroShot: null, knn: null, adapter: null },
          validation: enough && r?.validation && r.validation.labels >= MIN_VALIDATION_LABELS ? r.validation : null,
          detail: r?.detail ?? '',
          warnings: [...(this.prompts.get(g.key)?.notes ?? []), ...unseenLabelWarnings(g, this.schemas.labelled(g))],
        };
      }),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.running?.catch(() => {});
    await this.rpc?.terminate();
    this.rpc = null;
  }
}
