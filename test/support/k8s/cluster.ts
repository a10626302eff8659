// The Kubernetes test cluster: a real kube-apiserver, etcd, controller
// manager and scheduler on loopback, with kwok simulating the nodes and
// driving pod phases from the pods' own annotations (see podOutcome.ts).
//
// One runner process owns the processes (startTestCluster); every test file
// may attach to it through the descriptor file named by CAPSTAN_TEST_CLUSTER
// (connectTestCluster), so test files can run in parallel, each in its own
// namespaces.
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { V1Node } from '@kubernetes/client-node';
import { makeClusterCerts } from './certs.ts';
import type { ClusterCerts } from './certs.ts';
import {
  freePorts,
  KWOK_NODE_ANNOTATION,
  startApiserver,
  startControllerManager,
  startEtcd,
  startKwok,
  startScheduler,
} from './controlPlane.ts';
import type { ControlPlanePorts } from './controlPlane.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { startLogServer, writePodLogs } from './podLogs.ts';
import type { PodLogs } from './podLogs.ts';
import type { ManagedProcess } from './processes.ts';
import { waitFor } from './wait.ts';
import { startFaultProxy } from './faultProxy.ts';
import type { FaultProxy } from './faultProxy.ts';

const execFileAsync = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const stagesDir = join(repoRoot, 'k8s/testcluster/kwok');

/** Environment variable naming the descriptor file of a running shared cluster. */
export const CLUSTER_ENV = 'CAPSTAN_TEST_CLUSTER';

/** What a process needs to use a running cluster; written as JSON next to its kubeconfig. */
export interface ClusterDescriptor {
  dir: string;
  server: string;
  kubeconfigPath: string;
  caCert: string;
  /** TLS pair for loopback servers trusted by the cluster CA (the fault proxy uses it). */
  loopbackServingCert: string;
  loopbackServingKey: string;
  /** Bearer token of a cluster-admin service account, for clients behind the fault proxy. */
  adminToken: string;
  etcdUrl: string;
  nodeNames: string[];
}

/** Options of {@link startTestCluster}. */
export interface StartOptions {
  /** Number of simulated nodes (default 1). */
  nodes?: number;
  /** Directory holding the five binaries (default: asks scripts/k8s-testcluster.sh). */
  binDir?: string;
}

/** A running test cluster, owned by this process or attached to. */
export interface TestCluster {
  readonly descriptor: ClusterDescriptor;
  /** Admin (system:masters) kubeconfig file for the cluster. */
  readonly kubeconfigPath: string;
  /** Admin KubeConfig, loaded from {@link kubeconfigPath}. */
  readonly kubeConfig: KubeConfig;
  /** Creates a fresh namespace (`prefix` + random suffix) and waits for its default service account. */
  createNamespace(prefix?: string): Promise<string>;
  /**
   * Makes `pods/log` of a pod return `logs` (one text for every container, or
   * one per container name). May be called before the pod exists.
   */
  setPodLogs(namespace: string, pod: string, logs: PodLogs): Promise<void>;
  /** A KubeConfig that authenticates as `serviceAccount` in `namespace` with a fresh token. */
  serviceAccountKubeConfig(namespace: string, serviceAccount: string): Promise<KubeConfig>;
  /** Compacts etcd up to its current revision, so older resourceVersions are gone for good. */
  compactEtcd(): Promise<void>;
  /** Starts a fault-injecting proxy in front of the API server (see faultProxy.ts). */
  startFaultProxy(): Promise<FaultProxy>;
  /** Stops the processes if this process owns them; otherwise only detaches. */
  stop(): Promise<void>;
}

/**
 * Returns the directory of the built binaries, or throws with the command to build them.
 * `CAPSTAN_K8S_BIN_DIR` overrides the lookup.
 */
export async function findBinaries(): Promise<string> {
  const fromEnv = process.env['CAPSTAN_K8S_BIN_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  try {
    const { stdout } = await execFileAsync('bash', [join(repoRoot, 'scripts/k8s-testcluster.sh'), 'bin-dir']);
    return stdout.trim();
  } catch {
    throw new Error('Kubernetes test binaries are not built: run `bash scripts/k8s-testcluster.sh build`');
  }
}

/** True when the binaries are built, so a test file can skip cleanly when they are not. */
export async function binariesAvailable(): Promise<boolean> {
  if (process.env[CLUSTER_ENV]) return true;
  try {
    await findBinaries();
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a whole cluster owned by this process. Takes a few seconds once the
 * binaries are built.
 *
 * @example
 * const cluster = await startTestCluster();
 * try { const ns = await cluster.createNamespace('smoke'); } finally { await cluster.stop(); }
 */
export async function startTestCluster(options: StartOptions = {}): Promise<TestCluster> {
  const binDir = options.binDir ?? (await findBinaries());
  const bins = { binDir };
  const dir = await mkdtemp(join(tmpdir(), 'capstan-k8s-'));
  const processes: ManagedProcess[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stoppers.reverse()) await stop().catch(() => {});
    for (const p of processes.reverse()) await p.stop();
  };
  try {
    const certs = await makeClusterCerts(await mkdirp(join(dir, 'pki')));
    const [etcdClient, etcdPeer, apiserver, kwok, kubelet] = await freePorts(5);
    const ports: ControlPlanePorts = {
      etcdClient: etcdClient!, etcdPeer: etcdPeer!, apiserver: apiserver!, kwok: kwok!, kubelet: kubelet!,
    };
    processes.push(await startEtcd(bins, dir, ports));
    processes.push(await startApiserver(bins, dir, ports, certs));

    const server = `https://127.0.0.1:${ports.apiserver}`;
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    await writeKubeconfig(kubeconfigPath, server, certs.caCert,
      { clientCertificate: certs.adminCert, clientKey: certs.adminKey });
    const kcmConfig = join(dir, 'controller-manager.kubeconfig');
    await writeKubeconfig(kcmConfig, server, certs.caCert,
      { clientCertificate: certs.controllerManagerCert, clientKey: certs.controllerManagerKey });
    const schedulerConfig = join(dir, 'scheduler.kubeconfig');
    await writeKubeconfig(schedulerConfig, server, certs.caCert,
      { clientCertificate: certs.schedulerCert, clientKey: certs.schedulerKey });

    processes.push(startControllerManager(bins, dir, certs, kcmConfig));
    processes.push(startScheduler(bins, dir, schedulerConfig));

    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const logServer = await startLogServer({
      kc, logsDir: join(dir, 'logs'), port: ports.kubelet,
      cert: certs.loopbackServingCert, key: certs.loopbackServingKey,
    });
    stoppers.push(() => logServer.stop());
    processes.push(startKwok(bins, dir, ports, certs, kubeconfigPath, [
      join(stagesDir, 'node-stages.yaml'),
      join(stagesDir, 'pod-stages.yaml'),
    ]));
    const nodeNames = await createNodes(kc, options.nodes ?? 1);
    const adminToken = await createAdminToken(kc);

    const descriptor: ClusterDescriptor = {
      dir,
      server,
      kubeconfigPath,
      caCert: certs.caCert,
      loopbackServingCert: certs.loopbackServingCert,
      loopbackServingKey: certs.loopbackServingKey,
      adminToken,
      etcdUrl: `http://127.0.0.1:${ports.etcdClient}`,
      nodeNames,
    };
    await writeFile(join(dir, 'cluster.json'), JSON.stringify(descriptor, null, 2));
    return makeCluster(descriptor, async () => {
      await stopAll();
      await rm(dir, { recursive: true, force: true });
    });
  } catch (err) {
    await stopAll();
    const logs = processes.map((p) => p.logPath).join(', ');
    throw new Error(`test cluster failed to start (logs kept in ${dir}: ${logs})`, { cause: err });
  }
}

/**
 * Attaches to the cluster named by `CAPSTAN_TEST_CLUSTER` (set by the
 * `test:k8s` global setup), or starts one owned by this process when unset,
 * so a single test file also runs on its own.
 */
export async function connectTestCluster(options: StartOptions = {}): Promise<TestCluster> {
  const descriptorPath = process.env[CLUSTER_ENV];
  if (descriptorPath === undefined || descriptorPath === '') return startTestCluster(options);
  const descriptor = JSON.parse(await readFile(descriptorPath, 'utf8')) as ClusterDescriptor;
  return makeCluster(descriptor, async () => {});
}

function makeCluster(descriptor: ClusterDescriptor, stop: () => Promise<void>): TestCluster {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(descriptor.kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    descriptor,
    kubeconfigPath: descriptor.kubeconfigPath,
    kubeConfig,
    async createNamespace(prefix = 'test') {
      const created = await core.createNamespace({
        body: { metadata: { generateName: `${prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-` } },
      });
      const name = created.metadata?.name;
      if (name === undefined) throw new Error('namespace created without a name');
      // The ServiceAccount admission plugin rejects pods until the
      // serviceaccount controller has made "default".
      await waitFor(`default service account in ${name}`, async () =>
        (await core.readNamespacedServiceAccount({ name: 'default', namespace: name })) ? true : undefined,
      30_000, 50);
      return name;
    },
    async setPodLogs(namespace, pod, logs) {
      await writePodLogs(join(descriptor.dir, 'logs'), namespace, pod, logs);
    },
    async serviceAccountKubeConfig(namespace, serviceAccount) {
      const token = await core.createNamespacedServiceAccountToken({
        name: serviceAccount, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } },
      });
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'capstan-test', server: descriptor.server, caFile: descriptor.caCert, skipTLSVerify: false }],
        users: [{ name: serviceAccount, token: token.status?.token ?? '' }],
        contexts: [{ name: 'sa', cluster: 'capstan-test', user: serviceAccount }],
        currentContext: 'sa',
      });
      return kc;
    },
    async compactEtcd() {
      await compactEtcd(descriptor.etcdUrl);
    },
    async startFaultProxy() {
      return startFaultProxy({
        upstream: descriptor.server,
        caCert: descriptor.caCert,
        servingCert: descriptor.loopbackServingCert,
        servingKey: descriptor.loopbackServingKey,
        token: descriptor.adminToken,
        dir: descriptor.dir,
      });
    },
    stop,
  };
}

async function mkdirp(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  return path;
}

async function createNodes(kc: KubeConfig, count: number): Promise<string[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const names = Array.from({ length: count }, (_, i) => `capstan-node-${i}`);
  for (const name of names) {
    const node: V1Node = {
      metadata: {
        name,
        annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          type: 'kwok',
        },
      },
      status: {
        allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
        capacity: { cpu: '32', memory: '256Gi', pods: '110' },
      },
    };
    await core.createNode({ body: node });
  }
  await waitFor('simulated nodes Ready', async () => {
    const nodes = await core.listNode();
    const ready = nodes.items.filter((n) =>
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return ready.length >= count ? true : undefined;
  }, 60_000, 100);
  return names;
}

/** A cluster-admin service account whose token the fault proxy's clients present. */
async function createAdminToken(kc: KubeConfig): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const namespace = 'kube-system';
  const name = 'capstan-test-admin';
  await waitFor('kube-system namespace', async () =>
    (await core.readNamespace({ name: namespace })) ? true : undefined, 30_000, 50);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
  const token = await core.createNamespacedServiceAccountToken({
    name, namespace, body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } },
  });
  const value = token.status?.token;
  if (value === undefined) throw new Error('TokenRequest returned no token');
  return value;
}

/** Compacts etcd at (at least) its current revision through etcd's JSON gateway. */
async function compactEtcd(etcdUrl: string): Promise<void> {
  // A range over an empty key returns the store's header with its revision.
  const status = await fetch(`${etcdUrl}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: Buffer.from('\0').toString('base64') }),
  });
  const body = (await status.json()) as { header?: { revision?: string } };
  const revision = body.header?.revision;
  if (revision === undefined) throw new Error('etcd did not report its revision');
  const compacted = await fetch(`${etcdUrl}/v3/kv/compaction`, {
    method: 'POST',
    body: JSON.stringify({ revision, physical: true }),
  });
  if (compacted.ok) return;
  const text = await compacted.text();
  // Another compaction (a test file running beside this one, or the API server's own) already went past
  // this revision between the two requests: the history is gone either way, which is what callers want.
  if (text.includes('required revision has been compacted')) return;
  throw new Error(`etcd compaction failed: ${compacted.status} ${text}`);
}

export type { ClusterCerts, PodLogs };
