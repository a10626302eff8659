// What the chart tests that run Capstan's pods for real share: the reason to skip (no control plane, no helm,
// not root), a namespace with the test's PostgreSQL behind an external-database Secret, the local kubelet that
// runs the app image's pods in sandboxes, helm in that namespace, what the kubelet ran (for failure messages),
// the api-server Service's endpoint as this machine reaches it, and JSON calls to it.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { helm, HELM_MISSING, runHelmAsync } from '../../chart/helm.ts';
import { createTestDatabase, stopPostgres, type TestDatabase } from '../postgres.ts';
import { binariesAvailable, connectTestCluster, type TestCluster } from './cluster.ts';
import type { LocalImage } from './localImage.ts';
import { startLocalKubelet, type LocalKubelet } from './localKubelet.ts';
import { waitFor } from './wait.ts';

/**
 * Why a chart test cannot run here (false when it can); throws instead when CAPSTAN_K8S_REQUIRED=1 and a
 * prerequisite other than root is missing. `extra` adds the test's own prerequisite.
 */
export async function chartTestSkip(testName: string, extra?: { missing: string | false; requiredMessage: string }): Promise<string | false> {
  const available = await binariesAvailable();
  const required = process.env['CAPSTAN_K8S_REQUIRED'] === '1';
  if (!available && required) throw new Error('CAPSTAN_K8S_REQUIRED=1 but the Kubernetes test binaries are not built');
  if (available && !helm && required) throw new Error(`the ${testName} needs helm: ${HELM_MISSING}`);
  if (available && helm && extra?.missing && required) throw new Error(extra.requiredMessage);
  return (!available && 'binaries not built (bash scripts/k8s-testcluster.sh build)') || (!helm && HELM_MISSING)
    || (extra?.missing ?? false)
    || (process.getuid?.() !== 0 && 'the sandboxed local kubelet needs root (mount namespaces)');
}

/** kwok must leave the pods' fate to the local kubelet (Deployments' pods already run until deleted). */
const RUN_FOREVER = { 'capstan.test/outcome': 'run-forever' };

/** Chart values for the harness: the external database Secret, pods left to the local kubelet, plus `extra`. */
export function chartTestValues(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    postgresql: { enabled: false },
    database: { existingSecret: 'capstan-external-db', existingSecretKey: 'url' },
    workers: { podAnnotations: RUN_FOREVER },
    migrateJob: { podAnnotations: RUN_FOREVER },
    createUserJob: { podAnnotations: RUN_FOREVER },
    ...extra,
  };
}

/** A JSON call to a Capstan API server; a body that is not JSON comes back as text. */
export async function apiCall(base: string, path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text };
  }
}

export interface ChartHarness {
  readonly cluster: TestCluster;
  readonly core: CoreV1Api;
  readonly ns: string;
  /** A private directory (mode 755, so sandboxed pods may read what a test puts there). */
  readonly tmp: string;
  readonly db: TestDatabase;
  /** A compile-cache directory every pod may write, given to the kubelet's pods as NODE_COMPILE_CACHE. */
  readonly compileCache: string;
  /** Start the local kubelet; `images` maps an image reference to a local image (undefined: not runnable). */
  startKubelet(images: (ref: string) => LocalImage | undefined): Promise<void>;
  /** Run helm in the namespace and assert it succeeded. */
  helm(args: readonly string[]): Promise<void>;
  /** Write `values` as YAML into tmp under `name`; returns its path. */
  valuesFile(name: string, values: Record<string, unknown>): string;
  /** What the kubelet ran, with the end of the api-server and migration containers' logs. */
  diagnostics(): string;
  /** The kubelet's runs whose command line contains `arg`. */
  runsOf(arg: string): Array<{ exitCode: number | undefined; pod: string }>;
  /**
   * The release's api-server Service's ready endpoint (pod IP:port) once it differs from `not`, with the
   * base URL this machine reaches that pod at (the local kubelet's loopback address for it).
   */
  apiEndpoint(release: string, not?: string): Promise<{ endpoint: string; base: string }>;
  /** Poll `base`/health until it answers 200. */
  healthy(base: string): Promise<void>;
  /** The admin password the chart generated into the release's `-admin` Secret. */
  adminPassword(release: string): Promise<string>;
  stop(): Promise<void>;
}

/** Open a namespace named after `name` with the test's PostgreSQL in it; call startKubelet() next. */
export async function openChartHarness(name: string): Promise<ChartHarness> {
  const cluster = await connectTestCluster();
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const ns = await cluster.createNamespace(name);
  const tmp = mkdtempSync(join(tmpdir(), `capstan-${name}-`));
  chmodSync(tmp, 0o755);
  const compileCache = join(tmp, 'node-compile-cache');
  mkdirSync(compileCache);
  chmodSync(compileCache, 0o777);
  const db = await createTestDatabase();
  await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'capstan-external-db' }, stringData: { url: db.url } } });
  let kubelet: LocalKubelet | undefined;

  const logTail = (pod: string): string => {
    const dir = join(cluster.descriptor.dir, 'logs', ns, pod);
    if (!existsSync(dir)) return '';
    return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8').split('\n').slice(-12).map((l) => `    | ${l}`).join('\n')).join('\n');
  };
  const diagnostics = (): string => [...(kubelet?.runs.values() ?? [])]
    .map((r) => `${r.pod}: ${r.argv.join(' ')} → ${r.exitCode ?? 'running'}${r.startError ? ` (${r.startError})` : ''}${/api-server|migrate/.test(r.pod) ? `\n${logTail(r.pod)}` : ''}`).join('\n');

  return {
    cluster, core, ns, tmp, db, compileCache,
    async startKubelet(images) {
      kubelet = await startLocalKubelet({
        kubeConfig: cluster.kubeConfig,
        namespace: ns,
        logsDir: join(cluster.descriptor.dir, 'logs'),
        sandbox: { images },
        baseEnv: { NODE_COMPILE_CACHE: compileCache },
      });
    },
    async helm(args) {
      const r = await runHelmAsync([...args, '--namespace', ns, '--kubeconfig', cluster.kubeconfigPath, '--timeout', '5m']);
      assert.equal(r.status, 0, `helm ${args[0] ?? ''} failed:\n${r.stderr}\n${r.stdout}\n${diagnostics()}`);
    },
    valuesFile(fileName, values) {
      const file = join(tmp, fileName);
      writeFileSync(file, stringify(values));
      return file;
    },
    diagnostics,
    runsOf: (arg) => [...(kubelet?.runs.values() ?? [])].filter((r) => r.argv.join(' ').includes(arg)),
    apiEndpoint: (release, not) => waitFor('a ready api-server endpoint', async () => {
      const slices = await cluster.kubeConfig.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: ns, labelSelector: `kubernetes.io/service-name=${release}-capstan-api-server` });
      const port = slices.items[0]?.ports?.[0]?.port;
      const address = slices.items.flatMap((s) => s.endpoints ?? []).find((e) => e.conditions?.ready === true)?.addresses[0];
      if (address === undefined || port === undefined) return undefined;
      const endpoint = `${address}:${port}`;
      const local = kubelet?.localAddress(address);
      if (endpoint === not || local === undefined) return undefined;
      return { endpoint, base: `http://${local}:${port}` };
    }, 180_000, 250),
    async healthy(base) {
      await waitFor(`GET ${base}/health → 200`, async () => ((await apiCall(base, '/health').catch(() => ({ status: 0 }))).status === 200 ? true : undefined), 180_000, 500);
    },
    async adminPassword(release) {
      const secret = await core.readNamespacedSecret({ namespace: ns, name: `${release}-capstan-admin` });
      return Buffer.from(secret.data?.['password'] ?? '', 'base64').toString('utf8');
    },
    async stop() {
      await kubelet?.stop();
      await core.deleteNamespace({ name: ns }).catch(() => {});
      await db.drop().catch(() => {});
      await stopPostgres();
      rmSync(tmp, { recursive: true, force: true });
      await cluster.stop();
    },
  };
}
