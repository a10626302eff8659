#!/usr/bin/env node
// The `capstan` command (`npx capstan …`, or `capstan …` after `npm i -g`). Capstan is TypeScript run by
// Node.js 24's type stripping; when the `node` on PATH is older, this re-runs the CLI on the Node.js 24 that
// the npm `node` package (a dependency) installed, passing arguments, standard streams, signals and the exit code.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

if (major >= 24) {
  // The compile cache (Node 22+), turned on before the first TypeScript module loads: a start whose modules are all
  // cached then never loads Node's TypeScript stripper (~50 ms of CPU). main.ts turns it on too, for `node main.ts`.
  (await import('node:module')).enableCompileCache();
  const { runCli } = await import(main);
  process.exitCode = await runCli(process.argv.slice(2));
} else {
  let node24;
  try {
    node24 = join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin', 'node');
  } catch {
    process.stderr.write(`capstan needs Node.js 24 (this is ${process.version}); run \`npm ci\` in the Capstan folder, which installs it\n`);
    process.exit(1);
  }
  const child = spawn(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
