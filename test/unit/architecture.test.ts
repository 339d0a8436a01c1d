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
  it('main services never import electron (only src/main/electron does)', () => {
    for (const f of files(path.join(SRC, 'main')).filter((x) => !x.includes(`${path.sep}electron${path.sep}`))) {
      for (const i of imports(f)) expect(i === 'electron' || i.includes('/electron/'), `${f} imports ${i}`).toBe(false);
    }
  });
});
