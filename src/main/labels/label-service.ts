// Labelling: the project's label schema, human actions recorded as append-only events with their provenance,
// suggestions from the suggestion worker, queues that say why each item is next, undo/redo, history and stats.
// A suggestion is never a label: every label event comes from a call a person (or their script) made.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LightboxError, formatIssues } from '../../shared/contract.ts';
import type { ItemView, LabelAck, LabelEvent, LabelStats, LabelStatus, Profile, QueueItem, QueueName, Suggestion } from '../../shared/contract.ts';
import { LABEL_SCHEMA_FORMAT, LabelSchema, expandChoice, mostSpecific, withAncestors } from '../../shared/label-schema.ts';
import type { LabelGroup, Level } from '../../shared/label-schema.ts';
import type { EmbedService } from '../inference/embed-service.ts';
import type { ModelPackage } from '../inference/model-package.ts';
import { WorkerRpc, workerUrl } from '../inference/worker-rpc.ts';
import type { ProjectStore } from '../project/project-store.ts';
import { LabelRepository } from '../project/label-repo.ts';
import type { EventRow, Field, LevelIndex, NewEvent } from '../project/label-repo.ts';
import type { GroupJob, GroupResult } from './suggest-engine.ts';
import type { SuggestProtocol } from './suggest-protocol.ts';

/** One label to import: the item (by UID), the group and its labels, with where it came from. */
export interface ImportEntry {
  /** Where the entry was read (file and line), for error messages. */
  where: string;
  level: Level;
  uid: string;
  group: string;
  labels: string[];
  flagged?: boolean;
  note?: string;
  /** Who, when and how the label was made at its origin (kept in the event's detail). */
  detail: string;
  suggestionSource?: string;
  modelSha256?: string;
  score?: number | null;
}

interface IndexedLevel extends LevelIndex { pos: Map<string, number> }

interface ModelIndex {
  modelPk: number;
  sha256: string;
  name: string;
  pkg: ModelPackage | null;
  embedded: number;
  levels: Map<Level, IndexedLevel>;
}

const sameSet = (a: readonly string[] | null, b: readonly string[] | null): boolean =>
  a === null || b === null ? a === b : a.length === b.length && a.every((x) => b.includes(x));

const pct = (p: number): string => p.toFixed(2);

export class LabelService {
  readonly repo: LabelRepository;
  private readonly embeddings: EmbedService;
  private readonly home: string;
  private readonly onChange: (version: number, reason: string) => void;
  private model: ModelIndex | null = null;
  private rpc: WorkerRpc<SuggestProtocol> | null = null;
  /** The latest published suggestions, per group key. */
  private snapshots = new Map<string, GroupResult>();
  private version = 0;
  /** Counts label changes; a refresh that started at seq s covers every change up to s. */
  private seq = 0;
  private publishedSeq = 0;
  private dirty = false;
  private running: Promise<void> | null = null;
  private message = 'Suggestions appear once the project is embedded and has a label schema.';
  private labelledCache = new Map<string, Map<string, string[]>>();
  private freshWaiters: { seq: number; resolve: () => void }[] = [];
  /** The schema and the profile are read on every action: kept in memory, replaced when this service writes them. */
  private schemaCache: { schema: LabelSchema; version: number } | null = null;
  private profileCache: Profile | null = null;
  private closed = false;

  constructor(store: ProjectStore, embeddings: EmbedService, home: string, onChange: (version: number, reason: string) => void = () => {}) {
    this.repo = new LabelRepository(store.db);
    this.embeddings = embeddings;
    this.home = home;
    this.onChange = onChange;
  }

  // ---------- profile ----------

  private get profileFile(): string {
    return path.join(this.home, 'profile.json');
  }

  profile(): Profile {
    this.profileCache ??= this.readProfile();
    return this.profileCache;
  }

  private readProfile(): Profile {
    const user = (() => { try { return os.userInfo().username; } catch { return 'reader'; } })();
    const base: Profile = { annotator: `${user}@${os.hostname()}`, name: user, blinded: false, autoAdvance: true };
    try {
      const p = JSON.parse(fs.readFileSync(this.profileFile, 'utf8')) as Partial<Profile>;
      return {
        annotator: typeof p.annotator === 'string' && p.annotator ? p.annotator : base.annotator,
        name: typeof p.name === 'string' && p.name ? p.name : base.name,
        blinded: typeof p.blinded === 'boolean' ? p.blinded : base.blinded,
        autoAdvance: typeof p.autoAdvance === 'boolean' ? p.autoAdvance : base.autoAdvance,
      };
    } catch {
      return base;
    }
  }

  setProfile(patch: { name?: string | undefined; blinded?: boolean | undefined; autoAdvance?: boolean | undefined }): Profile {
    const p = { ...this.profile(), ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as Profile;
    fs.mkdirSync(this.home, { recursive: true });
    const tmp = `${this.profileFile}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(p, null, 2)}\n`);
    fs.renameSync(tmp, this.profileFile);
    this.profileCache = p;
    return p;
  }

  // ---------- schema ----------

  schema(): { schema: LabelSchema; version: number } {
    if (!this.schemaCache) {
      const row = this.repo.schema();
      this.schemaCache = row
        ? { schema: LabelSchema.parse(JSON.parse(row.json)), version: row.id }
        : { schema: { format: LABEL_SCHEMA_FORMAT, groups: [] }, version: 0 };
    }
    return this.schemaCache;
  }

  /** How many items carry each label of each group now. */
  usage(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const g of this.schema().schema.groups) {
      const counts: Record<string, number> = {};
      for (const labels of this.labelled(g).values()) for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
      out[g.key] = counts;
    }
    return out;
  }

  /** Replaces the schema (a new version; old versions stay in the project). Labels in use cannot be removed. */
  setSchema(raw: unknown): { version: number } {
    const parsed = LabelSchema.safeParse(raw);
    if (!parsed.success) throw new LightboxError('bad-request', `label schema: ${formatIssues(parsed.error)}`);
    const next = parsed.data;
    const usage = this.usage();
    for (const g of this.schema().schema.groups) {
      const used = Object.entries(usage[g.key] ?? {}).filter(([, n]) => n > 0);
      if (used.length === 0) continue;
      const ng = next.groups.find((x) => x.key === g.key);
      const total = this.labelled(g).size;
      if (!ng) throw new LightboxError('conflict', `label schema: group "${g.key}" labels ${total} items; it cannot be removed (export the labels, then clear them first)`);
      if (ng.level !== g.level || ng.kind !== g.kind) throw new LightboxError('conflict', `label schema: group "${g.key}" labels ${total} items; its level and kind cannot change (add a new group instead)`);
      for (const [label, n] of used) {
        if (!ng.labels.some((l) => l.key === label)) throw new LightboxError('conflict', `label schema: label "${label}" of group "${g.key}" is on ${n} items; it cannot be removed (rename it instead: keep the key, change the name)`);
      }
    }
    const version = this.repo.saveSchema(JSON.stringify(next), this.profile().annotator);
    this.schemaCache = { schema: next, version };
    this.snapshots.clear();
    this.labelledCache.clear();
    this.requestRefresh('schema');
    return { version };
  }

  private group(key: string, level?: Level): LabelGroup {
    const g = this.schema().schema.groups.find((x) => x.key === key);
    if (!g) throw new LightboxError('bad-request', `labels: no group "${key}" in the label schema`);
    if (level && g.level !== level) throw new LightboxError('bad-request', `labels: group "${key}" labels ${g.level} items, not ${level} items`);
    return g;
  }

  private labelled(g: LabelGroup): Map<string, string[]> {
    let m = this.labelledCache.get(g.key);
    if (!m) this.labelledCache.set(g.key, (m = this.repo.labelled(g.key, g.level)));
    return m;
  }

  // ---------- suggestions ----------

  /** The embedding model suggestions use: the current package if it has vectors here, else the latest that has. */
  private async ensureModel(levels: Set<Level>): Promise<ModelIndex | null> {
    const pkg = await this.embeddings.resolveModel().catch(() => null);
    const repo = this.embeddings.repo;
    const current = pkg ? repo.model(pkg.sha256) : undefined;
    const row = [current, ...repo.models().reverse()].find((m) => m !== undefined && repo.embeddedImages(m.id) > 0);
    if (!row) return null;
    const embedded = repo.embeddedImages(row.id);
    const m = this.model;
    if (m && m.modelPk === row.id && m.embedded === embedded && [...levels].every((l) => m.levels.has(l))) return m;
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
    this.model = { modelPk: row.id, sha256: row.sha256, name: row.name, pkg: pkg && pkg.sha256 === row.sha256 ? pkg : null, embedded, levels: idx };
    return this.model;
  }

  /** Asks for fresh suggestions and queues; runs in the background, coalescing requests that arrive meanwhile. */
  requestRefresh(reason = 'labels'): void {
    if (this.closed) return;
    this.dirty = true;
    this.running ??= this.loop(reason).finally(() => {
      this.running = null;
      this.settleWaiters(true); // nothing more will be published until the next change
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
      const schema = this.schema().schema;
      const model = schema.groups.length ? await this.ensureModel(new Set(schema.groups.map((g) => g.level))) : null;
      if (!model) {
        this.message = schema.groups.length ? 'No embeddings yet: run Embed (top bar) to get suggestions.' : 'Define a label schema to start labelling.';
        this.snapshots.clear();
      } else {
        const jobs = schema.groups.map((g) => this.jobFor(g, model));
        const results = await this.rpc!.request('refresh', { jobs, validate });
        const next = new Map<string, GroupResult>();
        results.forEach((r) => {
          next.set(r.key, r);
          if (validate && r.labelled > 0 && r.source) {
            this.repo.addModelRun({ group: r.key, labels: r.labelled, source: r.source, ...r.accuracies, modelSha256: model.sha256 });
          }
        });
        this.snapshots = next;
        this.message = '';
      }
    } catch (e) {
      if (this.closed) return;
      this.message = `Suggestions are unavailable: ${e instanceof Error ? e.message : String(e)}`;
    }
    this.publishedSeq = Math.max(this.publishedSeq, seqAtStart);
    this.version++;
    this.onChange(this.version, `${validate ? 'validated' : 'suggestions'}: ${reason}`);
    this.settleWaiters();
  }

  private jobFor(g: LabelGroup, model: ModelIndex): GroupJob {
    const lv = model.levels.get(g.level)!;
    const k = g.labels.length;
    const classOf = new Map(g.labels.map((l, i) => [l.key, i]));
    const index: number[] = [];
    const rows: Float32Array[] = [];
    for (const [uid, labels] of this.labelled(g)) {
      const at = lv.pos.get(uid);
      if (at === undefined) continue;
      const t = new Float32Array(k);
      if (g.kind === 'single') {
        const leaf = mostSpecific(g, labels).at(-1);
        if (leaf === undefined || !classOf.has(leaf)) continue;
        t[classOf.get(leaf)!] = 1;
      } else {
        for (const l of labels) if (classOf.has(l)) t[classOf.get(l)!] = 1;
      }
      index.push(at);
      rows.push(t);
    }
    const targets = new Float32Array(index.length * k);
    rows.forEach((t, i) => targets.set(t, i * k));
    const zs = model.pkg?.zeroShot ?? null;
    const headRow = new Int32Array(k).fill(-1);
    if (zs) {
      const names = zs.labels.map((l) => l.name.toLowerCase());
      g.labels.forEach((l, c) => {
        const want = [l.zeroShot, l.key, l.name].filter((x): x is string => !!x).map((x) => x.toLowerCase());
        headRow[c] = names.findIndex((n) => want.includes(n));
      });
    }
    return {
      key: g.key, level: g.level, mode: g.kind === 'single' ? 'softmax' : 'sigmoid', k,
      head: zs ? zs.embeddings : null, headRow, logitScale: zs?.logitScale ?? 1,
      labelled: { index: Int32Array.from(index), targets },
    };
  }

  /** The current suggestion for an item (rejected labels left out), from the latest published snapshot. */
  private suggestion(g: LabelGroup, uid: string, rejected: readonly string[]): Suggestion | null {
    const snap = this.snapshots.get(g.key);
    const model = this.model;
    const pos = model?.levels.get(g.level)?.pos.get(uid);
    if (!snap || !model || pos === undefined || !snap.source || snap.probs.length === 0) return null;
    const k = g.labels.length;
    const p = snap.probs.subarray(pos * k, (pos + 1) * k);
    const keys = g.labels.map((l) => l.key);
    let labels: string[];
    let probability: number;
    let ranked: { label: string; probability: number }[];
    if (g.kind === 'single') {
      let best = -1;
      for (let c = 0; c < k; c++) if (!rejected.includes(keys[c]!) && (best < 0 || p[c]! > p[best]!)) best = c;
      if (best < 0) return null;
      labels = [keys[best]!];
      probability = p[best]!;
      // A parent's probability includes its children's.
      const agg = new Map(keys.map((key) => [key, 0]));
      keys.forEach((key, c) => { for (const a of withAncestors(g, key)) agg.set(a, agg.get(a)! + p[c]!); });
      ranked = [...agg].map(([label, probability]) => ({ label, probability }));
    } else {
      labels = keys.filter((key, c) => p[c]! > 0.5 && !rejected.includes(key));
      probability = keys.reduce((s, _, c) => s + Math.max(p[c]!, 1 - p[c]!), 0) / k;
      ranked = keys.map((label, c) => ({ label, probability: p[c]! }));
    }
    ranked.sort((a, b) => b.probability - a.probability);
    return { labels, probability, source: snap.source, modelName: model.name, modelSha256: model.sha256, detail: snap.detail, ranked };
  }

  /** The first look at labels starts the first refresh (not at open: the CLI's other commands never need it). */
  private warm(): void {
    if (this.version === 0 && !this.running) this.requestRefresh('open');
  }

  status(): LabelStatus {
    this.warm();
    const schema = this.schema().schema;
    return {
      model: this.model ? { name: this.model.name, sha256: this.model.sha256, zeroShot: !!this.model.pkg?.zeroShot } : null,
      version: this.version,
      refreshing: this.running !== null,
      message: this.message,
      groups: schema.groups.map((g) => {
        const r = this.snapshots.get(g.key);
        return {
          key: g.key, level: g.level, items: this.model?.levels.get(g.level)?.ids.length ?? 0, labelled: this.labelled(g).size,
          source: r?.source ?? null, accuracies: r?.accuracies ?? { zeroShot: null, knn: null, adapter: null }, detail: r?.detail ?? '',
        };
      }),
    };
  }

  // ---------- items and queues ----------

  private uid(level: Level, itemId: number): string {
    const uid = this.repo.uidOf(level, itemId);
    if (uid === undefined) throw new LightboxError('not-found', `labels: ${level} ${itemId} is not in this project; refresh the queue`);
    return uid;
  }

  item(level: Level, itemId: number, reveal = false): ItemView {
    this.warm();
    const uid = this.uid(level, itemId);
    const ctx = this.repo.itemContext(level, itemId)!;
    const itemWide = this.repo.state(level, uid, '');
    const blinded = this.profile().blinded;
    return {
      level, itemId, itemUid: uid, studyId: ctx.studyId, title: ctx.title, images: ctx.images, flagged: itemWide.flagged, note: itemWide.note,
      groups: this.schema().schema.groups.filter((g) => g.level === level).map((g) => {
        const st = this.repo.state(level, uid, g.key);
        const s = this.suggestion(g, uid, st.rejected);
        const hidden = blinded && !reveal && st.labels === null && s !== null;
        return { key: g.key, labels: st.labels, rejected: st.rejected, suggestion: hidden ? null : s, hidden };
      }),
    };
  }

  queue(groupKey: string, queue: QueueName, offset: number, limit: number): { total: number; version: number; items: QueueItem[] } {
    this.warm();
    const g = this.group(groupKey);
    const labelled = this.labelled(g);
    const blinded = this.profile().blinded;
    const name = (key: string): string => g.labels.find((l) => l.key === key)?.name ?? key;
    const picked: { id: number; reason: string; score: number | null }[] = [];
    let total = 0;
    const take = (id: number, reason: () => string, score: number | null): void => {
      if (total >= offset && picked.length < limit) picked.push({ id, reason: reason(), score });
      total++;
    };
    const snap = this.snapshots.get(g.key);
    const lv = this.model?.levels.get(g.level);
    const k = g.labels.length;
    if ((queue === 'uncertain' || queue === 'confident') && snap && lv && snap.source) {
      const { order, score } = snap[queue];
      const src = snap.source;
      for (let j = 0; j < order.length; j++) {
        const pos = order[j]!;
        if (labelled.has(lv.uids[pos]!)) continue;
        take(lv.ids[pos]!, () => {
          const p = snap.probs.subarray(pos * k, (pos + 1) * k);
          const top = Array.from(p, (v, c) => ({ c, v })).sort((a, b) => b.v - a.v);
          if (queue === 'uncertain') {
            if (g.kind === 'multi') {
              const edge = top.slice().sort((a, b) => Math.abs(a.v - 0.5) - Math.abs(b.v - 0.5))[0]!;
              return blinded ? `Uncertain: a label is near 50 % (${src})` : `Uncertain: ${name(g.labels[edge.c]!.key)} at ${pct(edge.v)} (${src})`;
            }
            return blinded
              ? `Uncertain: the top two labels are ${pct(score[j]!)} apart (${src})`
              : `Uncertain: ${name(g.labels[top[0]!.c]!.key)} ${pct(top[0]!.v)} vs ${name(g.labels[top[1]?.c ?? 0]!.key)} ${pct(top[1]?.v ?? 0)} (${src})`;
          }
          return blinded ? `Confident: the model is ${pct(score[j]!)} sure (${src})` : `Confident: ${g.kind === 'multi' ? 'decisions' : name(g.labels[top[0]!.c]!.key)} ${pct(score[j]!)} (${src})`;
        }, score[j]!);
      }
    } else if (queue === 'errors' && snap && lv) {
      const { order, cls, margin, probs } = snap.errors;
      for (let j = 0; j < order.length; j++) {
        const uid = lv.uids[order[j]!]!;
        const current = labelled.get(uid);
        if (!current) continue;
        const other = g.labels[cls[j]!]!.key;
        // Still contradicted? (a label changed since validation is no longer this candidate)
        if (g.kind === 'single' && current.includes(other)) continue;
        take(lv.ids[order[j]!]!, () => {
          const p = probs.subarray(j * k, (j + 1) * k);
          const given = mostSpecific(g, current).at(-1) ?? '';
          const givenP = p[g.labels.findIndex((l) => l.key === given)] ?? 0;
          return g.kind === 'single'
            ? `Possible label error: labelled ${name(given)}, but held-out ${snap.source} predictions give ${name(other)} ${pct(p[cls[j]!]!)} vs ${name(given)} ${pct(givenP)}`
            : `Possible label error: ${name(other)} is ${current.includes(other) ? 'set' : 'not set'}, held-out ${snap.source} predictions say ${pct(p[cls[j]!]!)}`;
        }, margin[j]!);
      }
    } else if (queue === 'unlabelled') {
      const page = this.repo.unlabelled(g.level, g.key, offset, limit);
      picked.push(...page.ids.map((id) => ({ id, reason: 'Not labelled yet', score: null })));
      total = page.total;
    } else if (queue === 'flagged') {
      for (const uid of this.repo.flaggedUids(g.level)) {
        const id = this.repo.idOf(g.level, uid);
        if (id === undefined) continue;
        take(id, () => {
          const note = this.repo.state(g.level, uid, '').note;
          return `Flagged for a second opinion${note ? `: ${note.slice(0, 80)}` : ''}`;
        }, null);
      }
    }
    const items = picked.flatMap((p) => {
      const ctx = this.repo.itemContext(g.level, p.id);
      return ctx ? [{ level: g.level, itemId: p.id, studyId: ctx.studyId, title: ctx.title, reason: p.reason, score: p.score, images: ctx.images }] : [];
    });
    return { total, version: this.version, items };
  }

  // ---------- actions ----------

  /** What an event records of the suggestion there was when the reader acted (shown or, in a blinded read, not). */
  private provenance(s: Suggestion | null): Pick<NewEvent, 'suggested' | 'suggestionSource' | 'modelSha256' | 'modelDetail' | 'score'> {
    if (!s) return {};
    return { suggested: s.labels.join(','), suggestionSource: s.source, modelSha256: s.modelSha256, modelDetail: `${s.modelName}: ${s.detail}`.slice(0, 500), score: s.probability };
  }

  private record(level: Level, itemId: number, events: NewEvent[]): LabelAck {
    const [e] = this.repo.appendMany(events);
    this.afterChange(events);
    return { eventId: e!.id, at: e!.at, item: this.item(level, itemId, true) };
  }

  private afterChange(events: readonly NewEvent[]): void {
    for (const e of events) {
      if (e.field !== 'labels') continue;
      const g = this.schema().schema.groups.find((x) => x.key === e.group);
      if (!g) continue;
      const m = this.labelled(g);
      if (e.value === null) m.delete(e.itemUid);
      else m.set(e.itemUid, e.value as string[]);
    }
    this.seq++;
    this.onChange(this.version, 'saved');
    this.requestRefresh('labels');
  }

  private checkChoice(g: LabelGroup, labels: readonly string[]): void {
    for (const l of labels) if (!g.labels.some((x) => x.key === l)) throw new LightboxError('bad-request', `labels: "${l}" is not a label of group "${g.key}" (${g.labels.map((x) => x.key).join(', ')})`);
    if (g.kind === 'single' && labels.length !== 1) throw new LightboxError('bad-request', `labels: group "${g.key}" is single-choice; choose exactly one label, not ${labels.length}`);
  }

  set(level: Level, itemId: number, groupKey: string, chosen: string[], revealed = true): LabelAck {
    const g = this.group(groupKey, level);
    this.checkChoice(g, chosen);
    const uid = this.uid(level, itemId);
    const st = this.repo.state(level, uid, g.key);
    const value = expandChoice(g, chosen);
    if (sameSet(st.labels, value)) return { eventId: st.lastEvent, at: '', item: this.item(level, itemId, true) };
    const p = this.profile();
    return this.record(level, itemId, [{
      annotator: p.annotator, action: 'set', level, itemUid: uid, group: g.key, field: 'labels', value, previous: st.labels, source: 'manual',
      ...this.provenance(this.suggestion(g, uid, st.rejected)), blinded: p.blinded && !revealed,
    }]);
  }

  private acceptable(g: LabelGroup, level: Level, itemId: number, seen: readonly string[]): { uid: string; value: string[]; previous: string[] | null; prov: ReturnType<LabelService['provenance']> } {
    const uid = this.uid(level, itemId);
    const st = this.repo.state(level, uid, g.key);
    const s = this.suggestion(g, uid, st.rejected);
    if (!s) throw new LightboxError('conflict', `labels: ${level} ${itemId} has no suggestion for "${g.key}" now; choose a label instead`);
    if (!sameSet(s.labels, seen)) {
      throw new LightboxError('conflict', `labels: the suggestion for ${level} ${itemId} changed to ${s.labels.join(', ') || 'none'} (${s.source} ${pct(s.probability)}) since it was shown; look again`);
    }
    return { uid, value: expandChoice(g, s.labels), previous: st.labels, prov: this.provenance(s) };
  }

  accept(level: Level, itemId: number, groupKey: string, seen: string[]): LabelAck {
    const g = this.group(groupKey, level);
    const a = this.acceptable(g, level, itemId, seen);
    return this.record(level, itemId, [{
      annotator: this.profile().annotator, action: 'accept', level, itemUid: a.uid, group: g.key, field: 'labels', value: a.value, previous: a.previous,
      source: 'suggestion', ...a.prov,
    }]);
  }

  /** Accepts the suggestions of many items at once (after the reader reviewed them); one transaction, one undo. */
  acceptMany(groupKey: string, items: { level: Level; itemId: number; labels: string[] }[]): { accepted: number; eventIds: number[]; skipped: { itemId: number; reason: string }[] } {
    const g = this.group(groupKey);
    const annotator = this.profile().annotator;
    const events: NewEvent[] = [];
    const skipped: { itemId: number; reason: string }[] = [];
    for (const it of items) {
      try {
        if (it.level !== g.level) throw new LightboxError('bad-request', `group "${g.key}" labels ${g.level} items, not ${it.level} items`);
        const a = this.acceptable(g, it.level, it.itemId, it.labels);
        if (a.previous !== null) { skipped.push({ itemId: it.itemId, reason: 'already labelled' }); continue; }
        events.push({ annotator, action: 'bulk-accept', level: it.level, itemUid: a.uid, group: g.key, field: 'labels', value: a.value, previous: null, source: 'bulk', ...a.prov });
      } catch (e) {
        skipped.push({ itemId: it.itemId, reason: e instanceof Error ? e.message : String(e) });
      }
    }
    if (events.length === 0) return { accepted: 0, eventIds: [], skipped };
    const rows = this.repo.appendMany(events);
    this.afterChange(events);
    return { accepted: rows.length, eventIds: rows.map((r) => r.id), skipped };
  }

  reject(level: Level, itemId: number, groupKey: string, label: string): LabelAck {
    const g = this.group(groupKey, level);
    this.checkChoice(g, [label]);
    const uid = this.uid(level, itemId);
    const st = this.repo.state(level, uid, g.key);
    if (st.rejected.includes(label)) return { eventId: st.lastEvent, at: '', item: this.item(level, itemId, true) };
    return this.record(level, itemId, [{
      annotator: this.profile().annotator, action: 'reject', level, itemUid: uid, group: g.key, field: 'rejected', value: [...st.rejected, label],
      previous: st.rejected, source: 'manual', ...this.provenance(this.suggestion(g, uid, st.rejected)),
    }]);
  }

  clear(level: Level, itemId: number, groupKey: string): LabelAck {
    const g = this.group(groupKey, level);
    const uid = this.uid(level, itemId);
    const st = this.repo.state(level, uid, g.key);
    if (st.labels === null) return { eventId: st.lastEvent, at: '', item: this.item(level, itemId, true) };
    return this.record(level, itemId, [{ annotator: this.profile().annotator, action: 'clear', level, itemUid: uid, group: g.key, field: 'labels', value: null, previous: st.labels, source: 'manual' }]);
  }

  private itemWide(level: Level, itemId: number, field: 'flagged' | 'note', value: boolean | string): LabelAck {
    const uid = this.uid(level, itemId);
    const st = this.repo.state(level, uid, '');
    const previous = field === 'flagged' ? st.flagged : st.note;
    if (previous === value) return { eventId: st.lastEvent, at: '', item: this.item(level, itemId, true) };
    return this.record(level, itemId, [{ annotator: this.profile().annotator, action: field === 'flagged' ? 'flag' : 'note', level, itemUid: uid, group: '', field, value, previous, source: 'manual' }]);
  }

  flag(level: Level, itemId: number, flagged: boolean): LabelAck {
    return this.itemWide(level, itemId, 'flagged', flagged);
  }

  note(level: Level, itemId: number, note: string): LabelAck {
    return this.itemWide(level, itemId, 'note', note);
  }

  private current(e: EventRow): unknown {
    const st = this.repo.state(e.level, e.itemUid, e.group);
    return e.field === 'labels' ? st.labels : e.field === 'rejected' ? st.rejected : e.field === 'flagged' ? st.flagged : st.note;
  }

  /** The events written with `e` (a bulk accept, or an undo of one), `e` included. */
  private batchOf(e: EventRow, recent: EventRow[]): EventRow[] {
    return e.batch === null ? [e] : recent.filter((x) => x.batch === e.batch);
  }

  private revert(targets: EventRow[], action: 'undo' | 'redo', annotator: string): { event: LabelEvent | null; item: ItemView | null } {
    for (const t of targets) {
      if (JSON.stringify(this.current(t)) !== JSON.stringify(t.value)) {
        throw new LightboxError('conflict', `labels: cannot ${action} event ${t.id}: the ${t.field} of ${t.level} ${t.itemUid} changed since; ${action} the later change first`);
      }
    }
    const events: NewEvent[] = targets.map((t) => ({
      annotator, action, level: t.level, itemUid: t.itemUid, group: t.group, field: t.field as Field, value: t.previous, previous: t.value,
      source: 'manual', reverts: t.id,
    }));
    const rows = this.repo.appendMany(events);
    this.afterChange(events);
    const last = rows[0]!;
    const id = this.repo.idOf(last.level, last.itemUid);
    return { event: last, item: id === undefined ? null : this.item(last.level, id, true) };
  }

  /** Undoes this annotator's latest action that is still in force (a new event that restores the value before it). */
  undo(): { event: LabelEvent | null; item: ItemView | null } {
    const annotator = this.profile().annotator;
    const recent = this.repo.recentEvents(annotator);
    const undone = new Set<number>();
    for (const e of recent) {
      if (e.action === 'undo') { if (e.reverts !== null) undone.add(e.reverts); continue; }
      if (undone.has(e.id) || e.action === 'import') continue;
      return this.revert(this.batchOf(e, recent), 'undo', annotator);
    }
    return { event: null, item: null };
  }

  /** Re-applies the latest undo, as long as no new action came after it. */
  redo(): { event: LabelEvent | null; item: ItemView | null } {
    const annotator = this.profile().annotator;
    const recent = this.repo.recentEvents(annotator);
    const redone = new Set<number>();
    for (const e of recent) {
      if (e.action === 'redo') { if (e.reverts !== null) redone.add(e.reverts); continue; }
      if (e.action !== 'undo') break;
      if (redone.has(e.id)) continue;
      return this.revert(this.batchOf(e, recent), 'redo', annotator);
    }
    return { event: null, item: null };
  }

  /**
   * Records labels from elsewhere (an export, another reader's SR) as 'import' events with source 'imported', in one
   * transaction. An item already holding other labels is a conflict, left as it is unless `overwrite`; bad entries
   * are reported one by one and never stop the rest.
   */
  importLabels(entries: ImportEntry[], overwrite: boolean): { imported: number; unchanged: number; conflicts: number; errors: { where: string; reason: string }[] } {
    const annotator = this.profile().annotator;
    const events: NewEvent[] = [];
    const errors: { where: string; reason: string }[] = [];
    let unchanged = 0;
    let conflicts = 0;
    for (const en of entries) {
      try {
        const g = this.group(en.group, en.level);
        if (this.repo.idOf(en.level, en.uid) === undefined) throw new LightboxError('not-found', `${en.level} ${en.uid} is not in this project; import its DICOM folder first`);
        if (g.kind === 'single' && en.labels.length === 0) throw new LightboxError('bad-request', `group "${g.key}" is single-choice but the entry has no label`);
        const chosen = g.kind === 'single' ? mostSpecific(g, en.labels) : en.labels;
        this.checkChoice(g, chosen);
        const value = expandChoice(g, chosen);
        const st = this.repo.state(en.level, en.uid, g.key);
        const base = { annotator, action: 'import' as const, level: en.level, itemUid: en.uid, source: 'imported' as const, modelDetail: en.detail.slice(0, 500) };
        if (sameSet(st.labels, value)) unchanged++;
        else if (st.labels !== null && !overwrite) { conflicts++; continue; }
        else {
          events.push({ ...base, group: g.key, field: 'labels', value, previous: st.labels, suggestionSource: en.suggestionSource ?? '', modelSha256: en.modelSha256 ?? '', score: en.score ?? null });
        }
        const wide = this.repo.state(en.level, en.uid, '');
        if (en.flagged !== undefined && en.flagged !== wide.flagged) events.push({ ...base, group: '', field: 'flagged', value: en.flagged, previous: wide.flagged });
        if (en.note !== undefined && en.note !== '' && en.note !== wide.note) events.push({ ...base, group: '', field: 'note', value: en.note, previous: wide.note });
      } catch (e) {
        errors.push({ where: en.where, reason: e instanceof Error ? e.message : String(e) });
      }
    }
    if (events.length) {
      this.repo.appendMany(events);
      this.afterChange(events);
    }
    return { imported: events.filter((e) => e.field === 'labels').length, unchanged, conflicts, errors };
  }

  history(studyId: number): LabelEvent[] {
    return this.repo.studyHistory(studyId);
  }

  stats(): LabelStats {
    const schema = this.schema().schema;
    const flaggedUids = new Map<Level, Set<string>>();
    const flaggedAt = (l: Level): Set<string> => {
      let s = flaggedUids.get(l);
      if (!s) flaggedUids.set(l, (s = new Set(this.repo.flaggedUids(l))));
      return s;
    };
    return {
      flagged: this.repo.flaggedCount(),
      events: this.repo.eventCount(),
      groups: schema.groups.map((g) => {
        const labelled = this.labelled(g);
        const items = this.repo.itemCount(g.level);
        const decisions = this.repo.decisions(g.key);
        const snap = this.snapshots.get(g.key);
        const lv = this.model?.levels.get(g.level);
        const suggested = new Map<string, number>();
        if (snap?.source && lv && snap.probs.length) {
          const k = g.labels.length;
          for (let pos = 0; pos < lv.uids.length; pos++) {
            if (labelled.has(lv.uids[pos]!)) continue;
            const p = snap.probs.subarray(pos * k, (pos + 1) * k);
            if (g.kind === 'single') {
              let best = 0;
              for (let c = 1; c < k; c++) if (p[c]! > p[best]!) best = c;
              for (const a of withAncestors(g, g.labels[best]!.key)) suggested.set(a, (suggested.get(a) ?? 0) + 1);
            } else g.labels.forEach((l, c) => { if (p[c]! > 0.5) suggested.set(l.key, (suggested.get(l.key) ?? 0) + 1); });
          }
        }
        const flagged = flaggedAt(g.level);
        const byLabel = g.labels.map((l) => {
          const row = { label: l.key, name: l.name, manual: 0, accepted: 0, imported: 0, flagged: 0, suggested: suggested.get(l.key) ?? 0, agreement: null as number | null, decidedWithSuggestion: 0 };
          let agreed = 0;
          for (const d of decisions) {
            if (!d.labels.includes(l.key)) continue;
            if (d.source === 'imported') row.imported++;
            else if (d.source === 'manual') row.manual++;
            else row.accepted++;
            if (d.suggested !== '' || d.source !== 'manual') {
              row.decidedWithSuggestion++;
              const s = d.suggested.split(',').filter(Boolean).flatMap((x) => withAncestors(g, x));
              if (s.includes(l.key)) agreed++;
            }
          }
          for (const [uid, labels] of labelled) if (labels.includes(l.key) && flagged.has(uid)) row.flagged++;
          row.agreement = row.decidedWithSuggestion ? agreed / row.decidedWithSuggestion : null;
          return row;
        });
        return {
          key: g.key, name: g.name, level: g.level, items, labelled: labelled.size, unlabelled: items - labelled.size,
          labels: byLabel, curve: this.repo.modelRuns(g.key),
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
