// `npm start` (scripts/start.mjs) starts a server in a child process; stopping it with SIGTERM or Ctrl-C must
// stop that server too, or it keeps the port and the project's database open behind the user's back.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProjectStore } from '../../src/main/project/project-store.ts';
import { tempDir } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

const alive = (pid: number): boolean => {
  try { process.kill(pid, 0); return true; } catch { return false; }
};

const portOpen = (port: number): Promise<boolean> => new Promise((resolve) => {
  const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
  s.on('error', () => resolve(false));
});

/** The pids whose parent is `pid` (Linux /proc), so the test can see what start.mjs spawned. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(e));
    } catch { /* the process ended while we read */ }
  }
  return out;
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.runIf(process.platform === 'linux')('npm start', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`stops the server it started on ${signal}`, async () => {
      const home = tempDir();
      const project = tempDir();
      ProjectStore.open(project, { create: true }).close();
      // --browser is start.mjs's own flag; the server must not see it.
      const child = spawn(process.execPath, [path.join(ROOT, 'scripts/start.mjs'), '--browser', '--project', project], {
        cwd: ROOT, env: { ...process.env, LIGHTBOX_HOME: home, DISPLAY: '', WAYLAND_DISPLAY: '' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => { out += String(c); });
      child.stderr.on('data', (c: Buffer) => { out += String(c); });
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const port = await until('the URL line', () => {
        if (child.exitCode !== null) throw new Error(`start.mjs exited early:\n${out}`);
        const m = /http:\/\/127\.0\.0\.1:(\d+)\/\?token=/.exec(out);
        return m ? Number(m[1]) : undefined;
      });
      expect(out).toContain(`serving ${project}`);
      const server = childrenOf(child.pid!);
      expect(server.length).toBe(1);
      expect(await portOpen(port)).toBe(true);

      child.kill(signal);
      expect(await exited).toBe(0);
      await until('the server to exit', () => (server.every((p) => !alive(p)) ? true : undefined), 10_000);
      expect(await portOpen(port)).toBe(false);
    }, 90_000);
  }
});
