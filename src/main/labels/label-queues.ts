// The queues a reader works through, each item with why it is there: most uncertain first, most confident first,
// likely label errors, not yet labelled, flagged for a second opinion. The ranking comes from the latest published
// suggestions; labels set since are left out at once, without waiting for the next refresh. A blinded read gets no
// model ranking (see blindedOrderReason).
import type { CallParsed, CallResult } from '../../shared/contract.ts';
import type { LabelRepository } from '../project/label-repo.ts';
import type { ItemViews } from './item-views.ts';
import type { ProfileStore } from './profile-store.ts';
import { NOT_LABELLED_REASON, blindedOrderReason, confidentReason, flaggedReason, labelErrorReason, uncertainReason } from './queue-reasons.ts';
import type { SchemaService } from './schema-service.ts';
import type { SuggestionRefresher } from './suggestion-refresher.ts';

export class LabelQueues {
  private readonly repo: LabelRepository;
  private readonly schemas: SchemaService;
  private readonly profiles: ProfileStore;
  private readonly suggestions: SuggestionRefresher;
  /** For the reader studies' blinding (ItemViews.modelBlinding); optional so the queues stand alone in tests. */
  private readonly items: ItemViews | null;

  constructor(repo: LabelRepository, schemas: SchemaService, profiles: ProfileStore, suggestions: SuggestionRefresher, items: ItemViews | null = null) {
    this.items = items;
    this.repo = repo;
    this.schemas = schemas;
    this.profiles = profiles;
    this.suggestions = suggestions;
  }

  queue({ group, queue, offset, limit }: CallParsed<'labels.queue'>): CallResult<'labels.queue'> {
    this.suggestions.warm();
    const g = this.schemas.group(group);
    const labelled = this.schemas.labelled(g);
    const study = this.items?.modelBlinding ?? null;
    // A reader in a study blinded to the model gets no model ranking at all: the order itself would tell.
    const blinded = this.profiles.get().blinded || (study?.any() ?? false);
    const picked: { id: number; reason: string; score: number | null }[] = [];
    let total = 0;
    // Reasons are worded only for the page asked for; the rest are just counted.
    const take = (id: number, reason: () => string, score: number | null): void => {
      if (total >= offset && picked.length < limit) picked.push({ id, reason: reason(), score });
      total++;
    };
    const snap = this.suggestions.snapshot(g.key);
    const lv = this.suggestions.model?.levels.get(g.level);
    const k = g.labels.length;
    if ((queue === 'uncertain' || queue === 'confident') && blinded) {
      const page = this.repo.unlabelled(g.level, g.key, offset, limit);
      picked.push(...page.ids.map((id) => ({ id, reason: blindedOrderReason(queue), score: null })));
      total = page.total;
    } else if ((queue === 'uncertain' || queue === 'confident') && snap && lv && snap.source) {
      const { order, score } = snap[queue];
      const src = snap.source;
      for (let j = 0; j < order.length; j++) {
        const pos = order[j]!;
        if (labelled.has(lv.uids[pos]!)) continue;
        const p = (): Float32Array => snap.probs.subarray(pos * k, (pos + 1) * k);
        take(lv.ids[pos]!, () => (queue === 'uncertain' ? uncertainReason(g, p(), src) : confidentReason(g, p(), score[j]!, src)), score[j]!);
      }
    } else if (queue === 'errors' && snap && lv) {
      const { order, cls, margin, probs } = snap.errors;
      for (let j = 0; j < order.length; j++) {
        const uid = lv.uids[order[j]!]!;
        const current = labelled.get(uid);
        if (!current) continue;
        // The model's verdict on an item of a study blinded to the model: not while the reader is in it.
        if (study?.hidden(g.level, uid)) continue;
        // Still contradicted? (a label changed since validation is no longer this candidate)
        if (g.kind === 'single' && current.includes(g.labels[cls[j]!]!.key)) continue;
        take(lv.ids[order[j]!]!, () => labelErrorReason(g, current, cls[j]!, probs.subarray(j * k, (j + 1) * k), snap.source), margin[j]!);
      }
    } else if (queue === 'unlabelled') {
      const page = this.repo.unlabelled(g.level, g.key, offset, limit);
      picked.push(...page.ids.map((id) => ({ id, reason: NOT_LABELLED_REASON, score: null })));
      total = page.total;
    } else if (queue === 'flagged') {
      for (const uid of this.repo.flaggedUids(g.level)) {
        const id = this.repo.idOf(g.level, uid);
        if (id === undefined) continue;
        take(id, () => flaggedReason(this.repo.state(g.level, uid, '').note), null);
      }
    }
    const items = picked.flatMap((p) => {
      const ctx = this.repo.itemContext(g.level, p.id);
      return ctx ? [{ level: g.level, itemId: p.id, studyId: ctx.studyId, title: ctx.title, reason: p.reason, score: p.score, images: ctx.images }] : [];
    });
    return { total, version: this.suggestions.version, items };
  }
}
