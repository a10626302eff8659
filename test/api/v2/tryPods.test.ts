/**
 * API v2 pod routes of a try without a cluster: a real engine with the LocalExecutor (no cluster configured)
 * answers 404 with the problem shape on every pod route, a cluster named by a missing connection is a 404
 * too, bad pod names are 400s naming the field, and the pod summary of a waiting (ImagePullBackOff) and an
 * OOM-killed container reads their reasons and exit codes. The routes against a real control plane are in
 * test/kubernetes/cluster/apiTryPods.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { apiV2Client, type ApiV2Client } from '../../../src/api/public/v2/client/index.ts';
import { podSummaryView } from '../../../src/api/public/v2/schemas/pods.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const DAG = `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'no_pods', schedule: null }, () => {
  new BashOperator({ taskId: 'local', bashCommand: 'echo local' });
});
`;
const PODS = '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods' as const;
const EVENTS = '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods/{podName}/events' as const;
const LOG = '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods/{podName}/log' as const;

describe('API v2 try pods without a cluster', () => {
  let t: TestEngine;
  let api: ApiV2Client;
  const path = { dagId: 'no_pods', dagRunId: 'r1', taskId: 'local', tryNumber: 1 };
  before(async () => {
    t = await startTestEngine({ triggerer: false, dags: { 'dag.ts': DAG } });
    api = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
    await t.trigger('no_pods', { runId: 'r1' });
    assert.equal((await t.waitForRun('no_pods', 'r1')).state, 'success');
  });
  after(async () => {
    await t.stop();
  });

  test('no cluster configured: 404 not_found naming why, on every pod route', async () => {
    const pods = await api.call('get', PODS, { path });
    assert.equal(pods.status, 404);
    assert.equal(pods.error?.error.code, 'not_found');
    assert.match(pods.error?.error.message ?? '', /no Kubernetes cluster/);
    assert.match(pods.error?.error.hint ?? '', /KubernetesExecutor/);
    for (const route of [EVENTS, LOG]) {
      const r = await api.call('get', route, { path: { ...path, podName: 'capstan-worker-abc' } });
      assert.equal(r.status, 404, route);
    }
    const stream = await t.apiFetch('/api/v2/dags/no_pods/dagRuns/r1/taskInstances/local/tries/1/pods/capstan-worker-abc/log/stream');
    assert.equal(stream.status, 404);
    assert.equal(((await stream.json()) as { error: { code: string } }).error.code, 'not_found');
  });

  test('inputs: unknown task and try are 404s, a bad pod name or container a 400 naming it', async () => {
    assert.equal((await api.call('get', PODS, { path: { ...path, taskId: 'nope' } })).status, 404);
    const laterTry = await api.call('get', PODS, { path: { ...path, tryNumber: 5 } });
    assert.equal(laterTry.status, 404);
    assert.match(laterTry.error?.error.message ?? '', /1 tries, not 5/);
    const badPod = await api.call('get', LOG, { path: { ...path, podName: 'Not_A_Pod' } });
    assert.deepEqual([badPod.status, badPod.error?.error.field], [400, 'podName']);
    const badContainer = await api.call('get', LOG, { path: { ...path, podName: 'p' }, query: { container: 'A B' } });
    assert.deepEqual([badContainer.status, badContainer.error?.error.field], [400, 'container']);
  });

  test('pod summary: a waiting container’s reason and an OOM-killed one’s exit code, no spec or env', () => {
    const pod: V1Pod = {
      metadata: { name: 'etl-load-1', namespace: 'capstan', labels: { 'capstan.dev/kind': 'pod-operator' }, creationTimestamp: new Date('2026-01-01T00:00:00Z') },
      spec: { nodeName: 'node-a', containers: [{ name: 'base', image: 'repo/app:1', env: [{ name: 'PASSWORD', value: 'hunter2' }] }, { name: 'sidecar' }] },
      status: {
        phase: 'Pending',
        containerStatuses: [
          { name: 'base', image: 'repo/app:1', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "repo/app:1"' } } },
          {
            name: 'sidecar', image: 'busybox', imageID: '', ready: false, restartCount: 1,
            state: { terminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: new Date('2026-01-01T00:01:00Z') } },
            lastState: { terminated: { exitCode: 1, reason: 'Error' } },
          },
        ],
      },
    };
    const view = podSummaryView(pod);
    assert.deepEqual([view.name, view.namespace, view.kind, view.node, view.phase, view.createdAt], ['etl-load-1', 'capstan', 'pod-operator', 'node-a', 'Pending', '2026-01-01T00:00:00.000Z']);
    assert.deepEqual([view.containers[0]?.state, view.containers[0]?.reason, view.containers[0]?.exitCode], ['waiting', 'ImagePullBackOff', null]);
    assert.deepEqual([view.containers[1]?.state, view.containers[1]?.reason, view.containers[1]?.exitCode, view.containers[1]?.lastTermination?.reason], ['terminated', 'OOMKilled', 137, 'Error']);
    assert.doesNotMatch(JSON.stringify(view), /hunter2/);
  });
});

describe('API v2 try pods with a cluster named by a missing connection', () => {
  let t: TestEngine;
  before(async () => {
    t = await startTestEngine({ triggerer: false, dags: { 'dag.ts': DAG }, env: { CAPSTAN__KUBERNETES_EXECUTOR__KUBERNETES_CONN_ID: 'no_such_cluster' } });
    await t.trigger('no_pods', { runId: 'r1' });
    await t.waitForRun('no_pods', 'r1');
  });
  after(async () => {
    await t.stop();
  });

  test('answers the problem shape, never a 5xx', async () => {
    const res = await t.apiFetch('/api/v2/dags/no_pods/dagRuns/r1/taskInstances/local/tries/1/pods');
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${JSON.stringify(body)}`);
    assert.match(body.error.message, /no_such_cluster/);
  });
});
