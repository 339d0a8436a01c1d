import { useCallback, useEffect, useState } from 'react';
import type { EmbedStatusView, JobProgress } from '../../../../shared/contract.ts';
import { api } from '../../api/client.ts';
import { formatEta } from '../../components/format.ts';
import { providerNotice } from './provider-notice.ts';

const ACTIVE: JobProgress['phase'][] = ['embedding', 'pooling', 'paused'];

/** A job's progress line: it gives way first when the top bar is short, and keeps its whole text in the title. */
function JobText({ text }: { text: string }) {
  return <span className="job-text" title={text} data-testid="embed-job-text">{text}</span>;
}

/** The model in use, its execution provider, and the project's embedding job: start, progress, pause, cancel. */
export function EmbedBar() {
  const [status, setStatus] = useState<EmbedStatusView | null>(null);
  const [progress, setProgress] = useState<JobProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [failures, setFailures] = useState<{ total: number; items: { instanceId: number; path: string; reason: string }[] } | null>(null);

  const refresh = useCallback(() => {
    api.call('embed.status', {}).then((s) => { setStatus(s); if (s.job) setProgress(s.job); }, (e: Error) => setError(e.message));
  }, []);
  useEffect(refresh, [refresh]);
  useEffect(() => api.on('project.changed', refresh), [refresh]);
  useEffect(() => api.on('job.progress', (p) => {
    if (p.kind !== 'embed') return;
    setProgress(p);
    if (!ACTIVE.includes(p.phase)) refresh();
  }), [refresh]);

  const start = (): void => {
    setError(null);
    api.call('embed.start', {}).then(refresh, (e: Error) => setError(e.message));
  };
  const running = progress !== null && ACTIVE.includes(progress.phase);
  const pct = progress && progress.total > 0 ? Math.round((100 * progress.done) / progress.total) : 0;
  const remaining = status ? status.images - status.embedded : 0;
  const notice = status ? providerNotice(status) : null;

  return (
    <>
    <div className="embedbar" data-testid="embed-bar">
      <span className="model" title={status?.model ? `${status.model.name} ${status.model.version}\n${status.model.dir}\nmodel hash ${status.model.sha256}` : ''}>
        <span className="model-name">{status?.model ? status.model.name : 'no model'}</span>
        {status?.provider && notice && <span className={`chip ${notice.warn ? 'warn' : ''}`} data-testid="embed-provider" data-warn={notice.warn} title={notice.title}>{status.provider}</span>}
      </span>
      {running && progress ? (
        <span className="progress inline" data-testid="embed-progress" data-phase={progress.phase} data-done={progress.done} data-total={progress.total}>
          <span className="bar"><span style={{ width: `${pct}%` }} /></span>
          <JobText text={`${progress.done}/${progress.total}${progress.phase === 'paused' ? ' · paused' : `${progress.ratePerSecond > 0 ? ` · ${progress.ratePerSecond.toFixed(0)} images/s` : ''} ${formatEta(progress.etaSeconds)}`}`} />
        </span>
      ) : (
        status && (
          <span className="dim" data-testid="embed-counts">
            {status.embedded}/{status.images} embedded
            {status.failed > 0 && <>, <button className="link warn" data-testid="embed-failed" onClick={() => { api.call('embed.failures', { limit: 1000 }).then(setFailures, (e: Error) => setError(e.message)); }}>{status.failed} failed</button></>}
          </span>
        )
      )}
      {notice?.warn && <span className="warn warn-text" data-testid="provider-fallback" title={notice.title}>⚠ {notice.warning}</span>}
      {error && <span className="err warn-text" data-testid="embed-error" title={error}>{error}</span>}
      {failures && (
        <div className="modal-backdrop" role="dialog" aria-label="Images that could not be embedded" onClick={() => setFailures(null)}>
          <div className="modal report" data-testid="embed-failures" onClick={(e) => e.stopPropagation()}>
            <h2>{failures.total} image{failures.total === 1 ? '' : 's'} could not be embedded</h2>
            <p className="hint">They are retried on the next Embed; fix or re-export the files, then embed again.</p>
            <table>
              <thead><tr><th>File</th><th>Reason</th></tr></thead>
              <tbody>{failures.items.map((f) => <tr key={f.instanceId}><td className="path">{f.path}</td><td>{f.reason}</td></tr>)}</tbody>
            </table>
            <div className="row end"><button onClick={() => setFailures(null)}>Close</button></div>
          </div>
        </div>
      )}
    </div>
    {/* The job's buttons sit outside the part that gives way, so a narrow window never cuts them off. */}
    <span className="embed-actions">
      {running && progress ? (
        <>
          {progress.phase === 'paused'
            ? <button onClick={() => void api.call('embed.resume', { jobId: progress.jobId })} data-testid="embed-resume">Resume</button>
            : <button onClick={() => void api.call('embed.pause', { jobId: progress.jobId })} data-testid="embed-pause">Pause</button>}
          <button onClick={() => void api.call('embed.cancel', { jobId: progress.jobId })} data-testid="embed-cancel">Cancel</button>
        </>
      ) : (
        <button onClick={start} disabled={!status || remaining === 0 && status.failed === 0} data-testid="embed-start" title="Embed every image not yet embedded with this model">
          {status?.interrupted ? 'Resume embedding' : 'Embed'}
        </button>
      )}
    </span>
    </>
  );
}
