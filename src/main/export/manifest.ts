// What an export says about itself: manifest.json (format, options, schema, columns, counts, splits, models,
// de-identification, sources, failures, and every file with its size and SHA-256) and SHA256SUMS for sha256sum -c.
import crypto from 'node:crypto';
import type { ExportOptions, ExportPreview } from '../../shared/contract.ts';
import type { LabelSchema } from '../../shared/label-schema.ts';
import { APP } from '../../shared/version.ts';
import { DEID_CODES, DEID_METHOD } from './deidentify.ts';
import { COLUMNS } from './export-rows.ts';
import type { Collected } from './export-rows.ts';

export const EXPORT_FORMAT = 'lightbox-export/1';

export interface HashedFile { path: string; bytes: number; sha256: string }

export const sha256 = (data: Buffer): string => crypto.createHash('sha256').update(data).digest('hex');

export interface ManifestContext {
  collected: Collected;
  options: ExportOptions;
  summary: ExportPreview;
  schema: LabelSchema;
  projectName: string;
  exportedBy: string;
  now: string;
}

export function buildManifest(x: ManifestContext, files: HashedFile[]): Record<string, unknown> {
  const { collected: c, options: o, summary: s, schema } = x;
  const models = new Map<string, { name: string; version: string; sha256: string; rows: number }>();
  for (const { source: r } of c.rows) {
    if (!r.modelSha256) continue;
    const m = models.get(r.modelSha256) ?? { ...(c.models.get(r.modelSha256) ?? { name: '', version: '' }), sha256: r.modelSha256, rows: 0 };
    m.rows++;
    models.set(r.modelSha256, m);
  }
  const roots = new Map<string, number>();
  if (!c.pz) for (const { meta } of c.rows) roots.set(meta.root, (roots.get(meta.root) ?? 0) + 1);
  return {
    format: EXPORT_FORMAT,
    app: APP,
    project: { name: c.pz ? '' : x.projectName },
    exportedAt: x.now,
    exportedBy: x.exportedBy,
    options: { ...o, srFolder: o.srFolder ? '(set)' : '' },
    schema: { ...schema, groups: schema.groups.filter((g) => !o.groups.length || o.groups.includes(g.key)) },
    columns: COLUMNS.map(([name, description]) => ({ name, description })),
    counts: { rows: s.rows, items: s.items, patients: s.patients, studies: s.studies, balance: s.balance },
    splits: o.split.length || o.folds ? {
      seed: o.seed, percentages: o.split, folds: o.folds, stratifiedBy: c.stratifiedBy,
      groupedBy: 'patient', parts: s.splits,
    } : null,
    models: [...models.values()],
    deidentification: c.pz ? {
      method: DEID_METHOD,
      codes: DEID_CODES,
      notes: 'UIDs replaced consistently (HMAC of a project secret, 2.25 root); patient IDs and names replaced by pseudonyms; dates shifted per patient; birth date, sex, accession number, study ID, notes and source paths left out. The key stays in the project.',
    } : null,
    sources: [...roots].map(([root, rows]) => ({ root, rows })),
    failures: c.failures,
    warnings: s.warnings,
    files,
  };
}

/** The SHA256SUMS text: every file, then the manifest. */
export function sha256Sums(files: readonly { path: string; sha256: string }[]): string {
  return `${files.map((f) => `${f.sha256}  ${f.path}`).join('\n')}\n`;
}
