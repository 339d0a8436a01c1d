// A throwaway PostgreSQL cluster for tests and benchmarks: Debian's server binaries, initdb in a temp dir, a free
// loopback port, its unix socket in the same dir. PostgreSQL refuses to run as root, so under root the server runs
// as the `postgres` system user (created when missing) and the temp dir is handed to it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface PgCluster {
  /** postgres://lightbox@127.0.0.1:PORT/postgres — trust auth on loopback, no password. */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** `pg_ctl restart -m fast`: every connection is cut; returns once the server accepts connections again. */
  restart(): void;
  /** Stops the server and deletes its files. */
  stop(): void;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error(`pg-cluster: no PostgreSQL server under ${root}; install Debian's "postgresql" (apt-get install postgresql)`);
  return path.join(root, versions[0]!, 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The command as the server's user: itself when not root, else through runuser as `postgres`. */
function asServerUser(): { run: (cmd: string, args: string[]) => string; uid: number; gid: number } | { run: (cmd: string, args: string[]) => string; uid: null; gid: null } {
  const plain = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (process.getuid?.() !== 0) return { run: plain, uid: null, gid: null };
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    id('-u');
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
  }
  return { run: (cmd, args) => plain('runuser', ['-u', 'postgres', '--', cmd, ...args]), uid: id('-u'), gid: id('-g') };
}

export async function startPgCluster(): Promise<PgCluster> {
  const bin = binDir();
  const user = asServerUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lightbox-pg-'));
  if (user.uid !== null) fs.chownSync(dir, user.uid, user.gid);
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  // --no-sync only skips flushing initdb's own files; the running server keeps fsync and synchronous_commit on.
  user.run(path.join(bin, 'initdb'), ['-D', data, '-U', 'lightbox', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=50`;
  const ctl = (args: string[]): void => {
    try {
      user.run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-w', '-t', '60', ...args]);
    } catch (e) {
      const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : '';
      throw new Error(`pg-cluster: pg_ctl ${args[0]} failed: ${(e as Error).message}\n${tail}`);
    }
  };
  ctl(['-o', opts, 'start']);
  let stopped = false;
  return {
    url: `postgres://lightbox@127.0.0.1:${port}/postgres`,
    port,
    dir,
    restart: () => ctl(['-m', 'fast', '-o', opts, 'restart']),
    stop: () => {
      if (stopped) return;
      stopped = true;
      try {
        ctl(['-m', 'immediate', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
