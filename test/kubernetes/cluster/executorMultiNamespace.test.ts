// The KubernetesExecutor in multi-namespace mode against the real control plane: one executor places worker pods
// in its own namespace and in a second watched one (by a task's podOverride), watches both and ends every try; a
// pod for a namespace it does not watch is refused before anything is created; and a second executor adopts a
// running pod in the second namespace (the first lets go), reports its end and deletes it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executorIdLabel } from '../../../src/executors/kubernetes/index.ts';
import type { ExecutorEvent } from '../../../src/executors/types.ts';
import { binariesAvailable, connectTestCluster, waitFor } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { startLocalKubelet, type LocalKubelet } from '../../support/k8s/localKubelet.ts';
import { RUN_LOCALLY_LABEL, secondExecutor, startExecutorHarness, type ExecutorHarness } from './executorSupport.ts';

const available = await binariesAvailable();

function dagSource(away: string, stray: string): string {
  return `
import { dag, BashOperator } from 'capstan';
const into = (namespace) => ({ podOverride: { metadata: { namespace } } });
export default dag({ dagId: 'mn', schedule: null }, () => {
  new BashOperator({ taskId: 'home', bashCommand: 'echo at home' });
  new BashOperator({ taskId: 'away', bashCommand: 'echo away', executorConfig: into('${away}') });
  new BashOperator({ taskId: 'away_long', bashCommand: 'sleep 6; echo finished away', executorConfig: into('${away}') });
  new BashOperator({ taskId: 'stray', bashCommand: 'true', executorConfig: into('${stray}') });
});
`;
}

void describe('KubernetesExecutor in multi-namespace mode', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let home: string;
  let away: string;
  let h: ExecutorHarness;
  let awayKubelet: LocalKubelet;

  before(async () => {
    cluster = await connectTestCluster();
    home = await cluster.createNamespace('kexec-home');
    away = await cluster.createNamespace('kexec-away');
    awayKubelet = await startLocalKubelet({
      kubeConfig: cluster.kubeConfig,
      namespace: away,
      labelSelector: `${RUN_LOCALLY_LABEL}=yes`,
      logsDir: join(cluster.descriptor.dir, 'logs'),
      maxGraceMs: 5000,
      baseEnv: { NODE_COMPILE_CACHE: join(tmpdir(), 'node-compile-cache') },
    });
    h = await startExecutorHarness({
      cluster,
      namespace: home,
      dags: { 'mn.ts': dagSource(away, 'kexec-unwatched') },
      settings: { multiNamespaceMode: true, multiNamespaceModeNamespaceList: away, podCheckIntervalMs: 300 },
    });
  });
  after(async () => {
    await h?.stop();
    await awayKubelet?.stop();
    for (const name of [home, away]) await h?.core.deleteNamespace({ name }).catch(() => {});
    await cluster?.stop();
  });

  void test('pods go to both watched namespaces, every try ends, an unwatched namespace is refused, and a second executor adopts across namespaces', async () => {
    await h.t.trigger('mn', { runId: 'r1' });
    const awayPods = async () => (await h.core.listNamespacedPod({ namespace: away, labelSelector: 'capstan.dev/kind=worker' })).items;
    const longPod = await waitFor('away_long running in the second namespace', async () =>
      (await awayPods()).find((p) => p.metadata?.annotations?.['capstan.dev/task-id'] === 'away_long' && p.status?.phase === 'Running'), 30_000);
    const settled = await waitFor('home, away and stray settled', async () => {
      const tis = Object.fromEntries((await h.t.taskInstances('mn', 'r1')).map((ti) => [ti.task_id, ti]));
      return ['home', 'away', 'stray'].every((t) => tis[t]?.state === 'success' || tis[t]?.state === 'failed') ? tis : undefined;
    }, 30_000);
    assert.equal(settled['home']?.state, 'success', settled['home']?.failure_reason ?? '');
    assert.equal(settled['away']?.state, 'success', settled['away']?.failure_reason ?? '');
    assert.equal(settled['stray']?.state, 'failed');
    assert.match(settled['stray']?.failure_reason ?? '', /kexec-unwatched/);
    const homeTasks = (await h.pods()).map((p) => p.metadata?.annotations?.['capstan.dev/task-id']);
    assert.ok(!homeTasks.includes('away') && !homeTasks.includes('away_long'), `no away task in the home namespace: ${homeTasks.join(', ')}`);
    const ran = [...awayKubelet.runs.values()].map((r) => r.pod);
    assert.ok(ran.some((name) => name.startsWith('mn-away-')), `the away kubelet ran the away task: ${ran.join(', ')}`);

    // A second executor watching the same namespaces adopts the running pod in the second namespace.
    const bId = 'scheduler-b-multi-namespace';
    const b = secondExecutor(h, cluster, { namespace: home, multiNamespaceMode: true, multiNamespaceModeNamespaceList: away });
    try {
      await b.start({ jobId: bId });
      const ti = (await h.t.taskInstances('mn', 'r1')).find((t) => t.task_id === 'away_long');
      assert.ok(ti && ti.state === 'running', `away_long is running: ${ti?.state}`);
      assert.deepEqual((await b.tryAdopt([ti])).map((t) => t.id), [], 'the pod in the second namespace is found and adopted');
      const relabelled = await h.core.readNamespacedPod({ namespace: away, name: longPod.metadata?.name ?? '' });
      assert.equal(relabelled.metadata?.labels?.['capstan.dev/executor-id'], executorIdLabel(bId));
      // A holds nothing once it let go (its other tries' slots may still be freeing as their pods' ends arrive).
      await waitFor('executor A let go of the adopted pod', async () => (h.executor.openSlots() === h.t.engine.config.core.parallelism ? true : undefined), 20_000);
      const events: ExecutorEvent[] = [];
      await waitFor('executor B reports the end', async () => {
        events.push(...(await b.sync()));
        return events.length > 0 ? true : undefined;
      }, 20_000);
      assert.deepEqual(events.map((e) => [e.kind, e.tiId, e.kind === 'exited' ? e.exitCode : null]), [['exited', ti.id, 0]]);
      const run = await h.t.waitForRun('mn', 'r1', { timeoutMs: 20_000 });
      assert.equal(run.state, 'failed', 'stray failed the run');
      const final = (await h.t.taskInstances('mn', 'r1')).find((t) => t.task_id === 'away_long');
      assert.equal(final?.state, 'success', final?.failure_reason ?? '');
      await waitFor('the adopted pod deleted by its adopter', async () =>
        ((await awayPods()).some((p) => p.metadata?.name === longPod.metadata?.name && p.metadata?.deletionTimestamp === undefined) ? undefined : true), 15_000);
    } finally {
      await b.end();
    }
  });
});
