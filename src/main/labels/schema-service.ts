// The project's label schema (versioned: every change is a new version, old ones stay in the project), the
// checks that keep labels in use from being removed, and the current labels per group that everything else reads.
import { LightboxError, formatIssues } from '../../shared/contract.ts';
import type { CallParsed } from '../../shared/contract.ts';
import { LABEL_SCHEMA_FORMAT, LabelSchema } from '../../shared/label-schema.ts';
import type { LabelGroup, Level } from '../../shared/label-schema.ts';
import type { LabelRepository, NewEvent } from '../project/label-repo.ts';
import type { ProfileStore } from './profile-store.ts';

export class SchemaService {
  private readonly repo: LabelRepository;
  private readonly profiles: ProfileStore;
  private readonly onChanged: () => void;
  /** Read on every action: kept in memory, replaced when this service writes it. */
  private cached: { schema: LabelSchema; version: number } | null = null;
  /** Group key → item UID → its current labels; built from the repository once, then kept up to date by events. */
  private labelledCache = new Map<string, Map<string, string[]>>();

  constructor(repo: LabelRepository, profiles: ProfileStore, onChanged: () => void) {
    this.repo = repo;
    this.profiles = profiles;
    this.onChanged = onChanged;
  }

  schema(): { schema: LabelSchema; version: number } {
    if (!this.cached) {
      const row = this.repo.schema();
      this.cached = row
        ? { schema: LabelSchema.parse(JSON.parse(row.json)), version: row.id }
        : { schema: { format: LABEL_SCHEMA_FORMAT, groups: [] }, version: 0 };
    }
    return this.cached;
  }

  get groups(): LabelGroup[] {
    return this.schema().schema.groups;
  }

  /** How many items carry each label of each group now. */
  usage(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const g of this.groups) {
      const counts: Record<string, number> = {};
      for (const labels of this.labelled(g).values()) for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
      out[g.key] = counts;
    }
    return out;
  }

  /** Replaces the schema (a new version; old versions stay in the project). Labels in use cannot be removed. */
  setSchema({ schema: raw }: CallParsed<'labels.setSchema'>): { version: number } {
    const parsed = LabelSchema.safeParse(raw);
    if (!parsed.success) throw new LightboxError('bad-request', `label schema: ${formatIssues(parsed.error)}`);
    const next = parsed.data;
    const usage = this.usage();
    for (const g of this.groups) {
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
    const version = this.repo.saveSchema(JSON.stringify(next), this.profiles.annotator);
    this.cached = { schema: next, version };
    this.labelledCache.clear();
    this.onChanged();
    return { version };
  }

  /** Forgets what it read (another workstation wrote a schema version): the next read takes the newest. */
  reload(): void {
    this.cached = null;
    this.labelledCache.clear();
    this.onChanged();
  }

  /** The group called `key` (labelling `level` items, when given), or a bad-request naming what is wrong. */
  group(key: string, level?: Level): LabelGroup {
    const g = this.groups.find((x) => x.key === key);
    if (!g) throw new LightboxError('bad-request', `labels: no group "${key}" in the label schema`);
    if (level && g.level !== level) throw new LightboxError('bad-request', `labels: group "${key}" labels ${g.level} items, not ${level} items`);
    return g;
  }

  /** Checks a reader's choice against the group: known labels, and exactly one in a single-choice group. */
  checkChoice(g: LabelGroup, labels: readonly string[]): void {
    for (const l of labels) if (!g.labels.some((x) => x.key === l)) throw new LightboxError('bad-request', `labels: "${l}" is not a label of group "${g.key}" (${g.labels.map((x) => x.key).join(', ')})`);
    if (g.kind === 'single' && labels.length !== 1) throw new LightboxError('bad-request', `labels: group "${g.key}" is single-choice; choose exactly one label, not ${labels.length}`);
  }

  /** Item UID → current labels of the group (a multi-label item decided "none" maps to []). */
  labelled(g: LabelGroup): Map<string, string[]> {
    let m = this.labelledCache.get(g.key);
    if (!m) this.labelledCache.set(g.key, (m = this.repo.labelled(g.key, g.level)));
    return m;
  }

  /** Keeps the current labels in step with events just committed. */
  apply(events: readonly NewEvent[]): void {
    for (const e of events) {
      if (e.field !== 'labels') continue;
      const g = this.groups.find((x) => x.key === e.group);
      if (!g) continue;
      const m = this.labelled(g);
      if (e.value === null) m.delete(e.itemUid);
      else m.set(e.itemUid, e.value as string[]);
    }
  }
}
