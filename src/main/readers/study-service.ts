// Readers and reading studies: named local readers with one current reader, studies over items of a single-choice
// label group, each reader's own randomised order, and reads kept per reader apart from the project's labels.
// Blinding: before a study is unblinded nothing here hands one reader's reads to anyone else.
import { LightboxError } from '../../shared/contract.ts';
import type { CallParsed, CallResult, LabelSchema, ReadingStudy } from '../../shared/contract.ts';
import type { LabelGroup, Level } from '../../shared/label-schema.ts';
import type { ReaderRepository, StudyRow } from '../project/reader-repo.ts';
import { readingOrder } from './reading-order.ts';

const now = (): string => new Date().toISOString();

export interface StudyData { row: Omit<StudyRow, 'items' | 'readers'>; items: string[]; readers: string[]; group: LabelGroup }

/** Where an item of a study is in the project, for showing it (the labels area's item context). */
export type ItemLocator = (level: Level, uid: string) => { itemId: number; studyId: number; title: string; images: { instanceId: number; frames: number }[] } | null;

/** One reader's place in their order: which positions are read, the first unread one, the newest read seen. */
interface Cursor { order: number[]; read: Uint8Array; done: number; first: number; lastId: number }

export class StudyService {
  private readonly repo: ReaderRepository;
  private readonly schema: () => LabelSchema;
  private readonly locate: ItemLocator | null;
  /** Parsed item and reader lists by study (they never change after creation). */
  private readonly lists = new Map<number, { items: string[]; readers: string[] }>();
  private readonly cursors = new Map<string, Cursor>();
  private blinds: { key: string; items: Map<Level, Set<string>>; study: { reader: string; name: string } | null } | null = null;

  constructor(repo: ReaderRepository, schema: () => LabelSchema, locate: ItemLocator | null = null) {
    this.repo = repo;
    this.schema = schema;
    this.locate = locate;
  }

  /**
   * The items whose model output the current reader may not see now: those of every study blinded to the model,
   * not yet unblinded, that names them as a reader. Recomputed when the studies or the current reader change
   * (another process may have made them), so every call of the labels area can ask cheaply.
   */
  private modelBlinds(): Map<Level, Set<string>> {
    return this.blinding().items;
  }

  /** modelBlinds' items, and the first study that hides them (for the refusals of model-gate.ts). */
  private blinding(): { items: Map<Level, Set<string>>; study: { reader: string; name: string } | null } {
    const reader = this.repo.current();
    const key = `${reader ?? ''}|${this.repo.studiesVersion()}`;
    if (this.blinds?.key === key) return this.blinds;
    const items = new Map<Level, Set<string>>();
    let study: { reader: string; name: string } | null = null;
    if (reader !== null) {
      for (const row of this.repo.studies()) {
        if (row.unblinded_at !== null || row.blinded_to_model === 0) continue;
        const l = this.lists.get(row.id) ?? this.listsOf(row);
        if (!l.readers.includes(reader)) continue;
        const level = this.schema().groups.find((g) => g.key === row.group_key)?.level;
        if (!level) continue;
        if (!items.has(level)) items.set(level, new Set());
        for (const u of l.items) items.get(level)!.add(u);
        if (l.items.length > 0) study ??= { reader, name: row.name };
      }
    }
    this.blinds = { key, items, study };
    return this.blinds;
  }

  /** Whether the current reader reads this item in a study blinded to the model (so the model must stay hidden). */
  modelHidden(level: Level, uid: string): boolean {
    return this.modelBlinds().get(level)?.has(uid) ?? false;
  }

  /** The first study that hides the model from the current reader now, or null. */
  blindingStudy(): { reader: string; name: string } | null {
    return this.blinding().study;
  }

  /** Whether the current reader has any item hidden from the model now (queues then rank without the model). */
  anyModelHidden(): boolean {
    for (const s of this.modelBlinds().values()) if (s.size > 0) return true;
    return false;
  }

  private listsOf(row: StudyRow): { items: string[]; readers: string[] } {
    const l = { items: JSON.parse(row.items) as string[], readers: JSON.parse(row.readers) as string[] };
    this.lists.set(row.id, l);
    return l;
  }

  listReaders(): CallResult<'readers.list'> {
    return { readers: this.repo.readers().map((r) => ({ name: r.name, createdAt: r.created_at })), current: this.repo.current() };
  }

  createReader(name: string): CallResult<'readers.list'> {
    if (this.repo.readers().some((r) => r.name === name)) throw new LightboxError('conflict', `readers.create: a reader named "${name}" already exists`);
    this.repo.addReader(name, now());
    if (this.repo.current() === null) this.repo.setCurrent(name);
    return this.listReaders();
  }

  selectReader(name: string): CallResult<'readers.list'> {
    if (!this.repo.readers().some((r) => r.name === name)) throw new LightboxError('not-found', `readers.select: no reader named "${name}"; create it with readers.create`);
    this.repo.setCurrent(name);
    return this.listReaders();
  }

  private currentReader(call: string): string {
    const r = this.repo.current();
    if (r === null) throw new LightboxError('bad-request', `${call}: no current reader; create one with readers.create and choose it with readers.select`);
    return r;
  }

  create(i: CallParsed<'reading.create'>): ReadingStudy {
    const group = this.schema().groups.find((g) => g.key === i.group);
    if (!group) throw new LightboxError('bad-request', `reading.create: group: "${i.group}" is not a group of the project's label schema`);
    if (group.kind !== 'single') throw new LightboxError('bad-request', `reading.create: group: "${i.group}" is multi-label; a reading study needs a single-choice group`);
    const known = new Set(this.repo.readers().map((r) => r.name));
    const unknown = i.readers.filter((r) => !known.has(r));
    if (unknown.length) throw new LightboxError('bad-request', `reading.create: readers: ${unknown.map((r) => `"${r}"`).join(', ')} not found; create them with readers.create`);
    if (new Set(i.readers).size !== i.readers.length) throw new LightboxError('bad-request', 'reading.create: readers: a reader is named twice');
    if (new Set(i.items).size !== i.items.length) throw new LightboxError('bad-request', 'reading.create: items: an item is named twice');
    const missing = this.repo.unknownItems(group.level, i.items);
    if (missing.length) throw new LightboxError('bad-request', `reading.create: items: ${missing.length} not ${group.level} UIDs of this project (${missing.slice(0, 3).map((u) => `"${u}"`).join(', ')}${missing.length > 3 ? ', …' : ''})`);
    const id = this.repo.addStudy({
      name: i.name, group_key: i.group, items: JSON.stringify(i.items), readers: JSON.stringify(i.readers), seed: i.seed,
      repeat_share: i.repeatShare, created_by: this.repo.current() ?? '', created_at: now(), blinded_to_model: i.blindedToModel ? 1 : 0,
    });
    return this.status(id);
  }

  data(id: number, call: string): StudyData {
    // The lists are read and parsed once per study: a call about one read must not cost the whole study.
    const cached = this.lists.get(id);
    const row = cached ? this.repo.studyHead(id) : this.repo.study(id);
    if (!row) throw new LightboxError('not-found', `${call}: study: no reading study ${id}`);
    const group = this.schema().groups.find((g) => g.key === row.group_key);
    if (!group) throw new LightboxError('conflict', `${call}: group "${row.group_key}" of study ${id} is no longer in the label schema`);
    const l = cached ?? this.listsOf(row as StudyRow);
    return { row, items: l.items, readers: l.readers, group };
  }

  private order(d: StudyData, reader: string): number[] {
    return this.cursor(d, reader).order;
  }

  /** Reads in a reader's order: brought up to date with the reads recorded since it last looked (by anyone's process). */
  private cursor(d: StudyData, reader: string): Cursor {
    const key = `${d.row.id}:${reader}`;
    let c = this.cursors.get(key);
    if (!c) {
      const order = readingOrder(d.items.length, d.row.seed, reader, d.row.repeat_share);
      c = { order, read: new Uint8Array(order.length), done: 0, first: 0, lastId: 0 };
      this.cursors.set(key, c);
    }
    for (const r of this.repo.readsSince(d.row.id, reader, c.lastId)) {
      c.lastId = r.id;
      if (r.position < c.read.length && c.read[r.position] === 0) { c.read[r.position] = 1; c.done++; }
    }
    while (c.first < c.read.length && c.read[c.first] === 1) c.first++;
    return c;
  }

  status(id: number): ReadingStudy {
    const d = this.data(id, 'reading.status');
    const done = this.repo.progress(id);
    const total = d.items.length + Math.round(d.items.length * d.row.repeat_share);
    return {
      id, name: d.row.name, group: d.row.group_key, items: d.items.length, readers: d.readers, seed: d.row.seed,
      repeatShare: d.row.repeat_share, blindedToModel: d.row.blinded_to_model === 1, createdBy: d.row.created_by, createdAt: d.row.created_at, unblinded: d.row.unblinded_at !== null,
      progress: d.readers.map((reader) => ({ reader, done: done.get(reader) ?? 0, total })),
    };
  }

  list(): ReadingStudy[] {
    return this.repo.studies().map((s) => this.status(s.id));
  }

  private readerOf(d: StudyData, call: string): string {
    const reader = this.currentReader(call);
    if (!d.readers.includes(reader)) throw new LightboxError('bad-request', `${call}: the current reader "${reader}" is not a reader of study ${d.row.id}`);
    return reader;
  }

  next(id: number): CallResult<'reading.next'> {
    const d = this.data(id, 'reading.next');
    const reader = this.readerOf(d, 'reading.next');
    const c = this.cursor(d, reader);
    if (c.first >= c.order.length) return null;
    return { position: c.first, itemUid: d.items[c.order[c.first]!]!, done: c.done, total: c.order.length };
  }

  /** Where an item is in the project (null when it has left it). */
  locateItem(level: Level, uid: string): ReturnType<ItemLocator> {
    return this.locate?.(level, uid) ?? null;
  }

  item(i: CallParsed<'reading.item'>): CallResult<'reading.item'> {
    const d = this.data(i.study, 'reading.item');
    const reader = this.readerOf(d, 'reading.item');
    const c = this.cursor(d, reader);
    if (i.position >= c.order.length) throw new LightboxError('bad-request', `reading.item: position: ${i.position} is past the end of the order (${c.order.length} reads)`);
    const itemUid = d.items[c.order[i.position]!]!;
    const at = this.locateItem(d.group.level, itemUid);
    if (!at) throw new LightboxError('not-found', `reading.item: ${d.group.level} ${itemUid} of study ${i.study} is no longer in this project`);
    const own = c.read[i.position] === 1 ? this.repo.readAt(i.study, reader, i.position) : null;
    return {
      position: i.position, itemUid, repeat: i.position >= d.items.length, level: d.group.level, ...at,
      label: own, done: c.done, total: c.order.length,
    };
  }

  read(i: CallParsed<'reading.read'>): CallResult<'reading.read'> {
    const d = this.data(i.study, 'reading.read');
    const reader = this.readerOf(d, 'reading.read');
    if (d.row.unblinded_at !== null) throw new LightboxError('conflict', `reading.read: study ${i.study} is unblinded; reads are closed`);
    const order = this.order(d, reader);
    if (i.position >= order.length) throw new LightboxError('bad-request', `reading.read: position: ${i.position} is past the end of the order (${order.length} reads)`);
    if (!d.group.labels.some((l) => l.key === i.label)) throw new LightboxError('bad-request', `reading.read: label: "${i.label}" is not a label of group "${d.group.key}"`);
    const event = this.repo.addRead(i.study, reader, i.position, d.items[order[i.position]!]!, i.label, now());
    const c = this.cursor(d, reader);
    return { event, done: c.done, total: c.order.length };
  }

  reads(id: number): CallResult<'reading.reads'> {
    const d = this.data(id, 'reading.reads');
    const unblinded = d.row.unblinded_at !== null;
    const rows = unblinded ? this.repo.reads(id) : this.repo.reads(id, this.readerOf(d, 'reading.reads'));
    return {
      unblinded,
      reads: rows.map((r) => ({ reader: r.reader, position: r.position, itemUid: r.item_uid, repeat: r.position >= d.items.length, labels: [r.value], at: r.at })),
    };
  }

  unblind(id: number): ReadingStudy {
    this.data(id, 'reading.unblind');
    this.repo.unblind(id, now());
    return this.status(id);
  }

  /** Every reader's latest first read and repeat read per item, for the statistics (not blinded: callers check). */
  allReads(d: StudyData): { first: Map<string, Map<string, string>>; repeat: Map<string, Map<string, string>> } {
    const first = new Map<string, Map<string, string>>(), repeat = new Map<string, Map<string, string>>();
    for (const r of this.repo.reads(d.row.id)) {
      const into = r.position >= d.items.length ? repeat : first;
      if (!into.has(r.reader)) into.set(r.reader, new Map());
      into.get(r.reader)!.set(r.item_uid, r.value);
    }
    return { first, repeat };
  }
}
