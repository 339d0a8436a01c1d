// The readers and the current reader, as the top bar and the reader-study views see them: one small store so that
// switching or adding a reader anywhere shows everywhere at once. Main keeps the truth (readers.* calls).
import { useEffect, useState } from 'react';
import type { CallResult } from '../../../../shared/contract.ts';
import { api } from '../../api/client.ts';

export type ReaderList = CallResult<'readers.list'>;

let state: ReaderList | null = null;
const listeners = new Set<(s: ReaderList) => void>();

function publish(s: ReaderList): ReaderList {
  state = s;
  for (const l of listeners) l(s);
  return s;
}

export const readerStore = {
  refresh: (): Promise<ReaderList> => api.call('readers.list', {}).then(publish),
  select: (name: string): Promise<ReaderList> => api.call('readers.select', { name }).then(publish),
  create: (name: string): Promise<ReaderList> => api.call('readers.create', { name }).then(publish),
};

/** The readers and the current one; null until the first answer. */
export function useReaders(): ReaderList | null {
  const [s, setS] = useState<ReaderList | null>(state);
  useEffect(() => {
    listeners.add(setS);
    if (state === null) void readerStore.refresh().catch(() => {});
    return () => { listeners.delete(setS); };
  }, []);
  return s;
}
