// The ROC figure reader studies publish, drawn as a standalone SVG document: the model's one-vs-rest ROC curves
// for one category of one sub-task (each source a line) and each reader's operating point (1 − specificity,
// sensitivity). One string serves the screen and the SVG/PNG exports.
import type { StudyComparison } from '../../../../shared/reader-compare.ts';

type Level = StudyComparison['levels'][number];

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const COLOURS = ['#4ea1ff', '#f0b44c', '#7bd88f', '#ff6b6b', '#c792ea', '#89ddff', '#ffcb6b', '#f78c6c'];
const f2 = (v: number | null): string => (v === null ? '—' : v.toFixed(2));

export function rocSvg(level: Level, category: string, title: string, categoryName: string): string {
  const W = 780, H = 460, L = 56, T = 40, S = 360; // plot square of S px at (L, T)
  const x = (fpr: number): number => L + fpr * S;
  const y = (tpr: number): number => T + (1 - tpr) * S;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${L}" y="22" font-size="14" font-weight="600" fill="#111">${esc(title)}</text>`);
  for (let t = 0; t <= 10; t++) {
    const v = t / 10;
    parts.push(`<line x1="${x(v)}" y1="${T}" x2="${x(v)}" y2="${T + S}" stroke="#e6e6e6"/><line x1="${L}" y1="${y(v)}" x2="${L + S}" y2="${y(v)}" stroke="#e6e6e6"/>`);
    if (t % 2 === 0) {
      parts.push(`<text x="${x(v)}" y="${T + S + 16}" text-anchor="middle" fill="#333">${v.toFixed(1)}</text>`);
      parts.push(`<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end" fill="#333">${v.toFixed(1)}</text>`);
    }
  }
  parts.push(`<rect x="${L}" y="${T}" width="${S}" height="${S}" fill="none" stroke="#333"/>`);
  parts.push(`<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#999" stroke-dasharray="4 4"/>`);
  parts.push(`<text x="${L + S / 2}" y="${T + S + 34}" text-anchor="middle" fill="#111">1 − specificity (false positive rate)</text>`);
  parts.push(`<text transform="translate(16 ${T + S / 2}) rotate(-90)" text-anchor="middle" fill="#111">sensitivity (true positive rate)</text>`);
  const legend: string[] = [];
  const curves = level.roc.filter((r) => r.category === category);
  curves.forEach((c, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const d = c.fpr.map((v, j) => `${j === 0 ? 'M' : 'L'}${x(v).toFixed(2)},${y(c.tpr[j]!).toFixed(2)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"${i > 0 ? ' stroke-dasharray="7 3"' : ''} data-rater="${esc(c.rater)}"/>`);
    legend.push(`<line x1="0" y1="0" x2="22" y2="0" stroke="${colour}" stroke-width="2"${i > 0 ? ' stroke-dasharray="7 3"' : ''}/><text x="28" y="4" fill="#111">${esc(c.rater)} (AUC ${f2(c.auc)})</text>`);
  });
  const readers = level.raters.filter((r) => r.kind === 'reader');
  readers.forEach((r, i) => {
    const k = r.classes.find((c) => c.category === category);
    if (!k || k.sensitivity.value === null || k.specificity.value === null) return;
    const colour = COLOURS[(curves.length + i) % COLOURS.length]!;
    const px = x(1 - k.specificity.value), py = y(k.sensitivity.value);
    parts.push(`<circle cx="${px.toFixed(2)}" cy="${py.toFixed(2)}" r="6" fill="${colour}" stroke="#111" data-reader="${esc(r.name)}"/>`);
    legend.push(`<circle cx="11" cy="0" r="6" fill="${colour}" stroke="#111"/><text x="28" y="4" fill="#111">${esc(r.name)} (sens ${f2(k.sensitivity.value)}, spec ${f2(k.specificity.value)})</text>`);
  });
  parts.push(`<text x="${L + S + 14}" y="${T + 4}" font-weight="600" fill="#111">${esc(categoryName)} vs rest</text>`);
  legend.forEach((l, i) => parts.push(`<g transform="translate(${L + S + 14} ${T + 24 + i * 20})">${l}</g>`));
  parts.push('</svg>');
  return parts.join('');
}
