// Panels of the labelling view: the per-study history (the audit trail), progress and quality (counts per label
// and status, agreement with suggestions, the learning curve), and the keyboard help.
import { useEffect, useState } from 'react';
import { MIN_VALIDATION_LABELS } from '../../../../shared/contract.ts';
import type { LabelEvent, LabelSchema, LabelStats } from '../../../../shared/contract.ts';
import { keyHint } from '../../../../shared/keymap.ts';
import { RESERVED_KEYS } from '../../../../shared/label-schema.ts';
import { api } from '../../api/client.ts';
import { KeyHelp } from '../../keyboard/KeyHelp.tsx';

/** An event as the reader would say it: "Finding: Normal → Cardiomegaly". */
export function describeEvent(e: LabelEvent, schema: LabelSchema | null): string {
  const g = schema?.groups.find((x) => x.key === e.group);
  const name = (k: string): string => g?.labels.find((l) => l.key === k)?.name ?? k;
  const v = (x: unknown): string => (x === null ? '(none)' : Array.isArray(x) ? (x.length ? x.map((k) => name(String(k))).join(', ') : 'none of these') : typeof x === 'boolean' ? (x ? 'flagged' : 'not flagged') : `"${String(x)}"`);
  return `${g?.name ?? (e.field === 'note' ? 'Note' : 'Flag')}: ${v(e.previous)} → ${v(e.value)}`;
}

export function HistoryPanel({ studyId, refresh, schema }: { studyId: number; refresh: string; schema: LabelSchema | null }) {
  const [events, setEvents] = useState<LabelEvent[] | null>(null);
  useEffect(() => {
    api.call('labels.history', { studyId }).then(setEvents, () => setEvents([]));
  }, [studyId, refresh]);
  return (
    <div className="history" data-testid="history">
      <h4>History of this study</h4>
      {events?.length === 0 && <div className="dim">No label events yet.</div>}
      <ol>
        {events?.slice().reverse().map((e) => (
          <li key={e.id} data-testid="history-event" data-action={e.action}>
            <div><strong>{e.action}</strong> {describeEvent(e, schema)}</div>
            <div className="dim">
              #{e.id} · {new Date(e.at).toLocaleString()} · {e.annotator} · {e.source}
              {e.suggested && ` · suggested ${e.suggested} (${e.suggestionSource} ${e.score?.toFixed(2) ?? ''}, model ${e.modelSha256.slice(0, 8)})`}
              {e.blinded && ' · blinded'}{e.reverts !== null && ` · reverts #${e.reverts}`}
            </div>
          </li>
        ))}
      </ol>
    </div>
  );
}

/** Accuracy against number of labels, one line per source: an SVG, no chart library needed for three lines. */
function Curve({ points }: { points: LabelStats['groups'][number]['curve'] }) {
  if (points.length === 0) return <div className="dim">The learning curve appears after the first labels are validated.</div>;
  const w = 360;
  const h = 140;
  const maxX = Math.max(...points.map((p) => p.labels), 10);
  const x = (n: number): number => 36 + (n / maxX) * (w - 46);
  const y = (a: number): number => h - 20 - a * (h - 30);
  const line = (key: 'adapter' | 'zeroShot' | 'knn'): string => points.filter((p) => p[key] !== null).map((p) => `${x(p.labels)},${y(p[key]!)}`).join(' ');
  return (
    <svg width={w} height={h} className="curve" data-testid="learning-curve" role="img" aria-label="Cross-validated accuracy against the number of labels">
      <line x1={36} y1={y(0)} x2={w - 10} y2={y(0)} stroke="#444" />
      <line x1={36} y1={y(1)} x2={36} y2={y(0)} stroke="#444" />
      {[0, 0.5, 1].map((a) => <text key={a} x={14} y={y(a) + 4} fill="#8a94a0" fontSize="10">{a.toFixed(1)}</text>)}
      <text x={x(0) - 2} y={h - 6} fill="#8a94a0" fontSize="10">0</text>
      <text x={w - 60} y={h - 6} fill="#8a94a0" fontSize="10">{maxX} labels</text>
      <text x={(w - 40) / 2} y={h - 6} fill="#8a94a0" fontSize="10" data-testid="curve-x-axis">labels (accepted)</text>
      <text x={10} y={(h - 20) / 2} fill="#8a94a0" fontSize="10" transform={`rotate(-90 10 ${(h - 20) / 2})`} data-testid="curve-y-axis">CV accuracy</text>
      <polyline points={line('adapter')} fill="none" stroke="#4ea1ff" strokeWidth="2" />
      <polyline points={line('zeroShot')} fill="none" stroke="#f0b44c" strokeWidth="2" />
      <polyline points={line('knn')} fill="none" stroke="#7bd88f" strokeWidth="1.5" strokeDasharray="4 3" />
      {(['adapter', 'zeroShot', 'knn'] as const).flatMap((k) => points.filter((p) => p[k] !== null).map((p) => (
        <circle key={`${k}${p.labels}`} cx={x(p.labels)} cy={y(p[k]!)} r={2.5} fill={{ adapter: '#4ea1ff', zeroShot: '#f0b44c', knn: '#7bd88f' }[k]} />
      )))}
      <text x={40} y={12} fill="#4ea1ff" fontSize="10">adapter</text>
      <text x={95} y={12} fill="#f0b44c" fontSize="10">zero-shot</text>
      <text x={160} y={12} fill="#7bd88f" fontSize="10">kNN</text>
    </svg>
  );
}

/** How the current source does on held-out labels: accuracy with its interval, recall per label, confusion. */
function ValidationTable({ g }: { g: LabelStats['groups'][number] }) {
  const v = g.validation;
  if (!v) return <div className="dim" data-testid="validation-none">Accuracy, recall and the confusion matrix appear from {MIN_VALIDATION_LABELS} labels on (cross-validated: each label predicted by a model that did not see it).</div>;
  const pc = (p: number | null): string => (p === null ? '–' : `${Math.round(p * 100)} %`);
  return (
    <div className="validation" data-testid="validation">
      <div>Suggestions from <strong>{v.source}</strong>: cross-validated accuracy {pc(v.accuracy)} (95 % CI {pc(v.low)}–{pc(v.high)}) on {v.labels} labels</div>
      <table data-testid="confusion">
        <thead>
          <tr><th>Given ↓ / predicted →</th>{v.confusion.length > 0 && g.labels.map((l) => <th key={l.label}>{l.name}</th>)}<th>Recall</th><th>n</th></tr>
        </thead>
        <tbody>
          {g.labels.map((l, i) => (
            <tr key={l.label} data-testid="confusion-row" data-label={l.label}>
              <td>{l.name}</td>
              {v.confusion[i]?.map((c, j) => <td key={j} className={`num ${i === j ? 'diag' : c > 0 ? 'off' : ''}`}>{c}</td>)}
              <td className="num" data-testid="recall">{pc(v.recall[i] ?? null)}</td>
              <td className="num">{v.support[i] ?? 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function StatsPanel({ onClose }: { onClose: () => void }) {
  const [stats, setStats] = useState<LabelStats | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { api.call('labels.stats', {}).then(setStats, (e: Error) => setError(e.message)); }, []);
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal report" onClick={(e) => e.stopPropagation()} data-testid="stats-panel">
        <h2>Labelling progress and quality</h2>
        {error && <div className="banner error">{error}</div>}
        {stats && <div className="dim">{stats.events} label events · {stats.flagged} items flagged for a second opinion</div>}
        {stats?.blinded && <div className="banner" data-testid="stats-blinded">Blinded read: what the model suggests, its agreement with you and the learning curve stay hidden until you turn it off.</div>}
        {stats?.groups.map((g) => (
          <section key={g.key}>
            <h3>{g.name} <span className="dim">({g.level}) · {g.labelled} of {g.items} labelled · {g.unlabelled} to go</span></h3>
            <table>
              <thead><tr><th>Label</th><th>By hand</th><th>Accepted</th><th>Imported</th><th>Flagged</th><th>Suggested (unlabelled)</th><th>Agreement with suggestion</th></tr></thead>
              <tbody>
                {g.labels.map((l) => (
                  <tr key={l.label} data-testid="stats-row" data-label={l.label}>
                    <td>{l.name}</td><td className="num">{l.manual}</td><td className="num">{l.accepted}</td><td className="num">{l.imported}</td><td className="num">{l.flagged}</td>
                    <td className="num">{l.suggested ?? '–'}</td>
                    <td className="num">{l.agreement === null ? '–' : `${Math.round(l.agreement * 100)} % of ${l.decidedWithSuggestion}`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {!stats.blinded && <ValidationTable g={g} />}
            {!stats.blinded && <Curve points={g.curve} />}
          </section>
        ))}
        <div className="row end"><button onClick={onClose}>Close ({keyHint('labelling.close')})</button></div>
      </div>
    </div>
  );
}

/** The keys of what is on screen in the labelling view, from the keymap, then the schema's label shortcuts. */
export function HelpOverlay({ schema, onClose }: { schema: LabelSchema | null; onClose: () => void }) {
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal help" onClick={(e) => e.stopPropagation()} data-testid="help">
        <h2>Keyboard</h2>
        <div className="help-columns">
          <KeyHelp contexts={['labelling', 'viewer']} />
          {schema?.groups.map((g) => (
            <section key={g.key}>
              <h3>{g.name} <span className="dim">({g.level} labels)</span></h3>
              <table className="keys"><tbody>{g.labels.filter((l) => l.shortcut).map((l) => <tr key={l.key}><td><kbd>{l.shortcut}</kbd></td><td>{l.name}</td></tr>)}</tbody></table>
            </section>
          ))}
        </div>
        <div className="dim">Keys reserved by the labelling view: {RESERVED_KEYS.join(' ')}</div>
        <div className="row end"><button onClick={onClose}>Close ({keyHint('labelling.close')})</button></div>
      </div>
    </div>
  );
}
