// The reference standard of a reading study: unanimous items, then (by rule) a strict majority, and an
// adjudicator's decision for the rest. Every reference label says on what basis it stands.
import { LightboxError } from '../../shared/contract.ts';
import type { CallParsed, CallResult } from '../../shared/contract.ts';
import type { ReaderRepository } from '../project/reader-repo.ts';
import type { StudyService } from './study-service.ts';

export function referenceStandard(studies: StudyService, repo: ReaderRepository, i: CallParsed<'reading.reference'>): CallResult<'reading.reference'> {
  const d = studies.data(i.study, 'reading.reference');
  if (d.row.unblinded_at === null) throw new LightboxError('conflict', `reading.reference: study ${i.study} is still blinded; unblind it first (reading.unblind)`);
  const { first } = studies.allReads(d);
  const adjudicated = new Map(repo.adjudications(i.study).map((a) => [a.item_uid, a]));
  const items = d.items.map((itemUid) => {
    const reads = d.readers.flatMap((reader) => {
      const label = first.get(reader)?.get(itemUid);
      return label === undefined ? [] : [{ reader, label }];
    });
    const adj = adjudicated.get(itemUid);
    if (adj) return { itemUid, reads, label: adj.value, basis: 'adjudicated' as const, adjudicator: adj.adjudicator };
    const counts = new Map<string, number>();
    for (const r of reads) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
    const [top, n] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? [null, 0];
    // Unanimous needs at least two reads: one reader's word is not agreement.
    if (reads.length >= 2 && counts.size === 1) return { itemUid, reads, label: top, basis: 'unanimous' as const, adjudicator: null };
    if (i.rule === 'majority' && top !== null && n * 2 > reads.length && reads.length >= 2) return { itemUid, reads, label: top, basis: 'majority' as const, adjudicator: null };
    return { itemUid, reads, label: null, basis: 'pending' as const, adjudicator: null };
  });
  return { items, queue: items.filter((x) => x.basis === 'pending').map((x) => x.itemUid) };
}

export function adjudicate(studies: StudyService, repo: ReaderRepository, adjudicator: string | null, i: CallParsed<'reading.adjudicate'>): CallResult<'reading.adjudicate'> {
  const d = studies.data(i.study, 'reading.adjudicate');
  if (adjudicator === null) throw new LightboxError('bad-request', 'reading.adjudicate: no current reader; choose the adjudicator with readers.select');
  if (d.row.unblinded_at === null) throw new LightboxError('conflict', `reading.adjudicate: study ${i.study} is still blinded; unblind it first (reading.unblind)`);
  if (!d.items.includes(i.itemUid)) throw new LightboxError('bad-request', `reading.adjudicate: itemUid: "${i.itemUid}" is not an item of study ${i.study}`);
  if (!d.group.labels.some((l) => l.key === i.label)) throw new LightboxError('bad-request', `reading.adjudicate: label: "${i.label}" is not a label of group "${d.group.key}"`);
  return { event: repo.addAdjudication(i.study, i.itemUid, i.label, adjudicator, new Date().toISOString()) };
}

export function studyCase(studies: StudyService, repo: ReaderRepository, i: CallParsed<'reading.case'>): CallResult<'reading.case'> {
  const d = studies.data(i.study, 'reading.case');
  if (d.row.unblinded_at === null) throw new LightboxError('conflict', `reading.case: study ${i.study} is still blinded; unblind it first (reading.unblind)`);
  if (!d.items.includes(i.itemUid)) throw new LightboxError('bad-request', `reading.case: itemUid: "${i.itemUid}" is not an item of study ${i.study}`);
  const at = studies.locateItem(d.group.level, i.itemUid);
  if (!at) throw new LightboxError('not-found', `reading.case: ${d.group.level} ${i.itemUid} of study ${i.study} is no longer in this project`);
  const { first, repeat } = studies.allReads(d);
  const adj = repo.adjudications(i.study).find((a) => a.item_uid === i.itemUid);
  return {
    itemUid: i.itemUid, level: d.group.level, ...at,
    reads: d.readers.map((reader) => ({ reader, label: first.get(reader)?.get(i.itemUid) ?? null, repeat: repeat.get(reader)?.get(i.itemUid) ?? null })),
    adjudication: adj ? { label: adj.value, adjudicator: adj.adjudicator, at: adj.at } : null,
  };
}
