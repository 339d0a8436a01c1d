import { useEffect, useState } from 'react';
import type { JobProgress, RejectedFile } from '../../../../shared/contract.ts';
import { api } from '../../api/client.ts';
import { BrowseButton } from '../../components/FolderBrowser.tsx';
import { formatEta } from '../../components/format.ts';
import { useKeymap } from '../../keyboard/use-keymap.ts';

export function ImportPanel({ onClose }: { onClose: () => void }) {
  const [folder, setFolder] = useState('');
  const [progress, setProgress] = useState<JobProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [report, setReport] = useState<{ total: number; files: RejectedFile[] } | null>(null);
  const running = progress !== null && (progress.phase === 'scanning' || progress.phase === 'reading');

  const loadReport = (): void => { api.call('import.report', { limit: 1000 }).then(setReport, (e: Error) => setError(e.message)); };
  useEffect(() => {
    api.call('import.current', {}).then((p) => p && setProgress(p), () => {});
    loadReport();
    return api.on('job.progress', (p) => {
      if (p.kind !== 'import') return;
      setProgress(p);
      if (p.phase === 'done' || p.phase === 'cancelled' || p.phase === 'failed') loadReport();
    });
  }, []);
  useKeymap('dialog', { 'dialog.close': onClose });

  const start = (): void => {
    setError(null);
    api.call('import.start', { folder: folder.trim() }).catch((e: Error) => setError(e.message));
  };
  const pct = progress && progress.total > 0 ? Math.round((100 * progress.done) / progress.total) : 0;

  return (
    <div className="modal-backdrop" role="dialog" aria-label="Import a folder">
      <div className="modal" data-testid="import-panel">
        <h2>Import a folder of DICOM files</h2>
        <p className="hint">Lightbox reads the folder and its subfolders; source files are never changed. Re-importing a folder only reads new or changed files.</p>
        <form onSubmit={(e) => { e.preventDefault(); start(); }} className="row">
          <input data-testid="import-folder" value={folder} onChange={(e) => setFolder(e.target.value)} placeholder="/path/to/studies" autoFocus disabled={running} />
          <BrowseButton value={folder} title="Choose a folder of DICOM studies" onChange={setFolder} disabled={running} />
          <button type="submit" disabled={running || !folder.trim()} data-testid="import-start">Import</button>
          {running && progress && <button type="button" onClick={() => void api.call('import.cancel', { jobId: progress.jobId })}>Cancel</button>}
        </form>
        {error && <div className="banner error" data-testid="import-error">{error}</div>}
        {progress && (
          <div className="progress" data-testid="import-progress" data-phase={progress.phase}>
            <div className="bar"><div style={{ width: `${progress.phase === 'done' ? 100 : pct}%` }} /></div>
            <div>{progress.message}{progress.ratePerSecond > 0 && ` · ${progress.ratePerSecond.toFixed(0)} files/s`} {formatEta(progress.etaSeconds)}</div>
          </div>
        )}
        {report && (
          <div className="report" data-testid="import-report">
            <h3>Import report: {report.total} file{report.total === 1 ? '' : 's'} rejected</h3>
            {report.total === 0 ? <p className="hint">No problems found.</p> : (
              <table>
                <thead><tr><th>File</th><th>Reason</th></tr></thead>
                <tbody>{report.files.map((f) => <tr key={f.path}><td className="path">{f.path}</td><td>{f.reason}</td></tr>)}</tbody>
              </table>
            )}
          </div>
        )}
        <div className="row end"><button onClick={onClose}>Close</button></div>
      </div>
    </div>
  );
}
