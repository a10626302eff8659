// core.executor = LocalKubernetesExecutor, selected by config alone (the composition root builds a LocalExecutor
// and a KubernetesExecutor from their own sections): a task on the `kubernetes` queue runs in a worker pod (run
// for real by the local kubelet), the others in local task processes, in one DAG run on the real control plane.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binariesAvailable, connectTestCluster, waitFor } from '../../../support/k8s/index.ts';
import type { TestCluster } from '../../../support/k8s/index.ts';
import { startLocalKubelet, type LocalKubelet } from '../../../support/k8s/localKubelet.ts';
import { startTestEngine, type TestEngine } from '../../../support/engine.ts';
import { CoreV1Api } from '@kubernetes/client-node';
import { LocalKubernetesExecutor } from '../../../../src/executors/localKubernetesExecutor.ts';
import { LocalFileTaskLogHandler } from '../../../../src/logging/logHandler.ts';
import { RUN_LOCALLY_LABEL, WORKER_TEMPLATE } from '../executorSupport.ts';
import { recordPods, type PodRecorder } from './executorEndToEndSupport.ts';

const available = await binariesAvailable();

const DAG = `
import { dag, BashOperator, chain } from 'capstan';
export default dag({ dagId: 'mixed', schedule: null }, () => {
  const local1 = new BashOperator({ taskId: 'local_first', bashCommand: 'echo local' });
  const pod = new BashOperator({ taskId: 'in_pod', queue: 'kubernetes', bashCommand: 'echo "in a pod: $CAPSTAN_WORKER_POD"' });
  const local2 = new BashOperator({ taskId: 'local_last', bashCommand: 'echo local again' });
  chain(local1, pod, local2);
});
`;

void describe('LocalKubernetesExecutor selected by config', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let namespace: string;
  let kubelet: LocalKubelet;
  let pods: PodRecorder;
  let t: TestEngine;
  const previousKubeconfig = process.env['KUBECONFIG'];

  before(async () => {
    cluster = await connectTestCluster();
    namespace = await cluster.createNamespace('lke');
    const dir = mkdtempSync(join(tmpdir(), 'capstan-lke-'));
    writeFileSync(join(dir, 'worker.yaml'), WORKER_TEMPLATE);
    // The KubernetesExecutor built from config finds the cluster the usual way: KUBECONFIG.
    process.env['KUBECONFIG'] = cluster.kubeconfigPath;
    kubelet = await startLocalKubelet({
      kubeConfig: cluster.kubeConfig, namespace, labelSelector: `${RUN_LOCALLY_LABEL}=yes`,
      logsDir: join(cluster.descriptor.dir, 'logs'), baseEnv: { NODE_COMPILE_CACHE: join(tmpdir(), 'node-compile-cache') },
    });
    pods = await recordPods(cluster, namespace);
    t = await startTestEngine({
      dags: { 'mixed.ts': DAG },
      env: {
        CAPSTAN__CORE__EXECUTOR: 'LocalKubernetesExecutor',
        CAPSTAN__KUBERNETES_EXECUTOR__NAMESPACE: namespace,
        CAPSTAN__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE: join(dir, 'worker.yaml'),
      },
    });
  });
  after(async () => {
    await t?.stop();
    await pods?.stop();
    await kubelet?.stop();
    await cluster?.kubeConfig.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
    if (previousKubeconfig === undefined) delete process.env['KUBECONFIG'];
    else process.env['KUBECONFIG'] = previousKubeconfig;
  });

  void test('the kubernetes queue runs in a pod, the rest locally', async () => {
    assert.ok(t.executor instanceof LocalKubernetesExecutor);
    await t.trigger('mixed', { runId: 'r1' });
    const run = await t.waitForRun('mixed', 'r1', { timeoutMs: 60_000 });
    const tis = Object.fromEntries((await t.taskInstances('mixed', 'r1')).map((ti) => [ti.task_id, ti]));
    assert.equal(run.state, 'success', JSON.stringify(Object.values(tis).map((ti) => [ti.task_id, ti.state, ti.failure_reason])));
    const podTasks = [...pods.byTry.keys()].map((k) => k.split('#')[0]);
    assert.deepEqual(podTasks, [tis['in_pod']?.id], 'exactly one pod, for the kubernetes-queue task');
    // The task reports success before its process exits: wait for the exit the kubelet records.
    await waitFor('the worker process in the pod exited 0', async () => ([...kubelet.runs.values()].some((r) => r.exitCode !== undefined) ? true : undefined), 20_000);
    assert.deepEqual([...kubelet.runs.values()].map((r) => r.exitCode), [0], 'its worker process ran in the pod, once, and exited 0');
    // The pod's log was shipped into the engine's store; the local tasks wrote theirs there directly.
    const store = new LocalFileTaskLogHandler(t.engine.config.logging.baseLogFolder);
    assert.match((await store.read({ dagId: 'mixed', runId: 'r1', taskId: 'in_pod', tryNumber: 1 })).text, /INFO in a pod: true\n/);
    assert.match((await store.read({ dagId: 'mixed', runId: 'r1', taskId: 'local_first', tryNumber: 1 })).text, /INFO local\n/);
  });
});
