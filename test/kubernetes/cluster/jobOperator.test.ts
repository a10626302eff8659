// KubernetesJobOperator end to end: DAGs run by the real scheduler and LocalExecutor create Jobs on the real
// control plane, whose real Job controller makes the pods (kwok plays each pod's fate from its annotations).
// Proven here: an Indexed Job (3 completions, parallelism 2) succeeds with the logs of every pod in the task
// log and one XCom per completion index; a Job that keeps failing fails the task after backoffLimit with the
// reason and the pods' termination messages; parallelism > completions finishes; the task process SIGKILLed
// mid-Job is retried and the retry reattaches to the same Job (exactly one Job); Delete and Patch operators.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { XCOM_MARKER, XCOM_SIDECAR_NAME } from '../../../src/kubernetes/lifecycle/index.ts';
import { COMPLETION_INDEX_ANNOTATION } from '../../../src/kubernetes/job/index.ts';
import { ConnectionStore } from '../../../src/store/connections.ts';
import { createFernet } from '../../../src/crypto/index.ts';
import { pullXCom } from '../../../src/store/xcom.ts';
import { readTaskLog } from '../../../src/logging/taskLogReader.ts';
import { taskLogPath } from '../../../src/logging/taskLog.ts';
import { binariesAvailable, connectTestCluster, podAnnotations, waitFor } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const available = await binariesAvailable();

const xcomLog = (value: unknown): string => {
  const body = JSON.stringify(value);
  return `${XCOM_MARKER} begin ${Buffer.byteLength(body)}\n${body}\n${XCOM_MARKER} end\n`;
};

function dagSource(a: Record<string, Record<string, string>>): string {
  return `
import { dag, KubernetesJobOperator, KubernetesDeleteJobOperator, KubernetesPatchJobOperator } from 'capstan';
const a = ${JSON.stringify(a)};
const common = { image: 'busybox:1.37', kubernetesConnId: 'k8s_test' };
export const shards = dag({ dagId: 'kjo_shards', schedule: null }, () => {
  new KubernetesJobOperator({ ...common, taskId: 'shards', completions: 3, parallelism: 2, completionMode: 'Indexed', doXcomPush: true, annotations: a.shards });
  new KubernetesJobOperator({ ...common, taskId: 'fails', backoffLimit: 1, annotations: a.fails });
  new KubernetesJobOperator({ ...common, taskId: 'wide', completions: 1, parallelism: 3, annotations: a.wide });
  new KubernetesJobOperator({ ...common, taskId: 'bad_image', backoffLimit: 3, activeDeadlineSeconds: 600, annotations: a.badImage });
});
export const timeout = dag({ dagId: 'kjo_timeout', schedule: null }, () => {
  new KubernetesJobOperator({ ...common, taskId: 'forever', executionTimeout: '4s', onKillPropagationPolicy: 'Foreground', annotations: a.forever });
});
export const crash = dag({ dagId: 'kjo_crash', schedule: null }, () => {
  new KubernetesJobOperator({ ...common, taskId: 'long', retries: 1, retryDelay: 0, onFinishAction: 'keep_job', annotations: a.long });
});
export const ops = dag({ dagId: 'kjo_ops', schedule: null }, () => {
  const create = new KubernetesJobOperator({ ...common, taskId: 'create', name: 'suspended-job', randomNameSuffix: false, suspend: true, waitUntilJobComplete: false, annotations: a.wide });
  const resume = new KubernetesPatchJobOperator({ taskId: 'resume', name: 'suspended-job', kubernetesConnId: 'k8s_test', body: { spec: { suspend: false } } });
  const remove = new KubernetesDeleteJobOperator({ taskId: 'delete', name: 'suspended-job', kubernetesConnId: 'k8s_test', waitForCompletion: true, deleteOnStatus: 'Complete', propagationPolicy: 'Foreground' });
  create.before(resume).before(remove);
});
`;
}

void describe('KubernetesJobOperator through the engine', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let batch: BatchV1Api;
  let namespace: string;
  let t: TestEngine;
  const stopFeeding = new AbortController();

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
    namespace = await cluster.createNamespace('kjo');
    t = await startTestEngine({
      dags: {
        'kjo.ts': dagSource({
          // startMs leaves the test time to give each pod its own log and XCom before it starts.
          shards: podAnnotations({ outcome: 'succeed', startMs: 1500, runMs: 300, logs: { base: 'unset\n' } }),
          fails: podAnnotations({ outcome: 'fail', exitCode: 3, terminationMessage: 'shard input missing', runMs: 100 }),
          wide: podAnnotations({ outcome: 'succeed', runMs: 100 }),
          long: podAnnotations({ outcome: 'succeed', runMs: 6000, logs: { base: 'long job working\n' } }),
          badImage: podAnnotations({ outcome: 'image-pull-error' }),
          forever: podAnnotations({ outcome: 'run-forever', logs: { base: 'still going\n' } }),
        }),
      },
    });
    const fernet = createFernet(t.engine.config.core.fernetKey);
    await new ConnectionStore(t.engine.db, { fernet }).add({
      connId: 'k8s_test', connType: 'kubernetes', description: 'test control plane',
      host: null, schema: null, login: null, password: null, port: null,
      extra: { kubeconfigPath: cluster.kubeconfigPath, namespace },
    });
  });
  after(async () => {
    stopFeeding.abort();
    await t?.stop();
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  /** Gives every pod of the `shards` Job its own log and XCom, keyed by its completion index, as soon as it exists. */
  async function feedShardPods(): Promise<void> {
    const done = new Set<string>();
    while (!stopFeeding.signal.aborted) {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: 'capstan.dev/dag-id=kjo_shards,capstan.dev/task-id=shards' });
      for (const pod of pods.items as V1Pod[]) {
        const name = pod.metadata?.name ?? '';
        const index = pod.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION];
        if (done.has(name) || index === undefined) continue;
        done.add(name);
        await cluster.setPodLogs(namespace, name, { base: `hello from index ${index}\n`, [XCOM_SIDECAR_NAME]: xcomLog({ index: Number(index) }) });
      }
      if (done.size >= 3) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const taskLog = (dagId: string, runId: string, taskId: string, tryNumber = 1) =>
    readTaskLog(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId, runId, taskId, mapIndex: -1, tryNumber }));

  void test('indexed Job succeeds with every pod\'s log and XCom per index; backoffLimit failure; parallelism > completions', async () => {
    const feeding = feedShardPods();
    const run = await t.trigger('kjo_shards', { runId: 'r1' });
    await t.waitForRun('kjo_shards', 'r1', { timeoutMs: 90_000 });
    await feeding;
    const tis = Object.fromEntries((await t.taskInstances('kjo_shards', 'r1')).map((ti) => [ti.task_id, ti]));

    assert.equal(tis.shards?.state, 'success', tis.shards?.failure_reason ?? '');
    assert.deepEqual(await pullXCom(t.engine.db, run.id, 'shards', 'return_value'), [{ index: 0 }, { index: 1 }, { index: 2 }]);
    const job = await pullXCom(t.engine.db, run.id, 'shards', 'job') as { status?: { succeeded?: number; conditions?: { type: string }[] } };
    assert.equal(job.status?.succeeded, 3);
    assert.ok(job.status?.conditions?.some((c) => c.type === 'Complete'));
    const log = (await taskLog('kjo_shards', 'r1', 'shards')).text;
    for (const i of [0, 1, 2]) assert.match(log, new RegExp(`\\[shards-[a-z0-9]+-${i}-[a-z0-9]+\\] hello from index ${i}`));

    assert.equal(tis.fails?.state, 'failed');
    assert.match(tis.fails?.failure_reason ?? '', /BackoffLimitExceeded/);
    assert.match(tis.fails?.failure_reason ?? '', /exited with code 3/);
    assert.match(tis.fails?.failure_reason ?? '', /shard input missing/);
    const failLog = (await taskLog('kjo_shards', 'r1', 'fails')).text;
    assert.match(failLog, /\[event\] job Normal SuccessfulCreate/, 'the Job controller\'s events are in the task log');
    assert.equal(new Set([...failLog.matchAll(/job pod (\S+) seen/g)].map((m) => m[1])).size, 2, 'backoffLimit 1: the first pod and one retry, both followed');

    assert.equal(tis.wide?.state, 'success', tis.wide?.failure_reason ?? '');

    // A pod that can never start fails the task at once (the Job controller alone would wait for the deadline).
    assert.equal(tis.bad_image?.state, 'failed');
    assert.match(tis.bad_image?.failure_reason ?? '', /pod \S+ cannot start, container base (ErrImagePull|ImagePullBackOff)/);

    // The default finish action deleted every Job of the run, and no bare pod was ever created.
    await waitFor('jobs deleted', async () => ((await batch.listNamespacedJob({ namespace, labelSelector: 'capstan.dev/dag-id=kjo_shards' })).items.length === 0 ? true : undefined), 30_000, 200);
  });

  void test('the task process SIGKILLed mid-Job is retried and reattaches to the same Job', async () => {
    await t.trigger('kjo_crash', { runId: 'c1' });
    const selector = 'capstan.dev/dag-id=kjo_crash,capstan.dev/task-id=long';
    const firstJob = await waitFor('job created', async () => {
      const jobs = await batch.listNamespacedJob({ namespace, labelSelector: selector });
      return jobs.items[0]?.metadata?.uid;
    }, 30_000, 100);
    const pid = await waitFor('task process pid', async () => {
      const ti = (await t.taskInstances('kjo_crash', 'c1')).find((x) => x.task_id === 'long');
      return ti?.state === 'running' && ti.pid !== null ? ti.pid : undefined;
    }, 30_000, 100);
    process.kill(pid, 'SIGKILL');
    const finished = await t.waitForRun('kjo_crash', 'c1', { timeoutMs: 90_000 });
    const ti = (await t.taskInstances('kjo_crash', 'c1')).find((x) => x.task_id === 'long');
    assert.equal(finished.state, 'success', ti?.failure_reason ?? '');
    assert.equal(ti?.try_number, 2);
    const log2 = (await taskLog('kjo_crash', 'c1', 'long', 2)).text;
    assert.match(log2, /reattached to existing job/);
    assert.match(log2, /long job working/);
    // keep_job: the Job stays (labelled checked), so every Job the task ever created is still listed.
    const jobs = (await batch.listNamespacedJob({ namespace, labelSelector: selector })).items;
    assert.deepEqual(jobs.map((j) => j.metadata?.uid), [firstJob], 'exactly one Job, the first try\'s');
    assert.equal(jobs[0]?.metadata?.labels?.['capstan.dev/already-checked'], 'true');
    const pods = await core.listNamespacedPod({ namespace, labelSelector: selector });
    assert.equal(pods.items.length, 1, 'one pod: the workload ran once');
    assert.match(log2, new RegExp(`job .*long-[a-z0-9]+ completed`));
  });

  void test('a task killed by its execution timeout deletes its Job with the kill propagation policy', async () => {
    await t.trigger('kjo_timeout', { runId: 'x1' });
    await t.waitForRun('kjo_timeout', 'x1', { timeoutMs: 60_000 });
    const ti = (await t.taskInstances('kjo_timeout', 'x1')).find((x) => x.task_id === 'forever');
    assert.equal(ti?.state, 'failed');
    const log = (await taskLog('kjo_timeout', 'x1', 'forever')).text;
    assert.match(log, /still going/);
    assert.match(log, /task killed: deleting job \S+ \(propagation Foreground\)/);
    await waitFor('job and pods gone', async () => {
      const jobs = await batch.listNamespacedJob({ namespace, labelSelector: 'capstan.dev/dag-id=kjo_timeout' });
      const pods = await core.listNamespacedPod({ namespace, labelSelector: 'capstan.dev/dag-id=kjo_timeout' });
      return jobs.items.length === 0 && pods.items.length === 0 ? true : undefined;
    }, 30_000, 200);
  });

  void test('a suspended Job created without waiting, resumed by a patch, deleted once Complete (waiting until gone)', async () => {
    await t.trigger('kjo_ops', { runId: 'o1' });
    const finished = await t.waitForRun('kjo_ops', 'o1', { timeoutMs: 90_000 });
    const tis = Object.fromEntries((await t.taskInstances('kjo_ops', 'o1')).map((ti) => [ti.task_id, ti]));
    assert.equal(finished.state, 'success', `${tis.create?.failure_reason ?? ''} ${tis.resume?.failure_reason ?? ''} ${tis.delete?.failure_reason ?? ''}`);
    assert.equal(await pullXCom(t.engine.db, finished.id, 'create', 'job_name'), 'suspended-job');
    const resumed = await pullXCom(t.engine.db, finished.id, 'resume', 'return_value') as { spec?: { completions?: number } };
    assert.equal(resumed.spec?.completions, 1, 'the patch returns the patched Job');
    assert.equal(await pullXCom(t.engine.db, finished.id, 'delete', 'return_value'), true);
    await assert.rejects(batch.readNamespacedJob({ namespace, name: 'suspended-job' }), (e: { code?: number }) => e.code === 404);
  });
});
