// A `lightbox serve` process on a project, driven over its HTTP API as a client on another machine would: the
// shared label store test and `npm run bench:team` start several of these, one per workstation.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the answers are read loosely, as a client would
export type Reply = { ok: boolean; result?: any; error?: { code: string; message: string } };

export interface ServeHost {
  readonly child: ChildProcess;
  call(name: string, body: unknown): Promise<Reply>;
}

/** Starts `lightbox serve --project P --port 0` and resolves once it has printed its URL and token. */
export function serve(project: string, env: NodeJS.ProcessEnv): Promise<ServeHost> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'lightbox.mjs'), 'serve', '--project', project, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.resume();
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += String(d);
      const u = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      const t = /API token: (\S+)/.exec(out);
      if (u && t) {
        resolve({
          child,
          call: async (name, body) => (await fetch(`${u[1]}/api/call/${name}`, { method: 'POST', headers: { authorization: `Bearer ${t[1]}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as never,
        });
      }
    });
    child.on('exit', (code) => reject(new Error(`serve ${project} exited ${code}: ${out}`)));
  });
}

/** Resolves once the process has exited (at once when it already has). */
export const exited = (c: ChildProcess): Promise<void> => new Promise((r) => { if (c.exitCode !== null || c.signalCode !== null) r(); else c.once('exit', () => r()); });
