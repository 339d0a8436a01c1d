// The installed model packages: the built-in one and every package folder under Lightbox's home (models/), each
// verified by the package loader; adding one copies a verified package there, and choosing one makes it the
// project's active model (kept in the project, see EmbedService.activeModel).
import fs from 'node:fs';
import path from 'node:path';
import type { InstalledModel } from '../../shared/model-contract.ts';
import { LightboxError } from '../../shared/contract.ts';
import type { EmbedService } from './embed-service.ts';
import type { ModelPackage } from './model-package.ts';
import { MANIFEST_FILE, loadModelPackage } from './model-package.ts';

/** Folders under models/ that are not installed packages: the built-in encoder's (listed as 'builtin') and temporaries. */
const isPackageFolder = (name: string): boolean => !name.startsWith('.') && !name.startsWith('builtin-');

/** A folder name for a package: its name and version, with anything outside [A-Za-z0-9._-] replaced. */
export function installFolderName(pkg: ModelPackage): string {
  const slug = `${pkg.manifest.name}-${pkg.manifest.version}`.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '').slice(0, 200);
  return isPackageFolder(slug) && slug ? slug : `model-${slug}`;
}

export class ModelCatalog {
  private readonly embeddings: EmbedService;
  private readonly modelsDir: string;
  private readonly onActiveChanged: () => void;

  constructor(embeddings: EmbedService, home: string, onActiveChanged: () => void) {
    this.embeddings = embeddings;
    this.modelsDir = path.join(home, 'models');
    this.onActiveChanged = onActiveChanged;
  }

  private entry(id: string, pkg: ModelPackage): InstalledModel {
    const m = pkg.manifest;
    const row = this.embeddings.repo.model(pkg.sha256);
    const session = this.embeddings.session();
    const own = session?.sha256 === pkg.sha256 ? session : null;
    return {
      id, name: m.name, version: m.version, licence: m.licence, description: m.description, dim: m.imageEncoder.output.dim,
      textEncoder: !!pkg.text, zeroShotHead: !!pkg.zeroShot, dir: pkg.dir, sha256: pkg.sha256,
      active: this.isActive(id, pkg.dir),
      embedded: row ? this.embeddings.repo.embeddedImages(row.id) : 0,
      provider: own?.provider ?? null, providerFallback: own?.fallbackNote ?? '', error: '',
    };
  }

  private isActive(id: string, dir: string): boolean {
    const active = this.embeddings.activeModel();
    return active === 'builtin' ? id === 'builtin' : path.resolve(active) === path.resolve(dir);
  }

  private broken(id: string, dir: string, e: unknown): InstalledModel {
    return {
      id, name: id, version: '', licence: '', description: '', dim: 0, textEncoder: false, zeroShotHead: false, dir, sha256: '',
      active: this.isActive(id, dir), embedded: 0, provider: null, providerFallback: '', error: e instanceof Error ? e.message : String(e),
    };
  }

  /** A package folder as listed: verified, or with the reason it fails verification. */
  private async listed(id: string, dir: string): Promise<InstalledModel> {
    try {
      return this.entry(id, await this.embeddings.resolveModel(dir));
    } catch (e) {
      return this.broken(id, dir, e);
    }
  }

  private installedFolders(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.modelsDir, { withFileTypes: true }).filter((d) => d.isDirectory() && isPackageFolder(d.name)).map((d) => d.name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names.sort();
  }

  /** The built-in package first, then the installed ones by folder name; a package failing verification says why. */
  async list(): Promise<{ active: string; models: InstalledModel[] }> {
    const models: InstalledModel[] = [this.entry('builtin', await this.embeddings.resolveModel('builtin'))];
    for (const name of this.installedFolders()) models.push(await this.listed(name, path.join(this.modelsDir, name)));
    const active = this.embeddings.activeModel();
    // A package the project uses from elsewhere (`lightbox embed --model /some/folder`) is listed too.
    if (active !== 'builtin' && !models.some((m) => m.active)) models.push(await this.listed(path.resolve(active), path.resolve(active)));
    return { active: this.activeId(active), models };
  }

  private activeId(active: string): string {
    if (active === 'builtin') return 'builtin';
    const rel = path.relative(this.modelsDir, path.resolve(active));
    return rel && !rel.includes(path.sep) && !rel.startsWith('..') ? rel : path.resolve(active);
  }

  /**
   * Verifies the package in `folder` (the loader's errors name the field or file) and copies its manifest and listed
   * files into models/<name>-<version>, verifying the copy before it appears there.
   */
  async add(folder: string): Promise<{ model: InstalledModel; alreadyInstalled: boolean }> {
    const src = path.resolve(folder);
    if (!fs.existsSync(src) || !fs.statSync(src).isDirectory()) {
      throw new LightboxError('bad-request', `models.add: ${src} is not a folder; choose the folder holding the package's ${MANIFEST_FILE}`);
    }
    const pkg = loadModelPackage(src);
    const name = installFolderName(pkg);
    const target = path.join(this.modelsDir, name);
    if (path.resolve(path.dirname(src)) === this.modelsDir) return { model: this.entry(path.basename(src), pkg), alreadyInstalled: true };
    if (fs.existsSync(target)) {
      let there: ModelPackage | null = null;
      try { there = loadModelPackage(target); } catch { /* a damaged copy: replaced below */ }
      if (there && there.sha256 === pkg.sha256 && JSON.stringify(there.manifest.files) === JSON.stringify(pkg.manifest.files)) {
        return { model: this.entry(name, await this.embeddings.resolveModel(target)), alreadyInstalled: true };
      }
      if (there) {
        throw new LightboxError('bad-request', `models.add: ${pkg.manifest.name} ${pkg.manifest.version} is already installed at ${target} with other files; give the new package another "version" in its ${MANIFEST_FILE}, or remove ${target} first`);
      }
    }
    fs.mkdirSync(this.modelsDir, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(this.modelsDir, '.add-'));
    try {
      for (const f of [MANIFEST_FILE, ...Object.keys(pkg.manifest.files)]) fs.copyFileSync(path.join(src, f), path.join(tmp, f));
      loadModelPackage(tmp); // the copy, checked again: a file that changed while copying is not installed
      fs.rmSync(target, { recursive: true, force: true });
      fs.renameSync(tmp, target);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e instanceof LightboxError ? new LightboxError(e.code, `models.add: copying ${src} to ${target} failed: ${e.message}`) : e;
    }
    return { model: this.entry(name, await this.embeddings.resolveModel(target)), alreadyInstalled: false };
  }

  /** Makes an installed package (by its id in the list) the project's active model. */
  async setActive(id: string): Promise<{ active: string; model: InstalledModel }> {
    const model = id === 'builtin' ? 'builtin' : path.join(this.modelsDir, id);
    if (model !== 'builtin' && !fs.existsSync(path.join(model, MANIFEST_FILE))) {
      throw new LightboxError('not-found', `models.setActive: no installed package "${id}" in ${this.modelsDir}; models.list shows the installed ones, models.add installs one from a folder`);
    }
    const before = this.embeddings.activeModel();
    const pkg = await this.embeddings.setActiveModel(model);
    if (before !== model) this.onActiveChanged();
    return { active: id, model: this.entry(id, pkg) };
  }
}
