// The current reader, always in the top bar, switched explicitly: every study read is recorded under this name.
import { useState } from 'react';
import { readerStore, useReaders } from './reader-store.ts';

const NEW = '\u0000new';

export function ReaderSwitch({ onOpen }: { onOpen: () => void }) {
  const readers = useReaders();
  const [error, setError] = useState<string | null>(null);
  const change = (name: string): void => {
    setError(null);
    if (name === NEW) {
      const typed = window.prompt('Name of the new reader');
      if (!typed?.trim()) return;
      readerStore.create(typed.trim()).then(() => readerStore.select(typed.trim())).catch((e: Error) => setError(e.message));
      return;
    }
    readerStore.select(name).catch((e: Error) => setError(e.message));
  };
  return (
    <span className="reader-switch" data-testid="reader-switch" data-current={readers?.current ?? ''} title={error ?? 'The current reader: reading-study reads are recorded under this name'}>
      <button className="link" onClick={onOpen} data-testid="open-readers" title="Reading studies: readers, agreement, adjudication">Reader</button>
      <select value={readers?.current ?? ''} onChange={(e) => change(e.target.value)} data-testid="reader-select" aria-label="Current reader">
        {readers?.current === null && <option value="">no reader</option>}
        {readers?.readers.map((r) => <option key={r.name} value={r.name}>{r.name}</option>)}
        <option value={NEW}>New reader…</option>
      </select>
      {error && <span className="warn" data-testid="reader-error">{error}</span>}
    </span>
  );
}
