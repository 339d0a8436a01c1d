// The list of recently opened projects, kept in the Lightbox home folder beside the profile.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RecentProject } from '../../shared/contract.ts';

export function lightboxHome(): string {
  return process.env.LIGHTBOX_HOME ?? path.join(os.homedir(), '.lightbox');
}

function recentFile(): string {
  return path.join(lightboxHome(), 'recent.json');
}

/** The recent projects whose folder still holds a project. */
export function existingRecentProjects(): RecentProject[] {
  return recentProjects().filter((r) => fs.existsSync(path.join(r.dir, 'lightbox.db')));
}

export function recentProjects(): RecentProject[] {
  try {
    const list: unknown = JSON.parse(fs.readFileSync(recentFile(), 'utf8'));
    if (!Array.isArray(list)) return [];
    return list.filter((r): r is RecentProject =>
      typeof r === 'object' && r !== null && typeof r.dir === 'string' && typeof r.name === 'string' && typeof r.openedAt === 'string');
  } catch {
    return [];
  }
}

export function rememberProject(dir: string, name: string): void {
  const list = [{ dir, name, openedAt: new Date().toISOString() }, ...recentProjects().filter((r) => r.dir !== dir)].slice(0, 20);
  try {
    fs.mkdirSync(path.dirname(recentFile()), { recursive: true });
    fs.writeFileSync(recentFile(), JSON.stringify(list, null, 2));
  } catch { /* the recent list is a convenience; never fail opening a project over it */ }
}
