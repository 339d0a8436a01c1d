// Choosing a folder: the Electron host's native dialog, or in the browser host a small browser of folders served
// by the API (folders.list lists directories only). The chosen path goes into the field; the call it is given to
// validates it again.
import { useEffect, useState } from 'react';
import type { FolderListing } from '../../../shared/contract.ts';
import { api } from '../api/client.ts';

function FolderBrowser({ start, title, onPick, onCancel }: { start: string; title: string; onPick: (path: string) => void; onCancel: () => void }) {
  const [listing, setListing] = useState<FolderListing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const open = (path: string): void => {
    setError(null);
    api.call('folders.list', { path }).then(setListing, (e: Error) => setError(e.message));
  };
  useEffect(() => { open(start); }, [start]);
  return (
    <div className="modal-backdrop" role="dialog" aria-label={title}>
      <div className="modal folder-browser" data-testid="folder-browser">
        <h2>{title}</h2>
        {listing && (
          <>
            <div className="row places">
              {listing.places.map((p) => <button key={p.path} type="button" onClick={() => open(p.path)} title={p.path}>{p.name}</button>)}
            </div>
            <div className="path" data-testid="folder-browser-path">{listing.path}</div>
            <ul className="folders" data-testid="folder-browser-list">
              {listing.parent !== null && <li><button type="button" className="link" onClick={() => open(listing.parent!)}>⬑ ..</button></li>}
              {listing.folders.map((f) => (
                <li key={f.path}><button type="button" className="link" onClick={() => open(f.path)} data-folder={f.name}>📁 {f.name}</button></li>
              ))}
              {listing.folders.length === 0 && <li className="dim">No subfolders.</li>}
            </ul>
            {listing.truncated && <p className="hint">Only the first {listing.folders.length} subfolders are shown.</p>}
          </>
        )}
        {error && <div className="banner error" data-testid="folder-browser-error">{error}</div>}
        <div className="row end">
          <button type="button" onClick={onCancel}>Cancel</button>
          <button type="button" disabled={!listing} onClick={() => listing && onPick(listing.path)} data-testid="folder-browser-choose">Choose this folder</button>
        </div>
      </div>
    </div>
  );
}

/** A "Browse…" button that fills a path field with the folder the user chooses. */
export function BrowseButton({ value, title, onChange, disabled, startAtParent = false }: {
  value: string; title: string; onChange: (path: string) => void; disabled?: boolean;
  /** For a destination that must not exist yet: browse from the folder above the typed path. */
  startAtParent?: boolean;
}) {
  const [browsing, setBrowsing] = useState(false);
  const typed = value.trim();
  const start = typed.startsWith('/') ? (startAtParent ? typed.replace(/\/[^/]*\/?$/, '') || '/' : typed) : '';
  const click = (): void => {
    if (api.nativePickFolder) void api.nativePickFolder(title).then((p) => { if (p) onChange(p); });
    else setBrowsing(true);
  };
  return (
    <>
      <button type="button" onClick={click} disabled={disabled} data-testid="browse-folder">Browse…</button>
      {browsing && <FolderBrowser start={start} title={title} onCancel={() => setBrowsing(false)} onPick={(p) => { setBrowsing(false); onChange(p); }} />}
    </>
  );
}
