// Projects: the one open now, the recent ones, and opening or creating another. The host switches its project
// (workspace.open); every window of it then reloads onto the new project (App listens for "switched").
import { useEffect, useState } from 'react';
import type { ProjectInfo, RecentProject } from '../../../../shared/contract.ts';
import { api } from '../../api/client.ts';
import { BrowseButton } from '../../components/FolderBrowser.tsx';
import { useKeymap } from '../../keyboard/use-keymap.ts';

export function ProjectsDialog({ info, onClose }: { info: ProjectInfo | null; onClose: () => void }) {
  const [recent, setRecent] = useState<RecentProject[]>([]);
  const [openDir, setOpenDir] = useState('');
  const [newDir, setNewDir] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useKeymap('dialog', { 'dialog.close': onClose });
  useEffect(() => { api.call('project.recent', {}).then(setRecent, (e: Error) => setError(e.message)); }, []);

  const open = (dir: string, create: boolean): void => {
    setError(null);
    setBusy(true);
    // On success the host announces the switch and App reloads; only a refusal comes back here.
    api.call('workspace.open', { dir: dir.trim(), create }).catch((e: Error) => { setError(e.message); setBusy(false); });
  };

  return (
    <div className="modal-backdrop" role="dialog" aria-label="Projects">
      <div className="modal" data-testid="projects-dialog">
        <h2>Projects</h2>
        {info && <p className="hint">Open now: <strong>{info.name}</strong> <span className="path">{info.dir}</span></p>}
        <h3>Recent</h3>
        <ul className="recent-projects" data-testid="recent-projects">
          {recent.filter((r) => r.dir !== info?.dir).map((r) => (
            <li key={r.dir}>
              <button type="button" className="link" disabled={busy} onClick={() => open(r.dir, false)} data-project={r.name}>{r.name}</button>
              <span className="path dim"> {r.dir}</span>
              <span className="dim"> · opened {r.openedAt.slice(0, 10)}</span>
            </li>
          ))}
          {recent.filter((r) => r.dir !== info?.dir).length === 0 && <li className="dim">No other project opened yet.</li>}
        </ul>
        <h3>Open a project folder</h3>
        <form className="row" onSubmit={(e) => { e.preventDefault(); open(openDir, false); }}>
          <input value={openDir} onChange={(e) => setOpenDir(e.target.value)} placeholder="/path/to/project (holds lightbox.db)" data-testid="open-project-dir" />
          <BrowseButton value={openDir} title="Choose a project folder" onChange={setOpenDir} />
          <button type="submit" disabled={busy || !openDir.trim()} data-testid="open-project">Open</button>
        </form>
        <h3>New project</h3>
        <form className="row" onSubmit={(e) => { e.preventDefault(); open(newDir, true); }}>
          <input value={newDir} onChange={(e) => setNewDir(e.target.value)} placeholder="/path/to/new-project (a new or empty folder)" data-testid="new-project-dir" />
          <BrowseButton value={newDir} startAtParent title="Choose where the new project folder goes" onChange={(d) => setNewDir(`${d.replace(/\/$/, '')}/new-project`)} />
          <button type="submit" disabled={busy || !newDir.trim()} data-testid="create-project">Create</button>
        </form>
        {error && <div className="banner error" data-testid="projects-error">{error}</div>}
        <div className="row end"><button onClick={onClose}>Close</button></div>
      </div>
    </div>
  );
}
