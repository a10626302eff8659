// Command lines of the control-plane processes and the order they start in.
// Everything listens on 127.0.0.1 at ports picked free at start, so several
// clusters (or CI jobs) can run on one machine.
import { createServer } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterCerts } from './certs.ts';
import { startProcess } from './processes.ts';
import type { ManagedProcess } from './processes.ts';
import { GiveUp, waitFor } from './wait.ts';

/** Where the five binaries built by scripts/k8s-testcluster.sh live. */
export interface ControlPlaneBinaries {
  binDir: string;
}

/** Ports the cluster listens on, all on 127.0.0.1. */
export interface ControlPlanePorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  /** kwok's own server (health only; nothing calls it). */
  kwok: number;
  /** The simulated nodes' kubelet endpoint: Capstan's log server (podLogs.ts). */
  kubelet: number;
}

/** Resources whose watch cache is off, so that a watch from a compacted revision gets a real 410. */
export const UNCACHED_RESOURCES = ['configmaps'] as const;

/** Picks `count` distinct free TCP ports on 127.0.0.1 (held open together so none repeats). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server));
      }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** Starts etcd and resolves once it reports healthy. */
export async function startEtcd(
  bins: ControlPlaneBinaries,
  dir: string,
  ports: ControlPlanePorts,
): Promise<ManagedProcess> {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  const etcd = startProcess('etcd', join(bins.binDir, 'etcd'), [
    '--name=capstan-test',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=capstan-test=${peer}`,
    // A test cluster is thrown away on stop: durability buys nothing.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ], join(dir, 'etcd.log'));
  await waitFor('etcd health', async () => {
    const exit = etcd.exitStatus();
    if (exit !== undefined) throw new GiveUp(`etcd exited (${exit}); see ${etcd.logPath}`);
    const body = await httpGet(`${client}/health`);
    return body.includes('"health":"true"') ? true : undefined;
  }, 30_000, 50);
  return etcd;
}

/** Starts kube-apiserver and resolves once /readyz answers ok. */
export async function startApiserver(
  bins: ControlPlaneBinaries,
  dir: string,
  ports: ControlPlanePorts,
  certs: ClusterCerts,
): Promise<ManagedProcess> {
  const apiserver = startProcess('kube-apiserver', join(bins.binDir, 'kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${ports.apiserver}`,
    `--tls-cert-file=${certs.apiserverCert}`,
    `--tls-private-key-file=${certs.apiserverKey}`,
    `--client-ca-file=${certs.caCert}`,
    '--authorization-mode=Node,RBAC',
    // The defaults already include most of these; naming them documents what
    // tests may rely on (quota and limit-range 403s, service-account tokens).
    '--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota,' +
      'NodeRestriction,DefaultTolerationSeconds,PodSecurity,MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${certs.serviceAccountPub}`,
    `--service-account-signing-key-file=${certs.serviceAccountKey}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    // The reconciler refuses a loopback address for the kubernetes Service's
    // endpoints; no simulated pod ever connects to it anyway.
    '--endpoint-reconciler-type=none',
    `--kubelet-client-certificate=${certs.adminCert}`,
    `--kubelet-client-key=${certs.adminKey}`,
    '--kubelet-preferred-address-types=InternalIP',
    `--watch-cache-sizes=${UNCACHED_RESOURCES.map((r) => `${r}#0`).join(',')}`,
    '--allow-privileged=true',
    '--profiling=false',
    '--v=1',
  ], join(dir, 'kube-apiserver.log'));
  const ca = readFileSync(certs.caCert);
  const cert = readFileSync(certs.adminCert);
  const key = readFileSync(certs.adminKey);
  await waitFor('kube-apiserver /readyz', async () => {
    const exit = apiserver.exitStatus();
    if (exit !== undefined) throw new GiveUp(`kube-apiserver exited (${exit}); see ${apiserver.logPath}`);
    const body = await httpsGet(`https://127.0.0.1:${ports.apiserver}/readyz`, { ca, cert, key });
    return body === 'ok' ? true : undefined;
  }, 90_000, 100);
  return apiserver;
}

/** Starts kube-controller-manager with every default controller (job, namespace, serviceaccount-token, ...). */
export function startControllerManager(
  bins: ControlPlaneBinaries,
  dir: string,
  certs: ClusterCerts,
  kubeconfig: string,
): ManagedProcess {
  return startProcess('kube-controller-manager', join(bins.binDir, 'kube-controller-manager'), [
    `--kubeconfig=${kubeconfig}`,
    '--controllers=*',
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${certs.serviceAccountKey}`,
    `--root-ca-file=${certs.caCert}`,
    '--leader-elect=false',
    // No port: nothing scrapes it, and a port is one more thing to collide.
    '--secure-port=0',
    '--v=1',
  ], join(dir, 'kube-controller-manager.log'));
}

/** Starts kube-scheduler. */
export function startScheduler(bins: ControlPlaneBinaries, dir: string, kubeconfig: string): ManagedProcess {
  return startProcess('kube-scheduler', join(bins.binDir, 'kube-scheduler'), [
    `--kubeconfig=${kubeconfig}`,
    '--leader-elect=false',
    '--secure-port=0',
    '--v=1',
  ], join(dir, 'kube-scheduler.log'));
}

/**
 * Starts kwok with Capstan's own stages (k8s/testcluster/kwok/*-stages.yaml)
 * instead of kwok's defaults. Nodes advertise `ports.kubelet` as their
 * kubelet endpoint, where podLogs.ts serves container logs; kwok's own
 * server listens on `ports.kwok`.
 */
export function startKwok(
  bins: ControlPlaneBinaries,
  dir: string,
  ports: ControlPlanePorts,
  certs: ClusterCerts,
  kubeconfig: string,
  stageFiles: readonly string[],
): ManagedProcess {
  return startProcess('kwok', join(bins.binDir, 'kwok'), [
    `--kubeconfig=${kubeconfig}`,
    ...stageFiles.map((f) => `--config=${f}`),
    `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
    '--node-ip=127.0.0.1',
    `--node-port=${ports.kubelet}`,
    `--server-address=127.0.0.1:${ports.kwok}`,
    `--tls-cert-file=${certs.loopbackServingCert}`,
    `--tls-private-key-file=${certs.loopbackServingKey}`,
    '--node-lease-duration-seconds=40',
  ], join(dir, 'kwok.log'), {
    ...process.env,
    // kwok also reads ~/.kwok/kwok.yaml; a developer's file must not leak in.
    HOME: dir,
  });
}

/** Annotation that tells kwok a Node is simulated by it. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function httpsGet(url: string, tls: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ...tls, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
