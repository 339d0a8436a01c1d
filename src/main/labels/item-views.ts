// One item as the labelling view shows it: its images, its labels per group and the current suggestion — hidden
// in a blinded first read until the reader commits a label or reveals it. The rule lives here (`shown`) and every
// other part of the area asks it, because the renderer is not trusted to hide anything.
import { LightboxError } from '../../shared/contract.ts';
import type { CallParsed, ItemView } from '../../shared/contract.ts';
import type { Level } from '../../shared/label-schema.ts';
import type { LabelRepository } from '../project/label-repo.ts';
import type { ProfileStore } from './profile-store.ts';
import type { SchemaService } from './schema-service.ts';
import type { SuggestionRefresher } from './suggestion-refresher.ts';

/** Items a reading study hides the model from for the current reader (see readers/study-service.ts). */
export interface ModelBlinding {
  hidden(level: Level, uid: string): boolean;
  any(): boolean;
}

export class ItemViews {
  /**
   * Set by the app to the reader studies' rule: for an item the current reader reads in a study blinded to the
   * model nothing of the model is shown, revealed or not, labelled or not, until the study is unblinded.
   */
  modelBlinding: ModelBlinding | null = null;
  private readonly repo: LabelRepository;
  private readonly schemas: SchemaService;
  private readonly profiles: ProfileStore;
  private readonly suggestions: SuggestionRefresher;
  /**
   * Items the reader asked to see (`labels.item {reveal: true}`), as `level:uid`. Kept on this side so an
   * acknowledgement, an undo or a second look shows what was revealed, and nothing that was not.
   */
  private readonly revealed = new Set<string>();

  constructor(repo: LabelRepository, schemas: SchemaService, profiles: ProfileStore, suggestions: SuggestionRefresher) {
    this.repo = repo;
    this.schemas = schemas;
    this.profiles = profiles;
    this.suggestions = suggestions;
  }

  /** The UID of an item the reader named by id, or not-found when it left the project. */
  uid(level: Level, itemId: number): string {
    const uid = this.repo.uidOf(level, itemId);
    if (uid === undefined) throw new LightboxError('not-found', `labels: ${level} ${itemId} is not in this project; refresh the queue`);
    return uid;
  }

  /** Whether the reader may see what the model says of this item and group: not blinded, decided, or revealed. */
  shown(level: Level, uid: string, group: string): boolean {
    if (this.modelBlinding?.hidden(level, uid)) return false;
    if (!this.profiles.get().blinded || this.revealed.has(`${level}:${uid}`)) return true;
    return group !== '' && this.repo.state(level, uid, group).labels !== null;
  }

  get blinded(): boolean {
    return this.profiles.get().blinded || (this.modelBlinding?.any() ?? false);
  }

  item({ level, itemId, reveal }: CallParsed<'labels.item'>): ItemView {
    this.suggestions.warm();
    const uid = this.uid(level, itemId);
    if (reveal) this.revealed.add(`${level}:${uid}`);
    const ctx = this.repo.itemContext(level, itemId)!;
    const itemWide = this.repo.state(level, uid, '');
    return {
      level, itemId, itemUid: uid, studyId: ctx.studyId, title: ctx.title, images: ctx.images, flagged: itemWide.flagged, note: itemWide.note,
      groups: this.schemas.groups.filter((g) => g.level === level).map((g) => {
        const st = this.repo.state(level, uid, g.key);
        const s = this.suggestions.suggestion(g, uid, st.rejected);
        const hidden = s !== null && !this.shown(level, uid, g.key);
        return { key: g.key, labels: st.labels, rejected: st.rejected, suggestion: hidden ? null : s, hidden };
      }),
    };
  }
}
