// Choosing a folder where the host has no native dialog (the browser host): one folder's subfolders at a time.
// Only directories are listed, never files; the chosen path is then validated again by the call it is given to.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LightboxError } from '../../shared/contract.ts';
import type { AreaHandlers, FolderListing } from '../../shared/contract.ts';
import type { ProjectStore } from '../project/project-store.ts';

/** Enough for any real folder of studies; a folder with more subfolders is narrowed by typing a path. */
const MAX_FOLDERS = 2000;

function isDirectory(full: string, d: fs.Dirent): boolean {
  if (d.isDirectory()) return true;
  if (!d.isSymbolicLink()) return false;
  try {
    return fs.statSync(full).isDirectory();
  } catch {
    return false;
  }
}

export function listFolder(dir: string, hidden: boolean, places: FolderListing['places']): FolderListing {
  const target = dir === '' ? os.homedir() : dir;
  if (!path.isAbsolute(target)) throw new LightboxError('bad-request', `folders.list: "${target}" is not an absolute path; give a full path such as ${os.homedir()}`);
  const resolved = path.resolve(target);
  let entries: fs.Dirent[];
  try {
    if (!fs.statSync(resolved).isDirectory()) throw new LightboxError('bad-request', `folders.list: ${resolved} is not a folder`);
    entries = fs.readdirSync(resolved, { withFileTypes: true });
  } catch (e) {
    if (e instanceof LightboxError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LightboxError('not-found', `folders.list: ${resolved} does not exist`);
    if (code === 'EACCES' || code === 'EPERM') throw new LightboxError('io', `folders.list: ${resolved} cannot be read (permission denied)`);
    throw new LightboxError('io', `folders.list: ${resolved} cannot be read (${code ?? String(e)})`);
  }
  const folders = entries
    .filter((d) => (hidden || !d.name.startsWith('.')) && isDirectory(path.join(resolved, d.name), d))
    .map((d) => ({ name: d.name, path: path.join(resolved, d.name) }))
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: 'base' }));
  const parent = path.dirname(resolved);
  return { path: resolved, parent: parent === resolved ? null : parent, folders: folders.slice(0, MAX_FOLDERS), truncated: folders.length > MAX_FOLDERS, places };
}

export function folderHandlers(store: ProjectStore): AreaHandlers<'folders'> {
  return {
    'folders.list': ({ path: dir, hidden }) => {
      const places = [
        { name: 'Home', path: os.homedir() },
        { name: 'Project', path: store.dir },
        ...store.importRoots(5).map((r) => ({ name: path.basename(r) || r, path: r })),
      ].filter((p, i, all) => all.findIndex((q) => q.path === p.path) === i);
      return listFolder(dir, hidden, places);
    },
  };
}
