#!/usr/bin/env node
// Runs the CLI straight from the TypeScript sources with Node's built-in type stripping (Node >= 22.18).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`lightbox: Node ${process.versions.node} is too old; run it through npm ("npm run lightbox -- ...") to use the project's pinned Node 24`);
  process.exit(2);
}
process.removeAllListeners('warning');
process.on('warning', (w) => { if (w.name !== 'ExperimentalWarning') console.warn(w); });
const { main } = await import('../src/main/cli/index.ts');
const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
