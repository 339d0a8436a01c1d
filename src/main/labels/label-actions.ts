// What readers do to labels, each recorded as append-only events with provenance (who, when, from which
// suggestion, model and score): set, accept (one or many), reject, clear, flag, note, undo/redo, and import from
// elsewhere. A suggestion is never a label: every label event comes from a call a person (or their script) made.
// Undo is a new event restoring the value before; nothing recorded is ever rewritten.
import { LightboxError } from '../../shared/contract.ts';
import type { CallParsed, CallResult, LabelAck } from '../../shared/contract.ts';
import { expandChoice, mostSpecific } from '../../shared/label-schema.ts';
import type { LabelGroup, Level } from '../../shared/label-schema.ts';
import type { EventRow, Field, LabelRepository, NewEvent } from '../project/label-repo.ts';
import type { ItemViews } from './item-views.ts';
import type { ProfileStore } from './profile-store.ts';
import { pct } from './queue-reasons.ts';
import type { SchemaService } from './schema-service.ts';
import type { SuggestionRefresher } from './suggestion-refresher.ts';
import { provenance } from './suggestions.ts';

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

export interface ImportResult { imported: number; unchanged: number; conflicts: number; errors: { where: string; reason: string }[] }

type Reverted = CallResult<'labels.undo'>;

const sameSet = (a: readonly string[] | null, b: readonly string[] | null): boolean =>
  a === null || b === null ? a === b : a.length === b.length && a.every((x) => b.includes(x));

export class LabelActions {
  private readonly repo: LabelRepository;
  private readonly schemas: SchemaService;
  private readonly profiles: ProfileStore;
  private readonly suggestions: SuggestionRefresher;
  private readonly items: ItemViews;

  constructor(repo: LabelRepository, schemas: SchemaService, profiles: ProfileStore, suggestions: SuggestionRefresher, items: ItemViews) {
    this.repo = repo;
    this.schemas = schemas;
    this.profiles = profiles;
    this.suggestions = suggestions;
    this.items = items;
  }

  /** The acknowledgement of an action that changed nothing: the event already in force, and the item. */
  private unchanged(level: Level, itemId: number, lastEvent: number): LabelAck {
    return { eventId: lastEvent, at: '', item: this.items.item({ level, itemId, reveal: false }) };
  }

  private record(level: Level, itemId: number, events: NewEvent[]): LabelAck {
    const [e] = this.repo.appendMany(events);
    this.afterChange(events);
    return { eventId: e!.id, at: e!.at, item: this.items.item({ level, itemId, reveal: false }) };
  }

  private afterChange(events: readonly NewEvent[]): void {
    this.schemas.apply(events);
    this.suggestions.labelsChanged();
  }

  set({ level, itemId, group, labels: chosen, revealed }: CallParsed<'labels.set'>): LabelAck {
    const g = this.schemas.group(group, level);
    this.schemas.checkChoice(g, chosen);
    const uid = this.items.uid(level, itemId);
    const st = this.repo.state(level, uid, g.key);
    const value = expandChoice(g, chosen);
    if (sameSet(st.labels, value)) return this.unchanged(level, itemId, st.lastEvent);
    const p = this.profiles.get();
    return this.record(level, itemId, [{
      annotator: p.annotator, action: 'set', level, itemUid: uid, group: g.key, field: 'labels', value, previous: st.labels, source: 'manual',
      ...provenance(this.suggestions.suggestion(g, uid, st.rejected)), blinded: !revealed && !this.items.shown(level, uid, g.key),
    }]);
  }

  /** The suggestion the reader saw, if it is still the current one; a changed suggestion is a conflict. */
  private acceptable(g: LabelGroup, level: Level, itemId: number, seen: readonly string[]): { uid: string; value: string[]; previous: string[] | null; prov: ReturnType<typeof provenance> } {
    const uid = this.items.uid(level, itemId);
    const st = this.repo.state(level, uid, g.key);
    const s = this.suggestions.suggestion(g, uid, st.rejected);
    // Accepting what was never shown would be a blind guess checked against the model, and the refusal below would
    // name the suggestion; neither may happen in a blinded read.
    if (s && !this.items.shown(level, uid, g.key)) {
      throw new LightboxError('bad-request', `labels: the suggestion for ${level} ${itemId} ("${g.key}") is hidden in this blinded read; reveal it (b) before accepting it, or choose a label`);
    }
    if (!s) throw new LightboxError('conflict', `labels: ${level} ${itemId} has no suggestion for "${g.key}" now; choose a label instead`);
    if (!sameSet(s.labels, seen)) {
      throw new LightboxError('conflict', `labels: the suggestion for ${level} ${itemId} changed to ${s.labels.join(', ') || 'none'} (${s.source} ${pct(s.probability)}) since it was shown; look again`);
    }
    return { uid, value: expandChoice(g, s.labels), previous: st.labels, prov: provenance(s) };
  }

  accept({ level, itemId, group, labels: seen }: CallParsed<'labels.accept'>): LabelAck {
    const g = this.schemas.group(group, level);
    const a = this.acceptable(g, level, itemId, seen);
    return this.record(level, itemId, [{
      annotator: this.profiles.annotator, action: 'accept', level, itemUid: a.uid, group: g.key, field: 'labels', value: a.value, previous: a.previous,
      source: 'suggestion', ...a.prov,
    }]);
  }

  /** Accepts the suggestions of many items at once (after the reader reviewed them); one transaction, one undo. */
  acceptMany({ group, items }: CallParsed<'labels.acceptMany'>): CallResult<'labels.acceptMany'> {
    const g = this.schemas.group(group);
    const annotator = this.profiles.annotator;
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

  reject({ level, itemId, group, label }: CallParsed<'labels.reject'>): LabelAck {
    const g = this.schemas.group(group, level);
    this.schemas.checkChoice(g, [label]);
    const uid = this.items.uid(level, itemId);
    const st = this.repo.state(level, uid, g.key);
    if (st.rejected.includes(label)) return this.unchanged(level, itemId, st.lastEvent);
    return this.record(level, itemId, [{
      annotator: this.profiles.annotator, action: 'reject', level, itemUid: uid, group: g.key, field: 'rejected', value: [...st.rejected, label],
      previous: st.rejected, source: 'manual', ...provenance(this.suggestions.suggestion(g, uid, st.rejected)),
    }]);
  }

  clear({ level, itemId, group }: CallParsed<'labels.clear'>): LabelAck {
    const g = this.schemas.group(group, level);
    const uid = this.items.uid(level, itemId);
    const st = this.repo.state(level, uid, g.key);
    if (st.labels === null) return this.unchanged(level, itemId, st.lastEvent);
    return this.record(level, itemId, [{ annotator: this.profiles.annotator, action: 'clear', level, itemUid: uid, group: g.key, field: 'labels', value: null, previous: st.labels, source: 'manual' }]);
  }

  private itemWide(level: Level, itemId: number, field: 'flagged' | 'note', value: boolean | string): LabelAck {
    const uid = this.items.uid(level, itemId);
    const st = this.repo.state(level, uid, '');
    const previous = field === 'flagged' ? st.flagged : st.note;
    if (previous === value) return this.unchanged(level, itemId, st.lastEvent);
    return this.record(level, itemId, [{ annotator: this.profiles.annotator, action: field === 'flagged' ? 'flag' : 'note', level, itemUid: uid, group: '', field, value, previous, source: 'manual' }]);
  }

  flag({ level, itemId, flagged }: CallParsed<'labels.flag'>): LabelAck {
    return this.itemWide(level, itemId, 'flagged', flagged);
  }

  note({ level, itemId, note }: CallParsed<'labels.note'>): LabelAck {
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

  private revert(targets: EventRow[], action: 'undo' | 'redo', annotator: string): Reverted {
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
    return { event: last, item: id === undefined ? null : this.items.item({ level: last.level, itemId: id, reveal: false }) };
  }

  /** Undoes this annotator's latest action that is still in force (a new event that restores the value before it). */
  undo(): Reverted {
    const annotator = this.profiles.annotator;
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
  redo(): Reverted {
    const annotator = this.profiles.annotator;
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
  importLabels(entries: readonly ImportEntry[], overwrite: boolean): ImportResult {
    const annotator = this.profiles.annotator;
    const events: NewEvent[] = [];
    const errors: { where: string; reason: string }[] = [];
    let unchanged = 0;
    let conflicts = 0;
    for (const en of entries) {
      try {
        const g = this.schemas.group(en.group, en.level);
        if (this.repo.idOf(en.level, en.uid) === undefined) throw new LightboxError('not-found', `${en.level} ${en.uid} is not in this project; import its DICOM folder first`);
        if (g.kind === 'single' && en.labels.length === 0) throw new LightboxError('bad-request', `group "${g.key}" is single-choice but the entry has no label`);
        const chosen = g.kind === 'single' ? mostSpecific(g, en.labels) : en.labels;
        this.schemas.checkChoice(g, chosen);
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
}
