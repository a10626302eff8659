// SparkKubernetesOperator end to end on the real control plane with the SparkApplication CRD installed. No
// Spark operator runs here: the test plays its part — it sees each new application, writes SUBMITTED, creates
// the driver pod (kwok plays its fate from annotations), writes RUNNING, and once the driver pod ended writes
// COMPLETED or FAILED with an errorMessage through the status subresource, as the Spark operator would.
// Proven: COMPLETED → task success with the driver's log in the task log and the application deleted;
// FAILED → task failure carrying the errorMessage; a driver whose image cannot be pulled fails fast.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { SPARK_APPLICATION, SPARK_DRIVER_CONTAINER } from '../../../src/kubernetes/spark/index.ts';
import type { SparkApplicationObject } from '../../../src/kubernetes/spark/index.ts';
import { ConnectionStore } from '../../../src/store/connections.ts';
import { createFernet } from '../../../src/crypto/index.ts';
import { readTaskLog } from '../../../src/logging/taskLogReader.ts';
import { taskLogPath } from '../../../src/logging/taskLog.ts';
import { binariesAvailable, connectTestCluster, podAnnotations, waitFor } from '../../support/k8s/index.ts';
import type { PodBehaviour, TestCluster } from '../../support/k8s/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { installSparkCrd } from './sparkCrd.ts';

const available = await binariesAvailable();
const { group, version, plural } = SPARK_APPLICATION;

/** The driver's behaviour per task id, and the error the fake Spark operator reports on failure. */
interface Script { driver: PodBehaviour; failWith?: string }

const TEMPLATE = `
spark:
  apiVersion: sparkoperator.k8s.io/v1beta2
  kind: SparkApplication
  spec:
    type: Python
    mode: cluster
    sparkVersion: 3.5.3
    driver:
      serviceAccount: spark
      container_resources:
        cpu: { request: 1 }
        memory: { limit: 1400Mi }
    executor:
      instances: 1
kubernetes:
  env_vars:
    - name: RUN_ID
      value: "{{ run_id }}"
`;

function dagSource(): string {
  return `
import { dag, SparkKubernetesOperator } from 'capstan';
const common = { image: 'spark:3.5.3', codePath: 'local:///opt/spark/examples/src/main/python/pi.py', kubernetesConnId: 'k8s_test', applicationFile: ${JSON.stringify(TEMPLATE)} };
export const first = dag({ dagId: 'spark', schedule: null }, () => {
  new SparkKubernetesOperator({ ...common, taskId: 'pi' });
  new SparkKubernetesOperator({ ...common, taskId: 'broken' });
  new SparkKubernetesOperator({ ...common, taskId: 'no_image' });
});
export const deferred = dag({ dagId: 'spark_defer', schedule: null }, () => {
  new SparkKubernetesOperator({ ...common, taskId: 'pi_deferred', deferrable: true });
});
export const again = dag({ dagId: 'spark_again', schedule: null }, () => {
  new SparkKubernetesOperator({ ...common, taskId: 'pi' });
});
`;
}

void describe('SparkKubernetesOperator through the engine', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let namespace: string;
  let t: TestEngine;
  const stop = new AbortController();
  const seenEnv = new Map<string, unknown>();
  const scripts: Record<string, Script> = {
    pi: { driver: { outcome: 'succeed', runMs: 300, logs: { [SPARK_DRIVER_CONTAINER]: 'Pi is roughly 3.14159\n' } } },
    broken: { driver: { outcome: 'fail', exitCode: 1, terminationMessage: 'java.lang.ArithmeticException', runMs: 100 }, failWith: 'driver container failed with ExitCode: 1, Reason: Error' },
    no_image: { driver: { outcome: 'image-pull-error' } },
    pi_deferred: { driver: { outcome: 'succeed', runMs: 3000, logs: { [SPARK_DRIVER_CONTAINER]: 'Pi computed while deferred\n' } } },
  };

  const setStatus = (name: string, status: Record<string, unknown>) => custom.patchNamespacedCustomObjectStatus(
    { group, version, namespace, plural, name, body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));

  /** The Spark operator's part, for every application of the namespace. */
  async function fakeSparkOperator(until: AbortSignal = stop.signal): Promise<void> {
    const handled = new Set<string>();
    while (!until.aborted) {
      const apps = (await custom.listNamespacedCustomObject({ group, version, namespace, plural }) as { items: SparkApplicationObject[] }).items;
      for (const app of apps) {
        const name = app.metadata?.name ?? '';
        const task = app.metadata?.labels?.['capstan.dev/task-id'] ?? '';
        const script = scripts[task];
        if (script === undefined || handled.has(name)) continue;
        handled.add(name);
        seenEnv.set(task, (app.spec?.['driver'] as { env?: unknown } | undefined)?.env);
        void drive(name, script, until).catch((e: unknown) => { if (!until.aborted) console.error('fake spark operator:', e); });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function drive(name: string, script: Script, until: AbortSignal): Promise<void> {
    await setStatus(name, { applicationState: { state: 'SUBMITTED' }, driverInfo: { podName: `${name}-driver` } });
    await core.createNamespacedPod({ namespace, body: {
      metadata: { name: `${name}-driver`, labels: { 'spark-role': 'driver', 'sparkoperator.k8s.io/app-name': name }, annotations: podAnnotations(script.driver) },
      spec: { restartPolicy: 'Never', containers: [{ name: SPARK_DRIVER_CONTAINER, image: 'spark:3.5.3' }] },
    } });
    if (script.driver.outcome === 'image-pull-error') return; // stays SUBMITTED: the Capstan operator must fail fast on its own
    await waitFor(`${name} driver running`, async () => {
      const p = until.aborted ? 'stopped' : (await core.readNamespacedPod({ namespace, name: `${name}-driver` })).status?.phase;
      return p === 'Running' || p === 'Succeeded' || p === 'Failed' || p === 'stopped' ? p : undefined;
    }, 30_000, 100);
    await setStatus(name, { applicationState: { state: 'RUNNING' } });
    const final = await waitFor(`${name} driver ended`, async () => {
      const p = until.aborted ? 'stopped' : (await core.readNamespacedPod({ namespace, name: `${name}-driver` })).status?.phase;
      return p === 'Succeeded' || p === 'Failed' || p === 'stopped' ? p : undefined;
    }, 30_000, 100);
    if (final === 'stopped') return;
    await setStatus(name, final === 'Succeeded'
      ? { applicationState: { state: 'COMPLETED' } }
      : { applicationState: { state: 'FAILED', errorMessage: script.failWith ?? 'driver failed' } });
  }

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    namespace = await cluster.createNamespace('spark');
    await installSparkCrd(cluster);
    t = await startTestEngine({ dags: { 'spark.ts': dagSource() } });
    const fernet = createFernet(t.engine.config.core.fernetKey);
    await new ConnectionStore(t.engine.db, { fernet }).add({
      connId: 'k8s_test', connType: 'kubernetes', description: 'test control plane',
      host: null, schema: null, login: null, password: null, port: null,
      extra: { kubeconfigPath: cluster.kubeconfigPath, namespace },
    });
  });
  after(async () => {
    stop.abort();
    await t?.stop();
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  void test('COMPLETED succeeds with the driver log; FAILED fails with the errorMessage; a driver that cannot pull fails fast', async () => {
    const operator = fakeSparkOperator();
    await t.trigger('spark', { runId: 's1' });
    await t.waitForRun('spark', 's1', { timeoutMs: 90_000 });
    const tis = Object.fromEntries((await t.taskInstances('spark', 's1')).map((ti) => [ti.task_id, ti]));

    assert.equal(tis.pi?.state, 'success', tis.pi?.failure_reason ?? '');
    const log = (await readTaskLog(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'spark', runId: 's1', taskId: 'pi', mapIndex: -1, tryNumber: 1 }))).text;
    assert.match(log, /\[driver\] Pi is roughly 3\.14159/);
    assert.match(log, /state: SUBMITTED/);
    assert.match(log, /state: RUNNING/);
    assert.match(log, /COMPLETED/);
    assert.deepEqual(seenEnv.get('pi'), [{ name: 'RUN_ID', value: 's1' }], 'the template was rendered and its kubernetes: section applied');

    assert.equal(tis.broken?.state, 'failed');
    assert.match(tis.broken?.failure_reason ?? '', /FAILED: driver container failed with ExitCode: 1, Reason: Error/);
    assert.match(tis.broken?.failure_reason ?? '', /java\.lang\.ArithmeticException/);

    assert.equal(tis.no_image?.state, 'failed');
    assert.match(tis.no_image?.failure_reason ?? '', /driver pod .* cannot start, container spark-kubernetes-driver (ErrImagePull|ImagePullBackOff)/);

    // deleteOnTermination (default): no application is left.
    const left = (await custom.listNamespacedCustomObject({ group, version, namespace, plural }) as { items: SparkApplicationObject[] }).items;
    assert.deepEqual(left.filter((a) => a.metadata?.deletionTimestamp === undefined).map((a) => a.metadata?.name), []);
    stop.abort();
    await operator;
  });

  void test('deferrable: the task waits in the triggerer while Spark runs, then resumes with the driver log', async () => {
    const done = new AbortController();
    const operator = fakeSparkOperator(done.signal);
    await t.trigger('spark_defer', { runId: 'd1' });
    await waitFor('task deferred', async () => ((await t.taskInstances('spark_defer', 'd1'))[0]?.state === 'deferred' ? true : undefined), 30_000, 100);
    const finished = await t.waitForRun('spark_defer', 'd1', { timeoutMs: 60_000 });
    done.abort();
    await operator;
    const ti = (await t.taskInstances('spark_defer', 'd1'))[0];
    assert.equal(finished.state, 'success', ti?.failure_reason ?? '');
    assert.equal(ti?.try_number, 1);
    const log = (await readTaskLog(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'spark_defer', runId: 'd1', taskId: 'pi_deferred', mapIndex: -1, tryNumber: 1 }))).text;
    assert.match(log, /deferring to the triggerer until it ends/);
    assert.match(log, /following spark application \S+ after the deferral/);
    assert.match(log, /\[driver\] Pi computed while deferred/);
    assert.match(log, /deleted spark application/);
  });

  void test('a retry reattaches to the application an earlier try created instead of submitting it again', async () => {
    // What a first try left behind: the task's application, labelled with its identity, already RUNNING.
    const labels = { 'capstan.dev/dag-id': 'spark_again', 'capstan.dev/task-id': 'pi', 'capstan.dev/run-id': 'a1', 'capstan.dev/try-number': '1', 'capstan.dev/kind': 'spark-operator' };
    await custom.createNamespacedCustomObject({ group, version, namespace, plural, body: {
      apiVersion: `${group}/${version}`, kind: 'SparkApplication', metadata: { name: 'pi-earlier', labels },
      spec: { type: 'Python', mode: 'cluster', image: 'spark:3.5.3', mainApplicationFile: 'local:///pi.py', driver: { labels }, executor: { labels } },
    } });
    const driverStop = new AbortController();
    const operator = (async () => {
      await setStatus('pi-earlier', { applicationState: { state: 'SUBMITTED' } });
      await core.createNamespacedPod({ namespace, body: {
        metadata: { name: 'pi-earlier-driver', annotations: podAnnotations({ outcome: 'succeed', runMs: 1500, logs: { [SPARK_DRIVER_CONTAINER]: 'resumed driver\n' } }) },
        spec: { restartPolicy: 'Never', containers: [{ name: SPARK_DRIVER_CONTAINER, image: 'spark:3.5.3' }] },
      } });
      await setStatus('pi-earlier', { applicationState: { state: 'RUNNING' } });
      await waitFor('driver ended', async () => {
        const p = driverStop.signal.aborted ? 'x' : (await core.readNamespacedPod({ namespace, name: 'pi-earlier-driver' })).status?.phase;
        return p === 'Succeeded' || p === 'x' ? p : undefined;
      }, 30_000, 100);
      await setStatus('pi-earlier', { applicationState: { state: 'COMPLETED' } });
    })();
    await t.trigger('spark_again', { runId: 'a1' });
    const finished = await t.waitForRun('spark_again', 'a1', { timeoutMs: 60_000 });
    driverStop.abort();
    await operator;
    const ti = (await t.taskInstances('spark_again', 'a1'))[0];
    assert.equal(finished.state, 'success', ti?.failure_reason ?? '');
    const log = (await readTaskLog(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'spark_again', runId: 'a1', taskId: 'pi', mapIndex: -1, tryNumber: 1 }))).text;
    assert.match(log, /reattached to existing spark application .*\/pi-earlier/);
    assert.match(log, /\[driver\] resumed driver/);
    const apps = (await custom.listNamespacedCustomObject({ group, version, namespace, plural, labelSelector: 'capstan.dev/dag-id=spark_again' }) as { items: SparkApplicationObject[] }).items;
    assert.deepEqual(apps.filter((a) => a.metadata?.deletionTimestamp === undefined).map((a) => a.metadata?.name), [], 'no second application; the adopted one deleted at the end');
  });
});
