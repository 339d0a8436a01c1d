// Agreement between the readers of an unblinded study, per level of the group's hierarchy: Fleiss' κ and
// Krippendorff's α with bootstrap 95 % CIs, Cohen's κ per reader pair (and weighted), each pair's confusion matrix,
// and each reader against themselves on the repeats.
import { useEffect, useState } from 'react';
import type { StudyAgreement } from '../../../../shared/contract.ts';
import { api } from '../../api/client.ts';
import { labelName, useStudyGroup } from './use-study-group.ts';

type Level = StudyAgreement['levels'][number];
type StatCI = Level['alpha'];

const f = (v: number | null): string => (v === null ? '—' : v.toFixed(2));
export function WithCI({ s, testid }: { s: StatCI; testid?: string }) {
  return (
    <span data-testid={testid} data-value={s.value ?? ''} title={s.note ?? `n = ${s.n}; 95 % bootstrap CI from ${s.ci.valid} of ${s.ci.resamples} resamples (seed ${s.ci.seed})`}>
      <b>{f(s.value)}</b> <span className="dim">[{f(s.ci.low)}, {f(s.ci.high)}]</span>{s.note ? <span className="warn" title={s.note}> *</span> : null}
    </span>
  );
}

function levelTitle(level: string, name: (k: string) => string): string {
  if (level === 'label') return 'Most specific label';
  if (level === 'top') return 'Top of the hierarchy';
  if (level.startsWith('under:')) return `Subtypes among “${name(level.slice(6))}”`;
  return level;
}

export function AgreementView({ studyId, onClose }: { studyId: number; onClose: () => void }) {
  const { study, group } = useStudyGroup(studyId);
  const [a, setA] = useState<StudyAgreement | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.call('reading.agreement', { study: studyId, resamples: 1000, seed: 1 }).then(setA, (e: Error) => setError(e.message));
  }, [studyId]);
  const name = (k: string): string => labelName(group, k).split(' › ').pop() ?? k;

  return (
    <div className="readers-page" data-testid="agreement">
      <div className="row">
        <button onClick={onClose}>← Studies</button>
        <h2>Agreement · {study?.name ?? '…'}</h2>
        {a && <span className="dim">{a.items} items, group {a.group}; 95 % bootstrap CIs (1000 resamples of items)</span>}
      </div>
      {error && <div className="banner error" data-testid="agreement-error">{error}</div>}
      {!a && !error && <div className="dim">Computing…</div>}
      {a?.levels.map((l) => (
        <section key={l.level} className="readers-block agreement-level" data-testid="agreement-level" data-level={l.level}>
          <h3>{levelTitle(l.level, name)} <span className="dim">({l.categories.map(name).join(' / ')})</span></h3>
          <div className="row">
            <span>Fleiss' κ <WithCI s={l.fleiss} testid="fleiss-kappa" /> <span className="dim">n={l.fleiss.n}</span></span>
            <span>Krippendorff's α <WithCI s={l.alpha} testid="krippendorff-alpha" /> <span className="dim">n={l.alpha.n}</span></span>
          </div>
          <table className="grid agreement-pairs">
            <thead><tr><th className="static">Readers</th><th className="static">Agreement</th><th className="static">Cohen's κ</th><th className="static">κ linear</th><th className="static">κ quadratic</th><th className="static">n</th><th className="static">Confusion (rows: first reader)</th></tr></thead>
            <tbody>
              {l.pairs.map((p) => (
                <tr key={`${p.a}/${p.b}`} data-testid="agreement-pair" data-pair={`${p.a}/${p.b}`}>
                  <td>{p.a} vs {p.b}</td>
                  <td><WithCI s={p.percent} /></td>
                  <td><WithCI s={p.kappa} testid="cohen-kappa" /></td>
                  <td><WithCI s={p.kappaLinear} /></td>
                  <td><WithCI s={p.kappaQuadratic} /></td>
                  <td className="num">{p.kappa.n}</td>
                  <td>
                    <table className="confusion" data-testid="confusion">
                      <thead><tr><th />{l.categories.map((c) => <th key={c} title={`${p.b}: ${name(c)}`}>{name(c).slice(0, 10)}</th>)}</tr></thead>
                      <tbody>
                        {p.confusion.map((row, i) => (
                          <tr key={i}><th title={`${p.a}: ${name(l.categories[i]!)}`}>{name(l.categories[i]!).slice(0, 10)}</th>
                            {row.map((v, j) => <td key={j} className={`num${i === j ? ' diag' : ''}${v === 0 ? ' dim' : ''}`}>{v}</td>)}</tr>
                        ))}
                      </tbody>
                    </table>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {l.intra.some((r) => r.percent.n > 0) && (
            <table className="grid agreement-intra">
              <thead><tr><th className="static">Reader vs themselves</th><th className="static">Agreement</th><th className="static">κ</th><th className="static">repeats</th></tr></thead>
              <tbody>
                {l.intra.filter((r) => r.percent.n > 0).map((r) => (
                  <tr key={r.reader} data-testid="agreement-intra" data-reader={r.reader}><td>{r.reader}</td><td><WithCI s={r.percent} /></td><td><WithCI s={r.kappa} /></td><td className="num">{r.percent.n}</td></tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      ))}
    </div>
  );
}
