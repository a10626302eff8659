// Shared setup of the deferrable KubernetesPodOperator tests (podDeferrable*.test.ts): a namespace on the real
// control plane, a test engine (real scheduler, LocalExecutor task processes, core.parallelism 2) with no
// triggerer of its own, and a triggerer the test starts and stops itself so it can restart it.
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { XCOM_MARKER, XCOM_SIDECAR_NAME } from '../../../src/kubernetes/lifecycle/index.ts';
import { ConnectionStore } from '../../../src/store/connections.ts';
import { createFernet } from '../../../src/crypto/index.ts';
import { readTaskLog } from '../../../src/logging/taskLogReader.ts';
import { taskLogPath } from '../../../src/logging/taskLog.ts';
import { createTriggerer } from '../../../src/app/roles.ts';
import type { Triggerer } from '../../../src/triggerer/index.ts';
import { connectTestCluster, podAnnotations } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { join } from 'node:path';
import { K8S_EXAMPLES_FOLDER } from '../../examples/kubernetesExamplesSupport.ts';

const XCOM = `${XCOM_MARKER} begin 12\n{"rows": 42}\n${XCOM_MARKER} end\n`;
/** Tasks of the fan-out DAG (more than core.parallelism). */
export const FAN_OUT = 4;

function dagSource(a: Record<string, Record<string, string>>): string {
  return `
import { open } from 'node:fs/promises';
import { dag, KubernetesPodOperator } from 'capstan';
const a = ${JSON.stringify(a)};
// Injected delay: the task process's next file append (the task log's, with the line just printed) lands 1.5 s
// late, so an outcome reported before the log is written would be recorded without that line.
async function delayNextLogWrite() {
  const handle = await open(process.execPath, 'r');
  const proto = Object.getPrototypeOf(handle);
  await handle.close();
  const appendFile = proto.appendFile;
  proto.appendFile = async function (...args) {
    proto.appendFile = appendFile;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return appendFile.apply(this, args);
  };
}
const base = { image: 'busybox:1.36', kubernetesConnId: 'k8s_test', deferrable: true };
dag({ dagId: 'kpo_defer_ok', schedule: null }, () => {
  new KubernetesPodOperator({ ...base, taskId: 'ok', doXcomPush: true, annotations: a.ok,
    podCallbacks: {
      onPodCreation: ({ mode }) => console.log('callback onPodCreation ' + mode),
      onOperatorResuming: ({ mode }) => console.log('callback onOperatorResuming ' + mode),
      onPodCompletion: ({ mode }) => console.log('callback onPodCompletion ' + mode),
      onPodTeardown: () => console.log('callback onPodTeardown'),
      onPodCleanup: async () => {
        await delayNextLogWrite();
        console.log('callback onPodCleanup');
      },
    } });
  new KubernetesPodOperator({ ...base, taskId: 'fails', annotations: a.fails });
});
dag({ dagId: 'kpo_defer_many', schedule: null }, () => {
  for (let i = 0; i < ${FAN_OUT}; i++) new KubernetesPodOperator({ ...base, taskId: 'p' + i, annotations: a.forever });
});
dag({ dagId: 'kpo_defer_stuck', schedule: null }, () => {
  new KubernetesPodOperator({ ...base, taskId: 'stuck', startupTimeoutSeconds: 2, annotations: a.stuck });
});
dag({ dagId: 'kpo_defer_forever', schedule: null }, () => {
  new KubernetesPodOperator({ ...base, taskId: 'forever', annotations: a.forever });
});
dag({ dagId: 'kpo_defer_timeout', schedule: null }, () => {
  new KubernetesPodOperator({ ...base, taskId: 'slow', executionTimeout: '4s', annotations: a.forever });
});
dag({ dagId: 'kpo_defer_restart', schedule: null }, () => {
  new KubernetesPodOperator({ ...base, taskId: 'long', annotations: a.forever });
});
`;
}

/** The example k8s_deferrable, unchanged but for the test namespace and each shard pod's simulated outcome and XCom. */
function exampleRun(namespace: string): string {
  const shard = (i: number): Record<string, string> => {
    const json = JSON.stringify({ shard: i, loss: Math.round((0.1 + i / 100) * 1000) / 1000 });
    return podAnnotations({ outcome: 'succeed', runMs: 300, logs: { base: `training shard ${i}\n`, [XCOM_SIDECAR_NAME]: `${XCOM_MARKER} begin ${Buffer.byteLength(json)}\n${json}\n${XCOM_MARKER} end\n` } });
  };
  const perTask = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`train_shard_${i}`, shard(i)]));
  return `
import example from ${JSON.stringify(join(K8S_EXAMPLES_FOLDER, 'k8s_deferrable.ts'))};
import { KubernetesPodOperator } from 'capstan';
const perTask = ${JSON.stringify(perTask)};
for (const t of example.tasks.values()) {
  if (!(t instanceof KubernetesPodOperator)) continue;
  t.podOptions.namespace = ${JSON.stringify(namespace)};
  t.podOptions.annotations = { ...(t.podOptions.annotations ?? {}), ...perTask[t.taskId] };
}
export default example;
`;
}

/** The running setup; `stop()` ends everything it started. */
export interface DeferrableSetup {
  core: CoreV1Api;
  /** The control plane (e.g. `setPodLogs` to make a running pod print more). */
  cluster: TestCluster;
  namespace: string;
  t: TestEngine;
  triggerer(): Triggerer | undefined;
  startTriggerer(): void;
  stopTriggerer(): Promise<void>;
  /** The DAG's pods not being deleted. */
  podsOf(dagId: string): Promise<V1Pod[]>;
  /** Lets the DAG's `run-forever` pods finish now (the simulated kubelet re-reads the outcome annotation). */
  release(dagId: string): Promise<void>;
  states(dagId: string, runId: string): Promise<string[]>;
  log(dagId: string, runId: string, taskId: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startDeferrableSetup(): Promise<DeferrableSetup> {
  const cluster: TestCluster = await connectTestCluster();
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const namespace = await cluster.createNamespace('kpo-defer');
  const t = await startTestEngine({
    triggerer: false,
    env: { CAPSTAN__CORE__PARALLELISM: '2' },
    dags: {
      'kpo_defer.ts': dagSource({
        ok: podAnnotations({ outcome: 'succeed', runMs: 1500, logs: { base: 'hello\nfrom the deferred pod\n', [XCOM_SIDECAR_NAME]: XCOM } }),
        fails: podAnnotations({ outcome: 'fail', exitCode: 3, terminationMessage: 'input bucket is empty', runMs: 1500, logs: { base: 'checking input\n' } }),
        stuck: podAnnotations({ outcome: 'pending' }),
        forever: podAnnotations({ outcome: 'run-forever', logs: { base: 'ran while deferred\n' } }),
      }),
      'run_k8s_deferrable.ts': exampleRun(namespace),
    },
  });
  const fernet = createFernet(t.engine.config.core.fernetKey);
  for (const connId of ['k8s_test', 'kubernetes_default']) await new ConnectionStore(t.engine.db, { fernet }).add({
    connId, connType: 'kubernetes', description: 'test control plane', host: null, schema: null, login: null, password: null, port: null,
    extra: { kubeconfigPath: cluster.kubeconfigPath, namespace },
  });
  let running: { t: Triggerer; stop: AbortController; done: Promise<void> } | undefined;
  const startTriggerer = (): void => {
    const tr = createTriggerer(t.engine);
    const stop = new AbortController();
    running = { t: tr, stop, done: tr.run(stop.signal) };
  };
  const stopTriggerer = async (): Promise<void> => {
    running?.stop.abort();
    await running?.done;
    running = undefined;
  };
  const podsOf = async (dagId: string): Promise<V1Pod[]> => (await core.listNamespacedPod({ namespace, labelSelector: `capstan.dev/dag-id=${dagId}` })).items
    .filter((p) => !p.metadata?.deletionTimestamp);
  startTriggerer();
  return {
    core, cluster, namespace, t, startTriggerer, stopTriggerer, podsOf,
    triggerer: () => running?.t,
    release: async (dagId) => {
      for (const p of await podsOf(dagId)) {
        await core.patchNamespacedPod({ namespace, name: p.metadata?.name ?? '',
          body: { metadata: { annotations: { 'capstan.test/outcome': 'succeed', 'capstan.test/run-duration': '100ms' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      }
    },
    states: async (dagId, runId) => Object.values(await t.taskStates(dagId, runId)),
    log: async (dagId, runId, taskId) =>
      (await readTaskLog(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId, runId, taskId, mapIndex: -1, tryNumber: 1 }))).text,
    stop: async () => {
      await stopTriggerer();
      await t.stop();
      await core.deleteNamespace({ name: namespace }).catch(() => {});
      await cluster.stop();
    },
  };
}
