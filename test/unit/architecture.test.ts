// The process boundaries are rules, checked here: shared imports nothing runtime-specific, the renderer never
// imports main, and only src/main/electron and src/preload import electron.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');
function files(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && /\.(ts|tsx)$/.test(d.name))
    .map((d) => path.join(d.parentPath, d.name));
}
function imports(file: string): string[] {
  const src = fs.readFileSync(file, 'utf8');
  return [...src.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? m[2]!);
}

describe('architecture rules', () => {
  it('src/shared imports only zod and itself', () => {
    for (const f of files(path.join(SRC, 'shared'))) {
      for (const i of imports(f)) expect(i === 'zod' || (i.startsWith('./') && !i.includes('..')), `${f} imports ${i}`).toBe(true);
    }
  });
  it('the renderer never imports main, node: modules or electron', () => {
    for (const f of files(path.join(SRC, 'renderer'))) {
      for (const i of imports(f)) {
        expect(i.includes('/main/') || i.startsWith('node:') || i === 'electron', `${f} imports ${i}`).toBe(false);
      }
    }
  });
  it('an area with an index.ts is reached from other areas only through it', () => {
    const main = path.join(SRC, 'main');
    const areas = fs.readdirSync(main, { withFileTypes: true }).filter((d) => d.isDirectory() && fs.existsSync(path.join(main, d.name, 'index.ts'))).map((d) => d.name);
    expect(areas).toContain('labels');
    for (const f of files(main)) {
      const from = path.relative(main, f).split(path.sep)[0];
      for (const i of imports(f).filter((x) => x.startsWith('.'))) {
        const target = path.relative(main, path.resolve(path.dirname(f), i)).split(path.sep);
        if (target[0] === from || !areas.includes(target[0]!)) continue;
        expect(target.slice(1).join('/'), `${f} imports ${i}; import from ${target[0]}/index.ts instead`).toBe('index.ts');
      }
    }
  });
  it('main services never import electron (only src/main/electron does)', () => {
    for (const f of files(path.join(SRC, 'main')).filter((x) => !x.includes(`${path.sep}electron${path.sep}`))) {
      for (const i of imports(f)) expect(i === 'electron' || i.includes('/electron/'), `${f} imports ${i}`).toBe(false);
    }
  });
  it('only the CLI entry imports the CLI (the Electron shell and hosts share the demo bootstrap instead)', () => {
    for (const f of files(path.join(SRC, 'main')).filter((x) => !x.includes(`${path.sep}cli${path.sep}`))) {
      for (const i of imports(f)) expect(i.includes('/cli/'), `${f} imports ${i}`).toBe(false);
    }
  });
  it('each layer is type-checked with only its own environment', () => {
    const config = (name: string): { extends?: string; include: string[]; compilerOptions?: { lib?: string[]; types?: string[] } } =>
      JSON.parse(fs.readFileSync(path.join(SRC, '..', name), 'utf8'));
    const base = config('tsconfig.base.json').compilerOptions!;
    const env = (name: string): { lib: string[]; types: string[] } => {
      const c = config(name);
      expect(c.extends, name).toBe('./tsconfig.base.json');
      return { lib: c.compilerOptions?.lib ?? base.lib!, types: c.compilerOptions?.types ?? base.types! };
    };
    expect(env('tsconfig.shared.json')).toEqual({ lib: ['ES2023'], types: [] });
    expect(env('tsconfig.main.json')).toEqual({ lib: ['ES2023'], types: ['node'] });
    expect(env('tsconfig.renderer.json')).toEqual({ lib: ['ES2023', 'DOM', 'DOM.Iterable'], types: [] });
    const scripts = JSON.parse(fs.readFileSync(path.join(SRC, '..', 'package.json'), 'utf8')).scripts as Record<string, string>;
    for (const layer of ['shared', 'main', 'renderer']) expect(scripts.typecheck, layer).toContain(`-p tsconfig.${layer}.json`);
  });
});
