/**
 * `npm test`: typecheck (the server and the web UI), lint, then every test file under test/ and examples/tests with Node's test runner. The
 * Kubernetes integration tests (test/kubernetes/cluster) run too when a test control plane is available
 * (CAPSTAN_K8S_TESTS=1, set by scripts/ci-k8s.sh after it builds the cluster binaries); pass
 * `--no-k8s` or set CAPSTAN_K8S_TESTS=0 to skip them. Extra arguments are test files to run alone.
 */
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

const args = process.argv.slice(2);
const noK8s = args.includes('--no-k8s') || process.env.CAPSTAN_K8S_TESTS !== '1';
const only = args.filter((a) => !a.startsWith('--'));

function run(cmd: string, cmdArgs: string[]): void {
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (only.length === 0) {
  run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
  // The web UI's own projects: the browser code (DOM, no Node) and its Vite config (Node).
  run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'ui/tsconfig.json']);
  run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'ui/tsconfig.node.json']);
  run(process.execPath, ['node_modules/eslint/bin/eslint.js', '.']);
}
const concurrency = `--test-concurrency=${process.env.CAPSTAN_TEST_CONCURRENCY ?? '2'}`;
if (only.length > 0) {
  run(process.execPath, ['--test', concurrency, '--test-timeout=600000', ...only]);
  process.exit(0);
}
// Unit and engine tests (everything but the Kubernetes suite, which shares one cluster via a global setup),
// and the example tests DAG authors copy (examples/tests, written against `capstan/testing`).
const files = [...globSync('test/**/*.test.ts').filter((f) => !f.startsWith('test/kubernetes/cluster/')), ...globSync('examples/tests/**/*.test.ts')].sort();
run(process.execPath, ['--test', concurrency, '--test-timeout=600000', ...files]);
if (noK8s) {
  process.stdout.write('(Kubernetes integration tests skipped: CAPSTAN_K8S_TESTS is not 1; see docs/testing.md)\n');
} else {
  run('npm', ['run', 'test:k8s']);
}
