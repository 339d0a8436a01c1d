// The project's label statistics: per group and label, how labels were made (by hand, accepted, imported), how
// often the suggestion agreed with the reader's decision, what is suggested for the unlabelled rest, and the
// learning curve of validated refreshes. In a blinded read whatever the model says is left out here, at the source,
// for labels.stats and labels.status alike.
import { MIN_VALIDATION_LABELS } from '../../shared/contract.ts';
import type { LabelStats, LabelStatus } from '../../shared/contract.ts';
import { withAncestors } from '../../shared/label-schema.ts';
import type { LabelGroup, Level } from '../../shared/label-schema.ts';
import type { LabelRepository } from '../project/label-repo.ts';
import type { ItemViews } from './item-views.ts';
import type { SchemaService } from './schema-service.ts';
import type { SuggestionRefresher } from './suggestion-refresher.ts';

export class LabelStatistics {
  private readonly repo: LabelRepository;
  private readonly schemas: SchemaService;
  private readonly suggestions: SuggestionRefresher;
  private readonly items: ItemViews;

  constructor(repo: LabelRepository, schemas: SchemaService, suggestions: SuggestionRefresher, items: ItemViews) {
    this.repo = repo;
    this.schemas = schemas;
    this.suggestions = suggestions;
    this.items = items;
  }

  /**
   * The refresher's status; in a blinded read without the cross-validated accuracies and the detail, which quote
   * how well the model does and so what to expect of it.
   */
  status(): LabelStatus {
    const s = this.suggestions.status();
    if (!this.items.blinded) return s;
    return {
      ...s, blinded: true,
      groups: s.groups.map((g) => ({ ...g, accuracies: { zeroShot: null, knn: null, adapter: null }, validation: null, detail: 'hidden in a blinded read; turn it off to see how the suggestions do' })),
    };
  }

  /** Unlabelled items per label their current suggestion names (a parent counts its children's). */
  private suggestedCounts(g: LabelGroup, labelled: ReadonlyMap<string, string[]>): Map<string, number> {
    const suggested = new Map<string, number>();
    const snap = this.suggestions.snapshot(g.key);
    const lv = this.suggestions.model?.levels.get(g.level);
    if (!snap?.source || !lv || !snap.probs.length) return suggested;
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
    return suggested;
  }

  stats(): LabelStats {
    const blinded = this.items.blinded;
    const flaggedUids = new Map<Level, Set<string>>();
    const flaggedAt = (l: Level): Set<string> => {
      let s = flaggedUids.get(l);
      if (!s) flaggedUids.set(l, (s = new Set(this.repo.flaggedUids(l))));
      return s;
    };
    const validation = new Map(this.suggestions.status().groups.map((g) => [g.key, g.validation]));
    return {
      blinded,
      flagged: this.repo.flaggedCount(),
      events: this.repo.eventCount(),
      groups: this.schemas.groups.map((g) => {
        const labelled = this.schemas.labelled(g);
        const items = this.repo.itemCount(g.level);
        const decisions = this.repo.decisions(g.key);
        const suggested = blinded ? null : this.suggestedCounts(g, labelled);
        const flagged = flaggedAt(g.level);
        const byLabel = g.labels.map((l) => {
          const row = { label: l.key, name: l.name, manual: 0, accepted: 0, imported: 0, flagged: 0, suggested: suggested ? suggested.get(l.key) ?? 0 : null, agreement: null as number | null, decidedWithSuggestion: 0 };
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
          row.agreement = row.decidedWithSuggestion && !blinded ? agreed / row.decidedWithSuggestion : null;
          return row;
        });
        return {
          key: g.key, name: g.name, level: g.level, items, labelled: labelled.size, unlabelled: items - labelled.size,
          labels: byLabel,
          // The curve starts where accuracies mean something (MIN_VALIDATION_LABELS), as the status line does.
          curve: blinded ? [] : this.repo.modelRuns(g.key).filter((p) => p.labels >= MIN_VALIDATION_LABELS),
          validation: blinded ? null : validation.get(g.key) ?? null,
        };
      }),
    };
  }
}
