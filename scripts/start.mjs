// npm start: build when needed, then run the Electron desktop app; where Electron cannot start (no binary, as on
// machines that cannot download it), serve the same UI on 127.0.0.1 and say where to open it.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function newestMtime(dir) {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) newest = Math.max(newest, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

const built = path.join(root, 'out', 'renderer', 'index.html');
if (!fs.existsSync(built) || newestMtime(path.join(root, 'src')) > fs.statSync(built).mtimeMs) {
  console.log('Building Lightbox …');
  try {
    execFileSync(bin('electron-vite'), ['build'], { cwd: root, stdio: 'pipe' });
  } catch (e) {
    process.stderr.write(String(e.stderr ?? e.message));
    process.exit(1);
  }
}

function electronBinary() {
  try {
    const pkg = path.join(root, 'node_modules', 'electron');
    const rel = fs.readFileSync(path.join(pkg, 'path.txt'), 'utf8').trim();
    const exe = path.join(pkg, 'dist', rel);
    return fs.existsSync(exe) ? exe : null;
  } catch {
    return null;
  }
}

/**
 * Stopping `npm start` (Ctrl-C, SIGTERM from a service manager or a test) must stop what it started: the signal is
 * passed on, and a child that has not exited a few seconds later is killed, so no server is left holding its port.
 */
function stopWithUs(child) {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      child.kill(sig);
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
}

const argv = process.argv.slice(2);
const browserOnly = argv.includes('--browser');
// --browser is ours; `lightbox serve` does not take it.
const args = argv.filter((a) => a !== '--browser');
const exe = electronBinary();
if (exe && !browserOnly) {
  stopWithUs(spawn(exe, [root, ...args], { stdio: 'inherit' }));
} else {
  console.log(exe
    ? 'Starting the browser host (--browser).'
    : 'Electron is not installed on this machine (its binary could not be downloaded), so Lightbox starts its browser host instead:\nthe same workstation UI, served on 127.0.0.1 only, for any Chromium-based browser.');
  const child = spawn(process.execPath, [path.join(root, 'bin', 'lightbox.mjs'), 'serve', ...args], { stdio: ['inherit', 'pipe', 'inherit'] });
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const m = String(chunk).match(/(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/);
    if (m && (process.env.DISPLAY || process.env.WAYLAND_DISPLAY)) {
      // Open a browser where there is a desktop; otherwise the printed URL is the way in.
      const opener = ['xdg-open', 'chromium', 'google-chrome'].find((c) => { try { execFileSync('which', [c], { stdio: 'ignore' }); return true; } catch { return false; } });
      if (opener) spawn(opener, [m[1]], { stdio: 'ignore', detached: true }).unref();
    }
  });
  stopWithUs(child);
}
