// Browse a PACS and retrieve studies into the project: choose (or add) a server, search its studies with the
// worklist's filters, pick studies (or some of their series), and retrieve them as a job with progress, Cancel and
// Resume. A study shows up in the worklist once it has arrived whole.
import { useEffect, useState } from 'react';
import type { JobProgress } from '../../../../shared/contract.ts';
import type { PacsAuth, PacsSeries, PacsServerView, PacsStudy, RetrieveItem } from '../../../../shared/pacs-contract.ts';
import { api } from '../../api/client.ts';
import { formatEta } from '../../components/format.ts';
import { useKeymap } from '../../keyboard/use-keymap.ts';

const date = (d: string): string => (d.length === 8 ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : d);
const name = (n: string): string => n.replace(/\^+$/, '').split('^').filter(Boolean).slice(0, 2).join(', ');
const dicomDate = (d: string): string | undefined => (d ? d.replace(/-/g, '') : undefined);
const running = (p: JobProgress | null): boolean => p !== null && (p.phase === 'scanning' || p.phase === 'retrieving');

function AddServer({ onSaved }: { onSaved: (servers: PacsServerView[], name: string) => void }) {
  const [serverName, setServerName] = useState('');
  const [url, setUrl] = useState('');
  const [auth, setAuth] = useState<'none' | 'basic' | 'bearer'>('none');
  const [user, setUser] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const save = (): void => {
    setError(null);
    const a: PacsAuth = auth === 'basic' ? { type: 'basic', username: user, password: secret } : auth === 'bearer' ? { type: 'bearer', token: secret } : { type: 'none' };
    api.call('pacs.configure', { server: { name: serverName.trim(), dicomweb: { url: url.trim(), auth: a } } })
      .then((r) => { setSecret(''); onSaved(r.servers, serverName.trim()); }, (e: Error) => setError(e.message));
  };
  return (
    <form className="row" data-testid="pacs-add" onSubmit={(e) => { e.preventDefault(); save(); }}>
      <input data-testid="pacs-add-name" value={serverName} onChange={(e) => setServerName(e.target.value)} placeholder="name" />
      <input data-testid="pacs-add-url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="http://pacs:8042/dicom-web" />
      <select data-testid="pacs-add-auth" value={auth} onChange={(e) => setAuth(e.target.value as typeof auth)} title="Authentication">
        <option value="none">no auth</option><option value="basic">basic</option><option value="bearer">bearer token</option>
      </select>
      {auth === 'basic' && <input value={user} onChange={(e) => setUser(e.target.value)} placeholder="user" />}
      {auth !== 'none' && <input type="password" value={secret} onChange={(e) => setSecret(e.target.value)} placeholder={auth === 'basic' ? 'password' : 'token'} />}
      <button type="submit" disabled={!serverName.trim() || !url.trim()}>Save server</button>
      {error && <div className="banner error" data-testid="pacs-add-error">{error}</div>}
    </form>
  );
}

export function PacsPanel({ onClose }: { onClose: () => void }) {
  const [servers, setServers] = useState<PacsServerView[] | null>(null);
  const [server, setServer] = useState('');
  const [adding, setAdding] = useState(false);
  const [filters, setFilters] = useState({ patientName: '', patientId: '', dateFrom: '', dateTo: '', modality: '' });
  const [studies, setStudies] = useState<PacsStudy[] | null>(null);
  const [series, setSeries] = useState<Record<string, PacsSeries[]>>({});
  const [picked, setPicked] = useState<Record<string, Set<string> | 'all'>>({});
  const [progress, setProgress] = useState<JobProgress | null>(null);
  const [resumable, setResumable] = useState<{ server: string; items: RetrieveItem[]; reason: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [echo, setEcho] = useState<string | null>(null);
  const busy = running(progress);

  const loadStatus = (): void => {
    api.call('pacs.status', {}).then((s) => {
      setResumable(s.resumable ? { server: s.resumable.server, items: s.resumable.items, reason: s.resumable.reason } : null);
      if (s.job) setProgress(s.job as JobProgress);
    }, () => {});
  };
  useEffect(() => {
    api.call('pacs.servers', {}).then((r) => {
      setServers(r.servers);
      setServer(r.servers[0]?.name ?? '');
      setAdding(r.servers.length === 0);
    }, (e: Error) => setError(e.message));
    loadStatus();
    return api.on('job.progress', (p) => {
      if (p.kind !== 'pacs') return;
      setProgress(p);
      if (p.phase === 'done' || p.phase === 'cancelled' || p.phase === 'failed') loadStatus();
    });
  }, []);
  useKeymap('dialog', { 'dialog.close': onClose });

  const search = (): void => {
    setError(null);
    api.call('pacs.query', {
      server,
      ...(filters.patientName ? { patientName: filters.patientName } : {}),
      ...(filters.patientId ? { patientId: filters.patientId } : {}),
      ...(dicomDate(filters.dateFrom) ? { dateFrom: dicomDate(filters.dateFrom) } : {}),
      ...(dicomDate(filters.dateTo) ? { dateTo: dicomDate(filters.dateTo) } : {}),
      ...(filters.modality ? { modality: filters.modality.toUpperCase() } : {}),
    }).then((r) => { setStudies(r.studies); setPicked({}); setSeries({}); }, (e: Error) => setError(e.message));
  };
  const showSeries = (uid: string): void => {
    api.call('pacs.query', { server, level: 'series', studyUid: uid }).then((r) => setSeries((s) => ({ ...s, [uid]: r.series })), (e: Error) => setError(e.message));
  };
  const toggleStudy = (uid: string): void => setPicked((p) => {
    const next = { ...p };
    if (next[uid]) delete next[uid];
    else next[uid] = 'all';
    return next;
  });
  const toggleSeries = (study: string, uid: string): void => setPicked((p) => {
    const cur = p[study];
    const set = new Set(cur === 'all' ? (series[study] ?? []).map((s) => s.seriesUid) : cur ?? []);
    if (set.has(uid)) set.delete(uid);
    else set.add(uid);
    const next = { ...p };
    if (set.size === 0) delete next[study];
    else next[study] = set.size === (series[study]?.length ?? -1) ? 'all' : set;
    return next;
  });
  const items: RetrieveItem[] = Object.entries(picked).map(([studyUid, v]) => (v === 'all' ? { studyUid } : { studyUid, seriesUids: [...v] }));
  const retrieve = (req: { server: string; items: RetrieveItem[] }): void => {
    setError(null);
    api.call('pacs.retrieve', req).catch((e: Error) => setError(e.message));
  };
  const check = (): void => {
    setEcho(null);
    api.call('pacs.echo', { server }).then((r) => setEcho([r.dicomweb, r.dimse].filter((x) => x).map((x) => `${x!.ok ? 'OK' : 'Failed'}: ${x!.message}`).join(' · ')), (e: Error) => setEcho(e.message));
  };
  const pct = progress && progress.total > 0 ? Math.round((100 * progress.done) / progress.total) : 0;

  return (
    <div className="modal-backdrop" role="dialog" aria-label="Retrieve from a PACS">
      <div className="modal pacs" data-testid="pacs-panel">
        <h2>Retrieve studies from a PACS</h2>
        <p className="hint">Studies are copied into this project's pacs-cache folder and indexed once complete; retrieving again resumes and skips what is already here. Server settings (and passwords) stay in your Lightbox home, not in the project.</p>
        {servers && (
          <div className="row">
            <select data-testid="pacs-server" value={server} onChange={(e) => setServer(e.target.value)} disabled={servers.length === 0}>
              {servers.map((s) => <option key={s.name} value={s.name}>{s.name} — {s.dicomweb ? s.dicomweb.url : `${s.dimse!.calledAet}@${s.dimse!.host}:${s.dimse!.port}`}</option>)}
            </select>
            <button type="button" onClick={check} disabled={!server} data-testid="pacs-echo">Test connection</button>
            <button type="button" onClick={() => setAdding((a) => !a)} aria-pressed={adding}>Add server…</button>
            {echo && <span className="hint" data-testid="pacs-echo-result">{echo}</span>}
          </div>
        )}
        {adding && <AddServer onSaved={(list, n) => { setServers(list); setServer(n); setAdding(false); }} />}
        <form className="row" onSubmit={(e) => { e.preventDefault(); search(); }}>
          <input data-testid="pacs-patient-name" value={filters.patientName} onChange={(e) => setFilters({ ...filters, patientName: e.target.value })} placeholder="patient name (* wildcard)" />
          <input data-testid="pacs-patient-id" value={filters.patientId} onChange={(e) => setFilters({ ...filters, patientId: e.target.value })} placeholder="patient ID" />
          <input type="date" data-testid="pacs-from" value={filters.dateFrom} onChange={(e) => setFilters({ ...filters, dateFrom: e.target.value })} title="from" />
          <input type="date" data-testid="pacs-to" value={filters.dateTo} onChange={(e) => setFilters({ ...filters, dateTo: e.target.value })} title="to" />
          <input data-testid="pacs-modality" value={filters.modality} onChange={(e) => setFilters({ ...filters, modality: e.target.value })} placeholder="modality" size={6} />
          <button type="submit" disabled={!server} data-testid="pacs-search">Search</button>
        </form>
        {error && <div className="banner error" data-testid="pacs-error">{error}</div>}
        {studies && (
          <div className="report">
            <table data-testid="pacs-results">
              <thead><tr><th /><th>Date</th><th>Patient</th><th>ID</th><th>Modality</th><th>Description</th><th>Series</th><th>Images</th><th /></tr></thead>
              <tbody>
                {studies.length === 0 && <tr><td colSpan={9} className="hint">No studies match.</td></tr>}
                {studies.flatMap((s) => [
                  <tr key={s.studyUid} data-testid="pacs-study" data-uid={s.studyUid}>
                    <td><input type="checkbox" checked={picked[s.studyUid] !== undefined} onChange={() => toggleStudy(s.studyUid)} aria-label={`select study ${s.studyUid}`} /></td>
                    <td>{date(s.studyDate)}</td><td>{name(s.patientName)}</td><td>{s.patientId}</td><td>{s.modalities.join(', ')}</td>
                    <td>{s.description}</td><td>{s.series ?? ''}</td><td>{s.instances ?? ''}</td>
                    <td><button type="button" className="link" onClick={() => showSeries(s.studyUid)}>series</button></td>
                  </tr>,
                  ...(series[s.studyUid] ?? []).map((x) => {
                    const p = picked[s.studyUid];
                    return (
                      <tr key={x.seriesUid} className="sub" data-testid="pacs-series">
                        <td />
                        <td colSpan={8}>
                          <label><input type="checkbox" checked={p === 'all' || (p instanceof Set && p.has(x.seriesUid))} onChange={() => toggleSeries(s.studyUid, x.seriesUid)} />
                            {' '}#{x.seriesNumber ?? '?'} {x.modality} {x.description} · {x.instances ?? '?'} images</label>
                        </td>
                      </tr>
                    );
                  }),
                ])}
              </tbody>
            </table>
          </div>
        )}
        <div className="row">
          <button type="button" data-testid="pacs-retrieve" disabled={busy || items.length === 0} onClick={() => retrieve({ server, items })}>
            Retrieve {items.length || ''} {items.length === 1 ? 'study' : 'studies'}
          </button>
          {busy && progress && <button type="button" onClick={() => void api.call('pacs.cancel', { jobId: progress.jobId })}>Cancel</button>}
          {!busy && resumable && (
            <span className="banner" data-testid="pacs-resumable">
              A retrieve of {resumable.items.length} {resumable.items.length === 1 ? 'study' : 'studies'} from {resumable.server} stopped: {resumable.reason}{' '}
              <button type="button" data-testid="pacs-resume" onClick={() => retrieve(resumable)}>Resume</button>
            </span>
          )}
        </div>
        {progress && (
          <div className="progress" data-testid="pacs-progress" data-phase={progress.phase}>
            <div className="bar"><div style={{ width: `${progress.phase === 'done' ? 100 : pct}%` }} /></div>
            <div>{progress.message}{progress.ratePerSecond > 0 && ` · ${progress.ratePerSecond.toFixed(1)} images/s`} {formatEta(progress.etaSeconds)}</div>
          </div>
        )}
        <div className="row end"><button onClick={onClose}>Close</button></div>
      </div>
    </div>
  );
}
