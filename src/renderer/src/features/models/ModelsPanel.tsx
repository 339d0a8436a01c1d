// Models: the installed packages (name, version, licence, dimension, text encoder, provider), adding one from a
// folder (the package loader's error shown as it comes), choosing the project's active model, and how each embedded
// model does on the project's labels (adapter k-fold accuracy and zero-shot accuracy per label group).
import { useCallback, useEffect, useState } from 'react';
import type { CallResult } from '../../../../shared/contract.ts';
import type { Accuracy } from '../../../../shared/model-contract.ts';
import { api } from '../../api/client.ts';
import { BrowseButton } from '../../components/FolderBrowser.tsx';

const pct = (a: Accuracy | null): string => (a ? `${(a.accuracy * 100).toFixed(0)} % (${(a.low * 100).toFixed(0)}–${(a.high * 100).toFixed(0)}, n ${a.n})` : '—');

export function ModelsPanel({ onClose }: { onClose: () => void }) {
  const [list, setList] = useState<CallResult<'models.list'> | null>(null);
  const [compare, setCompare] = useState<CallResult<'models.compare'> | null>(null);
  const [folder, setFolder] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const refresh = useCallback(() => {
    api.call('models.list', {}).then(setList, (e: Error) => setError(e.message));
    api.call('models.compare', {}).then(setCompare, (e: Error) => setError(e.message));
  }, []);
  useEffect(refresh, [refresh]);
  const add = (): void => {
    setBusy(true);
    setError(null);
    api.call('models.add', { folder: folder.trim() }).then(() => { setBusy(false); setFolder(''); refresh(); }, (e: Error) => { setBusy(false); setError(e.message); });
  };
  const use = (id: string): void => {
    setError(null);
    api.call('models.setActive', { id }).then(refresh, (e: Error) => setError(e.message));
  };
  return (
    <div className="modal-backdrop" role="dialog" aria-label="Models">
      <div className="modal models" data-testid="models-panel">
        <h2><span className="grow">Models</span><button className="link" onClick={onClose} title="Close" data-testid="models-close">×</button></h2>
        <table className="models-list">
          <thead><tr><th>Model</th><th>Version</th><th>Licence</th><th>Dim</th><th>Text encoder</th><th>Provider</th><th>Embedded</th><th /></tr></thead>
          <tbody>
            {list?.models.map((m) => (
              <tr key={m.id} data-testid="model-row" data-model-id={m.id} data-active={m.active} title={`${m.dir}\n${m.description}`}>
                <td>{m.name}{m.error && <div className="banner error">{m.error}</div>}</td>
                <td>{m.version}</td><td>{m.licence}</td><td>{m.dim || ''}</td>
                <td>{m.textEncoder ? 'yes' : 'no'}</td>
                <td title={m.providerFallback}>{m.provider ?? 'not started'}</td>
                <td>{m.embedded}</td>
                <td>{m.active ? <strong>active</strong> : !m.error && <button onClick={() => use(m.id)} data-testid="model-use">Use</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="row">
          <input value={folder} onChange={(e) => setFolder(e.target.value)} placeholder="a model package folder (manifest.json, image_encoder.onnx)" aria-label="Package folder" data-testid="model-folder" />
          <BrowseButton value={folder} title="Choose a model package folder" onChange={setFolder} />
          <button disabled={busy || !folder.trim()} onClick={add} data-testid="model-add">{busy ? 'Checking…' : 'Add'}</button>
        </div>
        {error && <div className="banner error" data-testid="models-error">{error}</div>}
        <h3>How each model does on this project's labels</h3>
        {compare && compare.models.length === 0 && <div className="dim">No embeddings yet: run Embed first.</div>}
        {compare && compare.models.length > 0 && (
          <table className="models-compare" data-testid="models-compare">
            <thead><tr><th>Model</th>{compare.groups.map((g) => <th key={g.key} colSpan={2}>{g.name} ({g.labelled} labelled)</th>)}</tr>
              <tr><th />{compare.groups.map((g) => [<th key={`${g.key}a`}>adapter, {compare.folds}-fold</th>, <th key={`${g.key}z`}>zero-shot</th>])}</tr></thead>
            <tbody>
              {compare.models.map((m) => (
                <tr key={m.sha256} data-testid="compare-row" data-model={m.name} title={m.note}>
                  <td>{m.name} {m.version}{m.active ? ' (active)' : ''}</td>
                  {m.groups.map((g) => [
                    <td key={`${g.key}a`} data-testid="compare-adapter" data-accuracy={g.adapter?.accuracy ?? ''} title={g.notes.join('\n')}>{pct(g.adapter)}</td>,
                    <td key={`${g.key}z`} data-testid="compare-zero-shot" data-accuracy={g.zeroShot?.accuracy ?? ''} title={g.notes.join('\n')}>{pct(g.zeroShot)}{g.zeroShotSource ? ` · ${g.zeroShotSource}` : ''}</td>,
                  ])}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
