// `lightbox serve` in a child process, for tests and scripts whose inputs might hang or kill a host: a frozen or dead
// child shows up as a call that times out or a process that exited, and the test fails instead of hanging with it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');
export const CLI = path.join(REPO_ROOT, 'bin', 'lightbox.mjs');

export interface ServeProcess {
  url: string;
  token: string;
  port: number;
  child: ChildProcess;
  /** What the child printed on stderr so far (for failure messages). */
  stderr(): string;
  /** Whether the child is still running. */
  alive(): boolean;
  /** POSTs one call with a JSON body; rejects when no answer comes within `timeoutMs`. */
  call(name: string, input: unknown, timeoutMs?: number): Promise<{ status: number; body: { ok: boolean; result?: unknown; error?: { code: string; message: string } } }>;
  stop(): Promise<void>;
}

/** Starts `lightbox serve --project <project>` on a free port and resolves once it prints its URL and token. */
export function startServeProcess(project: string, env: NodeJS.ProcessEnv = {}, opts: { cwd?: string; startTimeoutMs?: number } = {}): Promise<ServeProcess> {
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const child = spawn(process.execPath, [CLI, 'serve', '--project', project, '--port', '0'], {
    env: { ...process.env, ...env },
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`lightbox serve did not start in ${startTimeoutMs} ms: ${err}`)); }, startTimeoutMs);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`lightbox serve exited (${code}) before serving: ${err}`)); });
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const url = /Open in a Chromium-based browser: (http:\/\/127\.0\.0\.1:(\d+)\/)\?token=/.exec(out);
      const token = /API token: (\S+)/.exec(out);
      if (!url || !token) return;
      clearTimeout(timer);
      const base = url[1]!;
      resolve({
        url: base,
        token: token[1]!,
        port: Number(url[2]),
        child,
        stderr: () => err,
        alive: () => child.exitCode === null && child.signalCode === null,
        async call(name, input, timeoutMs = 15_000) {
          const res = await fetch(`${base}api/call/${encodeURIComponent(name)}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token[1]!}`, 'content-type': 'application/json' },
            body: JSON.stringify(input),
            signal: AbortSignal.timeout(timeoutMs),
          });
          return { status: res.status, body: (await res.json()) as Awaited<ReturnType<ServeProcess['call']>>['body'] };
        },
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          // A host frozen in a system call ignores SIGTERM's handler: give it a moment, then make sure.
          const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}
