// Model vs readers on an unblinded study's reference standard: per sub-task of the hierarchy a table of accuracy,
// sensitivity and specificity per class (95 % CIs) for each reader and the model (out-of-fold adapter, zero-shot)
// with the model's macro AUC, and the ROC figure (the model's curves, each reader's operating point) — exportable
// as SVG, PNG, CSV and JSON.
import { useEffect, useMemo, useState } from 'react';
import { comparisonCsv } from '../../../../shared/reader-compare.ts';
import type { StudyComparison } from '../../../../shared/reader-compare.ts';
import { api } from '../../api/client.ts';
import { rocSvg } from './roc-svg.ts';
import { labelName, useStudyGroup } from './use-study-group.ts';

type Prop = StudyComparison['levels'][number]['raters'][number]['accuracy'];
const f = (v: number | null): string => (v === null ? '—' : v.toFixed(2));
const P = ({ p }: { p: Prop }) => (
  <span title={`${p.k} of ${p.n}; Wilson 95 % interval`} data-value={p.value ?? ''}><b>{f(p.value)}</b> <span className="dim">[{f(p.low)}, {f(p.high)}]</span></span>
);

function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** The SVG drawn on a canvas at twice its size, as PNG. */
async function svgToPng(svg: string): Promise<Blob> {
  const img = new Image();
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width * 2;
  canvas.height = img.height * 2;
  const ctx = canvas.getContext('2d')!;
  ctx.scale(2, 2);
  ctx.drawImage(img, 0, 0);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the figure could not be drawn as PNG'))), 'image/png'));
}

export function ComparisonView({ studyId, onClose }: { studyId: number; onClose: () => void }) {
  const { study, group } = useStudyGroup(studyId);
  const [rule, setRule] = useState<'majority' | 'unanimous'>('majority');
  const [c, setC] = useState<StudyComparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [levelKey, setLevelKey] = useState<string | null>(null);
  const [category, setCategory] = useState<string | null>(null);
  useEffect(() => {
    setC(null);
    api.call('reading.compare', { study: studyId, rule, resamples: 1000, seed: 1 }).then((r) => { setC(r); setError(null); }, (e: Error) => setError(e.message));
  }, [studyId, rule]);
  const name = (k: string): string => labelName(group, k).split(' › ').pop() ?? k;
  const level = c?.levels.find((l) => l.level === levelKey) ?? c?.levels.find((l) => l.level === 'top') ?? c?.levels[0] ?? null;
  // The figure's category: the chosen one, else (top level) the second (e.g. abnormal), else the most frequent.
  const cat = level && category && level.categories.includes(category) ? category
    : level ? (level.level === 'top' && level.categories.length === 2 ? level.categories[1]! : [...level.categories].sort((a, b) => (level.raters[0]?.classes.find((k) => k.category === b)?.positives ?? 0) - (level.raters[0]?.classes.find((k) => k.category === a)?.positives ?? 0))[0]!) : null;
  const title = level && study ? `${study.name}: ${level.level === 'label' ? 'every label' : level.level === 'top' ? 'top of the hierarchy' : `subtypes of ${name(level.level.slice(6))}`}` : '';
  const catName = cat ? name(cat) : '';
  const svg = useMemo(() => (level && cat ? rocSvg(level, cat, title, catName) : ''), [level, cat, title, catName]);
  const base = `reader-study-${studyId}-${level?.level.replace(':', '-') ?? ''}`;

  return (
    <div className="readers-page" data-testid="comparison">
      <div className="row">
        <button onClick={onClose}>← Studies</button>
        <h2>Model vs readers · {study?.name ?? '…'}</h2>
        <label className="dim">reference rule{' '}
          <select value={rule} onChange={(e) => setRule(e.target.value as 'majority' | 'unanimous')} data-testid="compare-rule">
            <option value="majority">majority</option><option value="unanimous">unanimous</option>
          </select>
        </label>
        {c && <span className="dim">{c.items} items with a reference{c.pending ? `, ${c.pending} waiting for adjudication` : ''} · model {c.model?.name ?? 'none'} · adapter {c.folds}-fold out-of-fold</span>}
      </div>
      {error && <div className="banner error" data-testid="compare-error">{error}</div>}
      {!c && !error && <div className="dim">Computing…</div>}
      {c?.notes.map((n) => <div key={n} className="dim" data-testid="compare-note">Note: {n}</div>)}
      {c && level && (
        <>
          <div className="row" role="tablist">
            {c.levels.map((l) => (
              <button key={l.level} role="tab" aria-pressed={l.level === level.level} onClick={() => { setLevelKey(l.level); setCategory(null); }} data-testid="compare-level" data-level={l.level}>
                {l.level === 'label' ? 'Every label' : l.level === 'top' ? 'Top of the hierarchy' : `Subtypes of ${name(l.level.slice(6))}`} <span className="dim">n={l.n}</span>
              </button>
            ))}
          </div>
          <table className="grid compare-table" data-testid="compare-table" data-level={level.level}>
            <thead>
              <tr><th className="static">Rater</th><th className="static">n</th><th className="static">Accuracy</th><th className="static">Macro AUC</th>
                {level.categories.map((k) => <th key={k} className="static" colSpan={2}>{name(k)} <span className="dim">sens · spec</span></th>)}</tr>
            </thead>
            <tbody>
              {level.raters.map((r) => (
                <tr key={r.name} data-testid="compare-rater" data-name={r.name} data-kind={r.kind}>
                  <td>{r.name}</td><td className="num">{r.n}</td><td><P p={r.accuracy} /></td>
                  <td>{r.macroAuc ? <span data-testid="macro-auc" data-value={r.macroAuc.value ?? ''} title={r.macroAuc.note ?? `bootstrap 95 % CI, ${r.macroAuc.valid} of ${r.macroAuc.resamples} resamples`}><b>{f(r.macroAuc.value)}</b> <span className="dim">[{f(r.macroAuc.low)}, {f(r.macroAuc.high)}]</span></span> : <span className="dim">–</span>}</td>
                  {r.classes.flatMap((k) => [<td key={`${k.category}s`}><P p={k.sensitivity} /></td>, <td key={`${k.category}p`}><P p={k.specificity} /></td>])}
                </tr>
              ))}
            </tbody>
          </table>
          <div className="row">
            <label>ROC of{' '}
              <select value={cat ?? ''} onChange={(e) => setCategory(e.target.value)} data-testid="roc-category">
                {level.categories.map((k) => <option key={k} value={k}>{name(k)} vs rest</option>)}
              </select>
            </label>
            <button onClick={() => download(`${base}-roc.svg`, new Blob([svg], { type: 'image/svg+xml' }))} data-testid="export-svg">SVG</button>
            <button onClick={() => { svgToPng(svg).then((b) => download(`${base}-roc.png`, b), (e: Error) => setError(e.message)); }} data-testid="export-png">PNG</button>
            <button onClick={() => download(`reader-study-${studyId}-compare.csv`, new Blob([comparisonCsv(c)], { type: 'text/csv' }))} data-testid="export-csv">CSV</button>
            <button onClick={() => download(`reader-study-${studyId}-compare.json`, new Blob([JSON.stringify(c, null, 2)], { type: 'application/json' }))} data-testid="export-json">JSON</button>
          </div>
          <div className="figure roc" data-testid="roc-figure" data-category={cat ?? ''} dangerouslySetInnerHTML={{ __html: svg }} />
        </>
      )}
    </div>
  );
}
