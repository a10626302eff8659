// Starts a test cluster by hand and keeps it up until Ctrl-C, so test files
// can be run again and again against it without paying for a start:
//   node test/support/k8s/up.ts
//   export CAPSTAN_TEST_CLUSTER=...   (printed below)
//   node --test test/kubernetes/cluster/smoke.test.ts
import { join } from 'node:path';
import { CLUSTER_ENV, startTestCluster } from './cluster.ts';

const started = Date.now();
const cluster = await startTestCluster();
process.stdout.write(
  `test cluster up in ${Date.now() - started} ms (Ctrl-C stops it)\n` +
    `export ${CLUSTER_ENV}=${join(cluster.descriptor.dir, 'cluster.json')}\n` +
    `export KUBECONFIG=${cluster.kubeconfigPath}\n` +
    `process logs: ${cluster.descriptor.dir}/*.log\n`,
);
const stop = (): void => {
  cluster.stop().then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
// The cluster's processes are unref'd; this timer keeps this process alive.
setInterval(() => {}, 1 << 30);
