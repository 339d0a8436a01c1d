// The labelling area for one open project, put together: the reader's profile, the label schema, the suggestion
// refresher (and its worker), item views, queues, actions and statistics — each in its own file, each taking the
// call's parsed input. This facade wires them and holds what other areas and the hosts reach for (the schema,
// who is labelling, refresh and shutdown); the call handlers (handlers.ts) go to the parts directly.
import type { CallParsed, LabelEvent, Profile } from '../../shared/contract.ts';
import type { LabelSchema } from '../../shared/label-schema.ts';
import type { EmbedService } from '../inference/embed-service.ts';
import { LabelRepository, eventOf } from '../project/label-repo.ts';
import type { LogRow } from '../project/label-log.ts';
import { STORE_SETTING, SharedLabelLog, parseStoreSetting } from '../project/shared-label-store.ts';
import type { ProjectStore } from '../project/project-store.ts';
import { BulkLabels } from './bulk-label.ts';
import { ItemViews } from './item-views.ts';
import { LabelActions } from './label-actions.ts';
import type { ImportEntry, ImportResult } from './label-actions.ts';
import { LabelQueues } from './label-queues.ts';
import { LabelStatistics } from './label-stats.ts';
import { ProfileStore } from './profile-store.ts';
import { SchemaService } from './schema-service.ts';
import { SuggestionRefresher } from './suggestion-refresher.ts';

export class LabelService {
  readonly repo: LabelRepository;
  readonly profiles: ProfileStore;
  readonly schemas: SchemaService;
  readonly suggestions: SuggestionRefresher;
  readonly items: ItemViews;
  readonly queues: LabelQueues;
  readonly actions: LabelActions;
  readonly statistics: LabelStatistics;
  readonly bulk: BulkLabels;

  /** `onChange` hears every save and every published refresh (`version` as in labels.status). */
  constructor(store: ProjectStore, embeddings: EmbedService, home: string, onChange: (version: number, reason: string) => void = () => {}) {
    this.repo = new LabelRepository(store.db);
    this.profiles = new ProfileStore(home);
    // The schema tells the refresher when it changes; the refresher is made next, so reach it lazily.
    this.schemas = new SchemaService(this.repo, this.profiles, () => this.suggestions.schemaChanged());
    this.suggestions = new SuggestionRefresher(this.repo, embeddings, this.schemas, onChange);
    this.items = new ItemViews(this.repo, this.schemas, this.profiles, this.suggestions);
    this.queues = new LabelQueues(this.repo, this.schemas, this.profiles, this.suggestions, this.items);
    this.actions = new LabelActions(this.repo, this.schemas, this.profiles, this.suggestions, this.items);
    this.statistics = new LabelStatistics(this.repo, this.schemas, this.suggestions, this.items);
    this.bulk = new BulkLabels(store.db, this.repo, this.schemas, this.profiles, this.suggestions, this.items);
    const shared = parseStoreSetting(store.setting(STORE_SETTING));
    if (shared) {
      const log = new SharedLabelLog(shared, this.repo, (rows, schemasChanged) => this.foreign(rows, schemasChanged));
      this.repo.useRemote(log);
      try {
        log.open();
      } catch (e) {
        void log.close();
        throw e;
      }
    }
  }

  /** Events and schema versions another workstation wrote, now in this project's replica. */
  private foreign(rows: readonly LogRow[], schemasChanged: boolean): void {
    if (schemasChanged) this.schemas.reload();
    else this.schemas.apply(rows.map(eventOf));
    this.suggestions.labelsChanged('remote');
  }

  /** Where this project's labels are kept, and whether that store can be reached now. */
  store(): { kind: 'sqlite' } | ReturnType<SharedLabelLog['status']> {
    return this.repo.shared?.status() ?? { kind: 'sqlite' };
  }

  profile(): Profile {
    return this.profiles.get();
  }

  setProfile(patch: CallParsed<'labels.setProfile'>): Profile {
    return this.profiles.set(patch);
  }

  schema(): { schema: LabelSchema; version: number } {
    return this.schemas.schema();
  }

  setSchema(input: CallParsed<'labels.setSchema'>): { version: number } {
    return this.schemas.setSchema(input);
  }

  /**
   * A study's label events. In a blinded read an event about an item the reader has not decided (or revealed) keeps
   * its action and values but not what the model suggested then: an undone or cleared label would otherwise show it.
   */
  history({ studyId }: CallParsed<'labels.history'>): LabelEvent[] {
    return this.repo.studyHistory(studyId).map((e) => (e.suggested === '' && e.score === null) || this.items.shown(e.level, e.itemUid, e.group)
      ? e
      : { ...e, suggested: '', suggestionSource: '', score: null, modelDetail: e.source === 'imported' ? e.modelDetail : '' });
  }

  /** Records labels read from elsewhere (see LabelActions.importLabels). */
  importLabels(entries: readonly ImportEntry[], overwrite: boolean): ImportResult {
    return this.actions.importLabels(entries, overwrite);
  }

  requestRefresh(reason?: string): void {
    this.suggestions.requestRefresh(reason);
  }

  /** Resolves once suggestions reflect every label change made before the call. */
  whenFresh(): Promise<void> {
    return this.suggestions.whenFresh();
  }

  /** Resolves when no refresh is running or pending. */
  whenIdle(): Promise<void> {
    return this.suggestions.whenIdle();
  }

  async close(): Promise<void> {
    await this.repo.shared?.close();
    await this.suggestions.close();
  }
}
