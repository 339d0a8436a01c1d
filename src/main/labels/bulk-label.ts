// Labelling a selection at once (a lasso on the map): the selected points become the items of the group's level
// that hold them; a preview says which of those already carry another label or which the model disagrees with, so the
// reader can look at them first; then every item is written in ONE transaction as one undoable step (one batch),
// each item its own event with source 'bulk' and the suggestion there was, as the audit trail requires.
import { LightboxError } from '../../shared/contract.ts';
import type { CallParsed, CallResult } from '../../shared/contract.ts';
import { expandChoice } from '../../shared/label-schema.ts';
import type { LabelGroup, Level } from '../../shared/label-schema.ts';
import type Database from 'better-sqlite3';
import type { LabelRepository, NewEvent } from '../project/label-repo.ts';
import type { ItemViews } from './item-views.ts';
import type { ProfileStore } from './profile-store.ts';
import type { SchemaService } from './schema-service.ts';
import type { SuggestionRefresher } from './suggestion-refresher.ts';
import { provenance } from './suggestions.ts';

const RANK: Record<Level, number> = { image: 0, series: 1, study: 2 };

/** SQL from an item of one level to the item of a level above that holds it. */
const UP: Record<string, string> = {
  'image>series': 'SELECT series_pk FROM instances WHERE id = ?',
  'image>study': 'SELECT s.study_pk FROM instances i JOIN series s ON s.id = i.series_pk WHERE i.id = ?',
  'series>study': 'SELECT study_pk FROM series WHERE id = ?',
};

/** An item's first image (what a grid shows of it). */
const FIRST_IMAGE: Record<Level, string> = {
  image: 'SELECT id FROM instances WHERE id = ? AND is_image = 1',
  series: 'SELECT min(id) FROM instances WHERE series_pk = ? AND is_image = 1',
  study: 'SELECT min(i.id) FROM instances i JOIN series s ON s.id = i.series_pk WHERE s.study_pk = ? AND i.is_image = 1',
};

const sameSet = (a: readonly string[] | null, b: readonly string[] | null): boolean =>
  a === null || b === null ? a === b : a.length === b.length && a.every((x) => b.includes(x));

export class BulkLabels {
  private readonly db: Database.Database;
  private readonly repo: LabelRepository;
  private readonly schemas: SchemaService;
  private readonly profiles: ProfileStore;
  private readonly suggestions: SuggestionRefresher;
  private readonly items: ItemViews;

  constructor(db: Database.Database, repo: LabelRepository, schemas: SchemaService, profiles: ProfileStore, suggestions: SuggestionRefresher, items: ItemViews) {
    this.db = db;
    this.repo = repo;
    this.schemas = schemas;
    this.profiles = profiles;
    this.suggestions = suggestions;
    this.items = items;
  }

  /** The items of the group's level holding the selected items of `level`, each once, in selection order. */
  private lift(g: LabelGroup, level: Level, ids: readonly number[]): number[] {
    if (RANK[g.level] < RANK[level]) {
      throw new LightboxError('bad-request', `labels: group "${g.key}" labels ${g.level}s, which a ${level} selection cannot name; show the map of ${g.level}s and select there`);
    }
    if (g.level === level) return [...new Set(ids)];
    const up = this.db.prepare(UP[`${level}>${g.level}`]!).pluck();
    const out = new Set<number>();
    for (const id of ids) {
      const to = up.get(id) as number | undefined;
      if (to === undefined) throw new LightboxError('not-found', `labels: ${level} ${id} is not in this project; reload the map`);
      out.add(to);
    }
    return [...out];
  }

  private choice(group: string, labels: readonly string[]): { g: LabelGroup; value: string[] } {
    const g = this.schemas.group(group);
    this.schemas.checkChoice(g, [...labels]);
    return { g, value: expandChoice(g, labels) };
  }

  preview({ group, labels, level, itemIds }: CallParsed<'labels.bulkPreview'>): CallResult<'labels.bulkPreview'> {
    const { g, value } = this.choice(group, labels);
    const first = this.db.prepare(FIRST_IMAGE[g.level]).pluck();
    let unchanged = 0;
    const targets = this.lift(g, level, itemIds).map((itemId) => {
      const uid = this.items.uid(g.level, itemId);
      const st = this.repo.state(g.level, uid, g.key);
      const s = this.items.shown(g.level, uid, g.key) ? this.suggestions.suggestion(g, uid, st.rejected) : null;
      const suggestion = s ? expandChoice(g, s.labels) : null;
      if (sameSet(st.labels, value)) unchanged++;
      return {
        itemId, studyId: this.repo.studyOf(g.level, itemId) ?? 0, instanceId: (first.get(itemId) as number | null | undefined) ?? null,
        labels: st.labels, suggestion,
        otherLabel: st.labels !== null && !sameSet(st.labels, value),
        disagrees: suggestion !== null && !sameSet(suggestion, value),
      };
    });
    return {
      group: g.key, level: g.level, targets, unchanged,
      otherLabel: targets.filter((t) => t.otherLabel).length, disagree: targets.filter((t) => t.disagrees).length,
    };
  }

  /** Writes the chosen labels on every item (of the group's level) that does not hold them yet, as one batch. */
  set({ group, labels, itemIds }: CallParsed<'labels.bulkSet'>): CallResult<'labels.bulkSet'> {
    const { g, value } = this.choice(group, labels);
    const annotator = this.profiles.annotator;
    const events: NewEvent[] = [];
    let unchanged = 0;
    for (const itemId of new Set(itemIds)) {
      const uid = this.repo.uidOf(g.level, itemId);
      if (uid === undefined) throw new LightboxError('not-found', `labels: ${g.level} ${itemId} is not in this project; nothing was written; reload the map`);
      const st = this.repo.state(g.level, uid, g.key);
      if (sameSet(st.labels, value)) { unchanged++; continue; }
      const shown = this.items.shown(g.level, uid, g.key);
      events.push({
        annotator, action: 'set', level: g.level, itemUid: uid, group: g.key, field: 'labels', value, previous: st.labels, source: 'bulk',
        ...provenance(this.suggestions.suggestion(g, uid, st.rejected)), blinded: !shown,
      });
    }
    if (events.length === 0) return { written: 0, unchanged, eventIds: [], batch: null };
    const rows = this.repo.appendMany(events);
    this.schemas.apply(events);
    this.suggestions.labelsChanged();
    return { written: rows.length, unchanged, eventIds: rows.map((r) => r.id), batch: rows[0]!.batch };
  }
}
