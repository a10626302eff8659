// Global setup of `npm run test:k8s` (node --test --test-global-setup): starts
// one cluster for the whole run and publishes its descriptor through
// CAPSTAN_TEST_CLUSTER, which the test processes inherit and
// connectTestCluster() reads. A descriptor already in the environment (a
// cluster started by hand) is used as it is.
import { join } from 'node:path';
import { CLUSTER_ENV, startTestCluster } from './cluster.ts';
import type { TestCluster } from './cluster.ts';

let owned: TestCluster | undefined;

/** Starts the shared cluster unless one is already given. */
export async function globalSetup(): Promise<void> {
  if (process.env[CLUSTER_ENV]) return;
  const started = Date.now();
  owned = await startTestCluster();
  process.env[CLUSTER_ENV] = join(owned.descriptor.dir, 'cluster.json');
  process.stderr.write(`capstan test cluster up in ${Date.now() - started} ms: ${owned.kubeconfigPath}\n`);
}

/** Stops the shared cluster if this setup started it. */
export async function globalTeardown(): Promise<void> {
  await owned?.stop();
}
