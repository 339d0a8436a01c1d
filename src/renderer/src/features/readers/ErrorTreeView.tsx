// Where the model errs, on an unblinded study's reference: the error tree (each node: its condition, items,
// errors and error rate, shaded by how far its rate is above the whole set's), the attributes ranked by mutual
// information, and a node's items to open. Exportable as JSON.
import { useEffect, useState } from 'react';
import type { ErrorAnalysis } from '../../../../shared/reader-compare.ts';
import { api } from '../../api/client.ts';
import { useStudyGroup } from './use-study-group.ts';

type Node = ErrorAnalysis['nodes'][number];

function levelsOf(keys: { key: string; parent?: string }[]): string[] {
  const out = ['label'];
  if (keys.some((l) => l.parent !== undefined)) out.push('top');
  for (const p of keys) if (keys.some((l) => l.parent === p.key)) out.push(`under:${p.key}`);
  return out;
}

function TreeNode({ e, node, chosen, choose }: { e: ErrorAnalysis; node: Node; chosen: number; choose: (id: number) => void }) {
  const overall = e.n ? e.errors / e.n : 0;
  // Red where the node errs more than the whole set, green where less.
  const above = node.errorRate - overall;
  const shade = above >= 0 ? `rgba(255, 107, 107, ${Math.min(0.85, 0.15 + above * 2)})` : `rgba(123, 216, 143, ${Math.min(0.6, 0.1 - above * 2)})`;
  const cond = node.condition ? `${node.condition.attribute} ${node.condition.equals ? '=' : '≠'} ${node.condition.value}` : 'all items';
  return (
    <div className="tree-branch">
      <button className={`tree-node${chosen === node.id ? ' active' : ''}`} style={{ background: shade }} onClick={() => choose(node.id)}
        data-testid="tree-node" data-node={node.id} data-depth={node.depth} data-n={node.n} data-errors={node.errors} title={`${node.errors} of ${node.n} items wrong; click to list them`}>
        <div className="cond">{cond}</div>
        <div><b>{(node.errorRate * 100).toFixed(1)} %</b> wrong</div>
        <div className="dim">{node.errors} / {node.n} items</div>
      </button>
      {node.children.length > 0 && (
        <div className="tree-children">
          {node.children.map((c) => <TreeNode key={c} e={e} node={e.nodes[c]!} chosen={chosen} choose={choose} />)}
        </div>
      )}
    </div>
  );
}

export function ErrorTreeView({ studyId, onClose }: { studyId: number; onClose: () => void }) {
  const { study, group } = useStudyGroup(studyId);
  const [source, setSource] = useState<'adapter' | 'zero-shot'>('adapter');
  const [level, setLevel] = useState('label');
  const [depth, setDepth] = useState(3);
  const [minLeaf, setMinLeaf] = useState(5);
  const [e, setE] = useState<ErrorAnalysis | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [chosen, setChosen] = useState(0);
  useEffect(() => {
    setE(null);
    api.call('reading.errors', { study: studyId, source, level, maxDepth: depth, minLeaf }).then((r) => { setE(r); setError(null); setChosen(0); }, (x: Error) => setError(x.message));
  }, [studyId, source, level, depth, minLeaf]);
  const node = e?.nodes[chosen] ?? null;
  const saveJson = (): void => {
    if (!e) return;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([JSON.stringify(e, null, 2)], { type: 'application/json' }));
    a.download = `reader-study-${studyId}-errors-${e.source}-${e.level.replace(':', '-')}.json`;
    document.body.appendChild(a);
    a.click();
    a.remove();
  };

  return (
    <div className="readers-page" data-testid="error-analysis">
      <div className="row">
        <button onClick={onClose}>← Studies</button>
        <h2>Where the model errs · {study?.name ?? '…'}</h2>
        <label>model <select value={source} onChange={(x) => setSource(x.target.value as 'adapter' | 'zero-shot')} data-testid="errors-source">
          <option value="adapter">adapter (out-of-fold)</option><option value="zero-shot">zero-shot</option></select></label>
        <label>sub-task <select value={level} onChange={(x) => setLevel(x.target.value)} data-testid="errors-level">
          {levelsOf(group?.labels ?? []).map((l) => <option key={l} value={l}>{l}</option>)}</select></label>
        <label>depth <input type="number" min={1} max={6} value={depth} onChange={(x) => setDepth(Math.min(6, Math.max(1, Number(x.target.value) || 3)))} style={{ width: 56, flex: 'none' }} /></label>
        <label>min leaf <input type="number" min={1} value={minLeaf} onChange={(x) => setMinLeaf(Math.max(1, Number(x.target.value) || 5))} style={{ width: 64, flex: 'none' }} data-testid="errors-min-leaf" /></label>
        <button onClick={saveJson} disabled={!e} data-testid="errors-json">JSON</button>
      </div>
      {error && <div className="banner error" data-testid="errors-error">{error}</div>}
      {!e && !error && <div className="dim">Computing…</div>}
      {e?.notes.map((n) => <div key={n} className="dim">Note: {n}</div>)}
      {e && (
        <>
          <div className="dim" data-testid="errors-summary">{e.errors} of {e.n} items wrong ({e.n ? ((100 * e.errors) / e.n).toFixed(1) : '—'} %) · {e.source} at {e.level} · reference by {e.rule}</div>
          <div className="error-tree" data-testid="error-tree"><TreeNode e={e} node={e.nodes[0]!} chosen={chosen} choose={setChosen} /></div>
          <div className="row" style={{ alignItems: 'flex-start', gap: 24 }}>
            <table className="grid" style={{ width: 'auto' }} data-testid="errors-ranking">
              <thead><tr><th className="static">Attribute</th><th className="static">Mutual information (nats)</th></tr></thead>
              <tbody>{e.ranking.map((r) => <tr key={r.attribute} data-attribute={r.attribute}><td>{r.attribute}</td><td className="num">{r.mutualInformation.toFixed(4)}</td></tr>)}</tbody>
            </table>
            {node && (
              <div data-testid="errors-items" data-node={node.id}>
                <b>{node.condition ? `${node.condition.attribute} ${node.condition.equals ? '=' : '≠'} ${node.condition.value}` : 'All items'}</b>: {node.items.length} items, {node.errors} wrong
                <div className="node-items">
                  {node.studyIds.slice(0, 200).map((id) => <a key={id} href={`#/study/${id}`} data-testid="errors-study">study {id}</a>)}
                  {node.studyIds.length > 200 && <span className="dim"> and {node.studyIds.length - 200} more</span>}
                </div>
              </div>
            )}
          </div>
        </>
      )}
    </div>
  );
}
