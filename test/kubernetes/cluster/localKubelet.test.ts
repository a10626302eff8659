// The local kubelet of the test control plane: a Running pod's main container
// really runs as a local process; its exit code becomes the pod's phase and
// container status, its output is served by pods/log, env comes from the pod
// spec (literal, fieldRef, secretKeyRef), `capstan` is the repo's CLI, and
// deleting the pod stops the process (SIGTERM, then SIGKILL after the grace).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { binariesAvailable, connectTestCluster, inPhase, waitFor, waitForPod } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { LOCAL_KUBELET_POD_ANNOTATIONS, startLocalKubelet } from '../../support/k8s/localKubelet.ts';
import type { LocalKubelet } from '../../support/k8s/localKubelet.ts';

const available = await binariesAvailable();
const LABEL = 'local-kubelet-test';

function pod(name: string, container: Omit<V1Container, 'name' | 'image'>, extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    metadata: { name, labels: { app: LABEL }, annotations: { ...LOCAL_KUBELET_POD_ANNOTATIONS } },
    spec: { restartPolicy: 'Never', containers: [{ name: 'base', image: 'capstan/worker:test', ...container }], ...extra },
  };
}

const node = (script: string): Pick<V1Container, 'command'> => ({ command: [process.execPath, '-e', script] });

void describe('local kubelet', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;
  let kubelet: LocalKubelet;
  const errors: string[] = [];

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cluster.createNamespace('kubelet');
    kubelet = await startLocalKubelet({
      kubeConfig: cluster.kubeConfig, namespace, labelSelector: `app=${LABEL}`,
      logsDir: join(cluster.descriptor.dir, 'logs'), maxGraceMs: 10_000,
      onError: (err, what) => errors.push(`${what}: ${String(err)}`),
    });
  });
  after(async () => {
    await kubelet?.stop();
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  const readLog = (name: string): Promise<string> => core.readNamespacedPodLog({ namespace, name, container: 'base' });

  void test('exit code 0: the pod Succeeds and pods/log serves the output', async () => {
    await core.createNamespacedPod({ namespace, body: pod('ok', node('console.log("hello from the pod")')) });
    const p = await waitForPod(cluster.kubeConfig, namespace, 'ok', inPhase('Succeeded'));
    assert.equal(p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
    assert.equal(await readLog('ok'), 'hello from the pod\n');
    assert.deepEqual(errors, []);
  });

  void test('a non-zero exit fails the pod with that exit code', async () => {
    await core.createNamespacedPod({ namespace, body: pod('bad', node('console.error("oops"); process.exit(7)')) });
    const p = await waitForPod(cluster.kubeConfig, namespace, 'bad', inPhase('Failed'));
    const t = p.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(t?.exitCode, 7);
    assert.equal(t?.reason, 'Error');
    assert.equal(await readLog('bad'), 'oops\n');
  });

  void test('the process sees the container env (literal, fieldRef, secretKeyRef, $(VAR)) and nothing of the runner env', async () => {
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'tok' }, stringData: { token: 's3cret' } } });
    const script = 'console.log([process.env.PLAIN, process.env.POD, process.env.TOKEN, process.env.REF, process.env.CAPSTAN_TEST_CLUSTER ?? "isolated"].join(","))';
    await core.createNamespacedPod({
      namespace,
      body: pod('env', {
        ...node(script),
        env: [
          { name: 'PLAIN', value: 'plain' },
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'tok', key: 'token' } } },
          { name: 'REF', value: '$(PLAIN)-x' },
        ],
      }),
    });
    await waitForPod(cluster.kubeConfig, namespace, 'env', inPhase('Succeeded'));
    assert.equal(await readLog('env'), 'plain,env,s3cret,plain-x,isolated\n');
  });

  void test('`capstan` in a container command is the repo CLI', async () => {
    await core.createNamespacedPod({ namespace, body: pod('cli', { command: ['capstan'], args: ['tasks', 'run', '--help'] }) });
    const p = await waitForPod(cluster.kubeConfig, namespace, 'cli', inPhase('Succeeded'));
    assert.equal(p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
    assert.match(await readLog('cli'), /--ti-id <id>/);
  });

  void test('a command that cannot start fails the pod', async () => {
    await core.createNamespacedPod({ namespace, body: pod('nocmd', { command: ['/nonexistent/binary'] }) });
    const p = await waitForPod(cluster.kubeConfig, namespace, 'nocmd', inPhase('Failed'));
    assert.notEqual(p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
  });

  void test('deleting a running pod sends SIGTERM to its process', async () => {
    const script = 'process.on("SIGTERM", () => { console.log("got SIGTERM"); process.exit(0); }); console.log("ready"); setInterval(() => {}, 1000);';
    await core.createNamespacedPod({ namespace, body: pod('term', node(script)) });
    const uid = (await waitForPod(cluster.kubeConfig, namespace, 'term', inPhase('Running'))).metadata?.uid ?? '';
    await waitFor('process started', async () => ((await readLog('term').catch(() => '')).includes('ready') ? true : undefined));
    await core.deleteNamespacedPod({ namespace, name: 'term' });
    const run = await waitFor('process exited', async () => (kubelet.runs.get(uid)?.exitCode !== undefined ? kubelet.runs.get(uid) : undefined));
    assert.equal(run.exitCode, 0);
    assert.equal(kubelet.running(), 0);
  });

  void test('a process ignoring SIGTERM is killed after the grace period', async () => {
    const script = 'process.on("SIGTERM", () => console.log("ignoring SIGTERM")); console.log("ready"); setInterval(() => {}, 1000);';
    await core.createNamespacedPod({ namespace, body: pod('stubborn', node(script), { terminationGracePeriodSeconds: 1 }) });
    const uid = (await waitForPod(cluster.kubeConfig, namespace, 'stubborn', inPhase('Running'))).metadata?.uid ?? '';
    await waitFor('process started', async () => ((await readLog('stubborn').catch(() => '')).includes('ready') ? true : undefined));
    await core.deleteNamespacedPod({ namespace, name: 'stubborn' });
    const run = await waitFor('process killed', async () => (kubelet.runs.get(uid)?.exitCode !== undefined ? kubelet.runs.get(uid) : undefined), 15_000);
    assert.equal(run.exitCode, 137);
  });

  void test('pods outside the label selector are left to kwok', async () => {
    const other = pod('other', node('process.exit(9)'));
    other.metadata = { name: 'other', annotations: { 'capstan.test/outcome': 'succeed', 'capstan.test/run-duration': '0ms' } };
    await core.createNamespacedPod({ namespace, body: other });
    const p = await waitForPod(cluster.kubeConfig, namespace, 'other', inPhase('Succeeded'));
    assert.equal(p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
    assert.ok(![...kubelet.runs.values()].some((r) => r.pod === 'other'));
  });
});
