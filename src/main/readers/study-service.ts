// Readers and reading studies: named local readers with one current reader, studies over items of a single-choice
// label group, each reader's own randomised order, and reads kept per reader apart from the project's labels.
// Blinding: before a study is unblinded nothing here hands one reader's reads to anyone else.
import { LightboxError } from '../../shared/contract.ts';
import type { CallParsed, CallResult, LabelSchema, ReadingStudy } from '../../shared/contract.ts';
import type { LabelGroup } from '../../shared/label-schema.ts';
import type { ReaderRepository, StudyRow } from '../project/reader-repo.ts';
import { readingOrder } from './reading-order.ts';

const now = (): string => new Date().toISOString();

export interface StudyData { row: StudyRow; items: string[]; readers: string[]; group: LabelGroup }

export class StudyService {
  private readonly repo: ReaderRepository;
  private readonly schema: () => LabelSchema;
  constructor(repo: ReaderRepository, schema: () => LabelSchema) {
    this.repo = repo;
    this.schema = schema;
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
      repeat_share: i.repeatShare, created_by: this.repo.current() ?? '', created_at: now(),
    });
    return this.status(id);
  }

  data(id: number, call: string): StudyData {
    const row = this.repo.study(id);
    if (!row) throw new LightboxError('not-found', `${call}: study: no reading study ${id}`);
    const group = this.schema().groups.find((g) => g.key === row.group_key);
    if (!group) throw new LightboxError('conflict', `${call}: group "${row.group_key}" of study ${id} is no longer in the label schema`);
    return { row, items: JSON.parse(row.items) as string[], readers: JSON.parse(row.readers) as string[], group };
  }

  private order(d: StudyData, reader: string): number[] {
    return readingOrder(d.items.length, d.row.seed, reader, d.row.repeat_share);
  }

  status(id: number): ReadingStudy {
    const d = this.data(id, 'reading.status');
    const done = new Map<string, number>();
    for (const r of this.repo.reads(id)) done.set(r.reader, (done.get(r.reader) ?? 0) + 1);
    const total = this.order(d, d.readers[0]!).length;
    return {
      id, name: d.row.name, group: d.row.group_key, items: d.items.length, readers: d.readers, seed: d.row.seed,
      repeatShare: d.row.repeat_share, createdBy: d.row.created_by, createdAt: d.row.created_at, unblinded: d.row.unblinded_at !== null,
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
    const order = this.order(d, reader);
    const read = new Set(this.repo.reads(id, reader).map((r) => r.position));
    const position = order.findIndex((_, p) => !read.has(p));
    if (position < 0) return null;
    return { position, itemUid: d.items[order[position]!]!, done: read.size, total: order.length };
  }

  read(i: CallParsed<'reading.read'>): CallResult<'reading.read'> {
    const d = this.data(i.study, 'reading.read');
    const reader = this.readerOf(d, 'reading.read');
    if (d.row.unblinded_at !== null) throw new LightboxError('conflict', `reading.read: study ${i.study} is unblinded; reads are closed`);
    const order = this.order(d, reader);
    if (i.position >= order.length) throw new LightboxError('bad-request', `reading.read: position: ${i.position} is past the end of the order (${order.length} reads)`);
    if (!d.group.labels.some((l) => l.key === i.label)) throw new LightboxError('bad-request', `reading.read: label: "${i.label}" is not a label of group "${d.group.key}"`);
    const event = this.repo.addRead(i.study, reader, i.position, d.items[order[i.position]!]!, i.label, now());
    return { event, done: this.repo.reads(i.study, reader).length, total: order.length };
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
