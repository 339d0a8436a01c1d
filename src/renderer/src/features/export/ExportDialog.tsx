// The export dialog: what to export (formats, groups, statuses, levels, dates), how to split it, whether to
// de-identify, a live preview of counts and class balance per split, then a cancellable export with progress and
// the files it wrote. Also re-imports labels from an export or an SR folder.
import { useEffect, useMemo, useState } from 'react';
import { EXPORT_FORMATS, EXPORT_STATUSES } from '../../../../shared/contract.ts';
import type { CallInput, ExportPreview, ExportSummary, JobProgress, LabelImportSummary, LabelSchema } from '../../../../shared/contract.ts';
import { LEVELS } from '../../../../shared/label-schema.ts';
import { api } from '../../api/client.ts';
import { BrowseButton } from '../../components/FolderBrowser.tsx';
import { formatEta } from '../../components/format.ts';
import { useKeymap } from '../../keyboard/use-keymap.ts';

type Options = CallInput<'export.preview'>;

/** A new folder's name for an export made now: export-2026-12-02-1705. */
function exportFolderName(now = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `export-${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}`;
}
const FORMAT_NAMES: Record<(typeof EXPORT_FORMATS)[number], string> = { csv: 'CSV', jsonl: 'JSONL', sr: 'DICOM SR' };

function toggle<T>(list: T[] | undefined, v: T, on: boolean): T[] {
  const l = list ?? [];
  return on ? [...l.filter((x) => x !== v), v] : l.filter((x) => x !== v);
}

function Balance({ balance, names }: { balance: ExportPreview['balance']; names: Map<string, string> }) {
  return (
    <>
      {Object.entries(balance).map(([g, labels]) => {
        const total = Object.values(labels).reduce((a, b) => a + b, 0);
        return (
          <div key={g} className="balance">
            <div className="dim">{names.get(g) ?? g}</div>
            {Object.entries(labels).sort((a, b) => b[1] - a[1]).map(([l, n]) => (
              <div key={l} className="balance-row" title={`${n} of ${total}`}>
                <span className="balance-label">{names.get(`${g}/${l}`) ?? l}</span>
                <span className="balance-bar"><span style={{ width: `${(100 * n) / Math.max(1, total)}%` }} /></span>
                <span className="num">{n}</span>
              </div>
            ))}
          </div>
        );
      })}
    </>
  );
}

export function ExportDialog({ onClose }: { onClose: () => void }) {
  const [schema, setSchema] = useState<LabelSchema | null>(null);
  const [opts, setOpts] = useState<Options>({ formats: ['csv', 'jsonl', 'sr'], statuses: ['accepted'], groups: [], levels: [], split: [70, 15, 15], seed: 1, folds: 0 });
  const [out, setOut] = useState('');
  const [preview, setPreview] = useState<ExportPreview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<JobProgress | null>(null);
  const [result, setResult] = useState<ExportSummary | null>(null);
  const [importPath, setImportPath] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  const [imported, setImported] = useState<LabelImportSummary | null>(null);
  const running = progress !== null && progress.phase === 'exporting';

  useEffect(() => { api.call('labels.schema', {}).then((s) => setSchema(s.schema), (e: Error) => setError(e.message)); }, []);
  // A sensible default destination: a new dated folder inside the project's folder.
  useEffect(() => { api.call('project.info', {}).then((i) => setOut((o) => o || `${i.dir}/${exportFolderName()}`), () => {}); }, []);
  const names = useMemo(() => {
    const m = new Map<string, string>();
    for (const g of schema?.groups ?? []) {
      m.set(g.key, g.name);
      for (const l of g.labels) m.set(`${g.key}/${l.key}`, l.name);
    }
    return m;
  }, [schema]);

  // The preview follows the options (debounced): counts and balance before anything is written.
  useEffect(() => {
    const t = setTimeout(() => {
      api.call('export.preview', opts).then((p) => { setPreview(p); setError(null); }, (e: Error) => { setPreview(null); setError(e.message); });
    }, 250);
    return () => clearTimeout(t);
  }, [opts]);

  useEffect(() => {
    void api.call('export.status', {}).then((s) => s.job && setProgress(s.job));
    return api.on('job.progress', (p) => {
      if (p.kind !== 'export') return;
      setProgress(p);
      if (p.phase === 'done' || p.phase === 'failed' || p.phase === 'cancelled') {
        void api.call('export.status', {}).then((s) => {
          if (p.phase === 'done') setResult(s.last);
          if (s.error) setError(s.error);
        });
      }
    });
  }, []);
  // A running export is not closed by a stray Esc: its progress and the files it wrote show here.
  useKeymap('dialog', { 'dialog.close': () => (running ? false : onClose()) });

  const set = (patch: Partial<Options>): void => setOpts((o) => ({ ...o, ...patch }));
  const start = (): void => {
    setError(null);
    setResult(null);
    api.call('export.start', { out: out.trim(), options: opts }).catch((e: Error) => setError(e.message));
  };
  const importLabels = (): void => {
    setError(null);
    api.call('labels.import', { path: importPath.trim(), overwrite }).then(setImported, (e: Error) => setError(e.message));
  };
  const split = opts.split ?? [];
  // Labels in each split in the order of the whole export's balance (most frequent first), so columns line up by eye.
  const order = (g: string, l: string): number => {
    const all = Object.entries(preview?.balance[g] ?? {}).sort((a, b) => b[1] - a[1]).map(([k]) => k);
    return all.indexOf(l);
  };
  const pct = progress && progress.total > 0 ? Math.round((100 * progress.done) / progress.total) : 0;

  return (
    <div className="modal-backdrop" role="dialog" aria-label="Export labels">
      <div className="modal export" data-testid="export-dialog">
        <h2>Export labels</h2>
        <div className="export-body">
          <form className="export-options" onSubmit={(e) => { e.preventDefault(); start(); }}>
            <fieldset>
              <legend>Formats</legend>
              {EXPORT_FORMATS.map((f) => (
                <label key={f}><input type="checkbox" checked={opts.formats?.includes(f) ?? false} onChange={(e) => set({ formats: toggle(opts.formats, f, e.target.checked) })} data-testid={`format-${f}`} /> {FORMAT_NAMES[f]}</label>
              ))}
            </fieldset>
            <fieldset>
              <legend>Label groups <span className="dim">(none ticked: all)</span></legend>
              {schema?.groups.map((g) => (
                <label key={g.key}><input type="checkbox" checked={opts.groups?.includes(g.key) ?? false} onChange={(e) => set({ groups: toggle(opts.groups, g.key, e.target.checked) })} /> {g.name} <span className="dim">({g.level})</span></label>
              ))}
            </fieldset>
            <fieldset>
              <legend>Status</legend>
              {EXPORT_STATUSES.map((s) => (
                <label key={s} title={s === 'flagged' ? 'Labelled, but flagged for a second opinion' : 'Set or accepted by a person'}>
                  <input type="checkbox" checked={opts.statuses?.includes(s) ?? false} onChange={(e) => set({ statuses: toggle(opts.statuses, s, e.target.checked) })} data-testid={`status-${s}`} /> {s}
                </label>
              ))}
              <span className="dim"> Levels:</span>
              {LEVELS.map((l) => (
                <label key={l}><input type="checkbox" checked={opts.levels?.includes(l) ?? false} onChange={(e) => set({ levels: toggle(opts.levels, l, e.target.checked) })} /> {l}</label>
              ))}
            </fieldset>
            <fieldset>
              <legend>Labelled between</legend>
              <input type="date" value={opts.labelledFrom ?? ''} onChange={(e) => set({ labelledFrom: e.target.value })} aria-label="Labelled from" />
              {' and '}
              <input type="date" value={opts.labelledTo ?? ''} onChange={(e) => set({ labelledTo: e.target.value })} aria-label="Labelled to" />
            </fieldset>
            <fieldset>
              <legend>Splits <span className="dim">(whole patients, stratified)</span></legend>
              <label><input type="checkbox" checked={split.length > 0} onChange={(e) => set({ split: e.target.checked ? [70, 15, 15] : [] })} data-testid="split-on" /> train / val / test %</label>
              {split.length > 0 && ['train', 'val', 'test'].map((name, i) => (
                <input key={name} type="number" min={0} max={100} className="narrow" aria-label={`${name} percent`} value={split[i] ?? 0}
                  onChange={(e) => set({ split: split.map((v, j) => (j === i ? Number(e.target.value) : v)) })} />
              ))}
              <div className="row">
                <label>seed <input type="number" className="narrow" value={opts.seed ?? 1} onChange={(e) => set({ seed: Number(e.target.value) })} /></label>
                <label>folds <input type="number" className="narrow" min={0} max={50} value={opts.folds ?? 0} onChange={(e) => set({ folds: Number(e.target.value) })} /></label>
                <label>stratify by{' '}
                  <select value={opts.stratify ?? ''} onChange={(e) => set({ stratify: e.target.value })}>
                    <option value="">first group</option>
                    {schema?.groups.map((g) => <option key={g.key} value={g.key}>{g.name}</option>)}
                  </select>
                </label>
              </div>
            </fieldset>
            <fieldset>
              <legend>Privacy</legend>
              <label title="DICOM PS3.15 Annex E basic profile: UIDs and patient IDs replaced, dates shifted per patient; the key stays in this project">
                <input type="checkbox" checked={opts.deidentify ?? false} onChange={(e) => set({ deidentify: e.target.checked, dicomCopies: e.target.checked && (opts.dicomCopies ?? false) })} data-testid="deidentify" /> De-identify
              </label>
              <label><input type="checkbox" disabled={!opts.deidentify} checked={opts.dicomCopies ?? false} onChange={(e) => set({ dicomCopies: e.target.checked })} /> with de-identified DICOM copies of the images</label>
            </fieldset>
            <fieldset>
              <legend>Destination</legend>
              <div className="row">
                <input value={out} onChange={(e) => setOut(e.target.value)} placeholder="/path/to/new-export-folder (must not exist yet)" data-testid="export-out" disabled={running} />
                <BrowseButton value={out} startAtParent title="Choose where the export folder goes" disabled={running} onChange={(dir) => setOut(`${dir.replace(/\/$/, '')}/${exportFolderName()}`)} />
              </div>
              {opts.formats?.includes('sr') && (
                <div className="row">
                  <input value={opts.srFolder ?? ''} onChange={(e) => set({ srFolder: e.target.value })} placeholder="also send SRs to this folder (optional)" />
                </div>
              )}
            </fieldset>
            <div className="row">
              <button type="submit" disabled={running || !out.trim() || !preview || preview.rows === 0} data-testid="export-start">Export {preview ? `${preview.rows} rows` : ''}</button>
              {running && progress && <button type="button" onClick={() => void api.call('export.cancel', { jobId: progress.jobId })}>Cancel</button>}
            </div>
          </form>
          <div className="export-preview" data-testid="export-preview">
            {preview && (
              <>
                <p><b data-testid="preview-rows">{preview.rows}</b> rows · {preview.items} items · {preview.patients} patients · {preview.studies} studies</p>
                <Balance balance={preview.balance} names={names} />
                {preview.splits.length > 0 && (
                  <table className="splits" data-testid="preview-splits">
                    <thead><tr><th>Split</th><th className="num">Patients</th><th className="num">Items</th><th>Balance</th></tr></thead>
                    <tbody>
                      {preview.splits.map((s) => (
                        <tr key={s.name}>
                          <td>{s.name}</td><td className="num">{s.patients}</td><td className="num">{s.items}</td>
                          <td>{Object.entries(s.balance).map(([g, ls]) => `${names.get(g) ?? g}: ${Object.entries(ls).sort((a, b) => order(g, a[0]) - order(g, b[0])).map(([l, n]) => `${names.get(`${g}/${l}`) ?? l} ${n}`).join(', ')}`).join(' · ')}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
                {preview.warnings.map((w) => <div key={w} className="banner">{w}</div>)}
              </>
            )}
          </div>
        </div>
        {error && <div className="banner error" data-testid="export-error">{error}</div>}
        {progress && (
          <div className="progress" data-testid="export-progress" data-phase={progress.phase}>
            <div className="bar"><div style={{ width: `${progress.phase === 'done' ? 100 : pct}%` }} /></div>
            <div>{progress.message}{progress.ratePerSecond > 0 && ` · ${progress.ratePerSecond.toFixed(0)}/s`} {formatEta(progress.etaSeconds)}</div>
          </div>
        )}
        {result && (
          <div className="report" data-testid="export-result">
            <h3>Written to {result.out}</h3>
            <table>
              <thead><tr><th>File</th><th className="num">Bytes</th><th>SHA-256</th></tr></thead>
              <tbody>
                {result.files.filter((f) => !f.path.startsWith('dicom/')).slice(0, 12).map((f) => (
                  <tr key={f.path}><td className="path">{f.path}</td><td className="num">{f.bytes}</td><td className="mono">{f.sha256.slice(0, 16)}…</td></tr>
                ))}
              </tbody>
            </table>
            {result.files.length > 12 && <p className="hint">… and {result.files.length - 12} more files; all listed in manifest.json and SHA256SUMS.</p>}
            {result.srSent && <p className={result.srSent.error ? 'banner error' : 'hint'}>{result.srSent.error || `Sent ${result.srSent.files} SR(s) to ${result.srSent.folder}`}</p>}
            {result.failures.map((f) => <div key={f.item} className="banner error">{f.item}: {f.reason}</div>)}
          </div>
        )}
        <details className="import-labels">
          <summary>Import labels from an export or SRs</summary>
          <div className="row">
            <input value={importPath} onChange={(e) => setImportPath(e.target.value)} placeholder="/path/to/labels.csv, labels.jsonl or an SR folder" data-testid="import-labels-path" />
            {api.nativePickFile && <button type="button" onClick={() => void api.nativePickFile!('Choose labels.csv, labels.jsonl or an SR file').then((p) => { if (p) setImportPath(p); })}>Choose file…</button>}
            <BrowseButton value={importPath} title="Choose an SR folder or an export folder" onChange={setImportPath} />
            <label><input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite(e.target.checked)} /> replace different labels</label>
            <button onClick={importLabels} disabled={!importPath.trim()} data-testid="import-labels-start">Import</button>
          </div>
          {imported && (
            <div className="hint" data-testid="import-labels-result">
              {imported.rows} entries: imported {imported.imported}, unchanged {imported.unchanged}, conflicts {imported.conflicts} (kept), errors {imported.errors.length}
              {imported.reidentified && ' · mapped back through this project\'s de-identification key'}
              {imported.errors.slice(0, 20).map((e) => <div key={e.where} className="banner error">{e.where}: {e.reason}</div>)}
            </div>
          )}
        </details>
        <div className="row end"><button onClick={onClose} disabled={running}>Close</button></div>
      </div>
    </div>
  );
}
