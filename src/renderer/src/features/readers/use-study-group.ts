// A reading study and its label group (the labels a read can take, with their shortcuts).
import { useCallback, useEffect, useState } from 'react';
import type { ReadingStudy } from '../../../../shared/contract.ts';
import type { LabelGroup } from '../../../../shared/label-schema.ts';
import { api } from '../../api/client.ts';

export function useStudyGroup(study: number): { study: ReadingStudy | null; group: LabelGroup | null; error: string | null; reload: () => void } {
  const [s, setS] = useState<ReadingStudy | null>(null);
  const [group, setGroup] = useState<LabelGroup | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    Promise.all([api.call('reading.status', { study }), api.call('labels.schema', {})]).then(([st, sc]) => {
      if (!live) return;
      setS(st);
      const g = sc.schema.groups.find((x) => x.key === st.group) ?? null;
      setGroup(g);
      if (!g) setError(`Group "${st.group}" of this study is no longer in the label schema`);
    }, (e: Error) => live && setError(e.message));
    return () => { live = false; };
  }, [study, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { study: s, group, error, reload };
}

/** A label's name with its parents ("Abnormal › Nodule"). */
export function labelName(group: LabelGroup | null, key: string | null): string {
  if (key === null) return '—';
  if (!group) return key;
  const chain: string[] = [];
  for (let k: string | undefined = key; k !== undefined;) {
    const l = group.labels.find((x) => x.key === k);
    if (!l) { chain.unshift(k); break; }
    chain.unshift(l.name);
    k = l.parent;
  }
  return chain.join(' › ');
}

/** Shortcut → label key, for the keymap's dynamic keys. */
export function shortcutsOf(group: LabelGroup | null): Map<string, string> {
  return new Map((group?.labels ?? []).flatMap((l) => (l.shortcut ? [[l.shortcut, l.key] as const] : [])));
}
