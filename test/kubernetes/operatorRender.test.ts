// Dry runs of the Kubernetes operators (`renderPod` / `renderJob`, what `capstan tasks render-pod` prints) are
// the manifests the tasks create: with doXcomPush they carry the XCom sidecar, its volume and the base
// container's mount, with the sidecar image and resources of the connection when the task sets none.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1PodSpec } from '@kubernetes/client-node';
import { KubernetesJobOperator } from '../../src/kubernetes/operators/jobOperator.ts';
import { KubernetesPodOperator } from '../../src/kubernetes/operators/podOperator.ts';
import { XCOM_MOUNT_PATH, XCOM_SIDECAR_NAME } from '../../src/kubernetes/lifecycle/index.ts';
import { dag } from '../../src/sdk/index.ts';
import type { TaskConnection } from '../../src/sdk/taskContext.ts';

const identity = { dagId: 'etl', taskId: 'count', runId: 'manual__2026-12-01T00:00:00+00:00', tryNumber: 1 };
const connection: TaskConnection = {
  connId: 'k8s', connType: 'kubernetes', host: null, login: null, password: null, schema: null, port: null,
  extra: { namespace: 'etl', xcomSidecarImage: 'registry.local/alpine:3.22', xcomSidecarResources: JSON.stringify({ limits: { memory: '32Mi' } }) },
};

/** Operators exist only inside a DAG definition. */
function inDag<T>(make: () => T): T {
  let made: T | undefined;
  dag({ dagId: 'etl', schedule: null }, () => {
    made = make();
  });
  assert.ok(made !== undefined);
  return made;
}

function assertSidecar(spec: V1PodSpec | undefined, image: string): void {
  const sidecar = spec?.initContainers?.find((c) => c.name === XCOM_SIDECAR_NAME);
  assert.ok(sidecar, 'the XCom sidecar is in the rendered manifest');
  assert.equal(sidecar.restartPolicy, 'Always');
  assert.equal(sidecar.image, image);
  assert.ok(spec?.volumes?.some((v) => v.name === XCOM_SIDECAR_NAME && v.emptyDir !== undefined), 'the XCom volume');
  const base = spec?.containers.find((c) => c.name === 'base');
  assert.ok(base?.volumeMounts?.some((m) => m.mountPath === XCOM_MOUNT_PATH), 'the base container mounts it');
}

void describe('dry runs show the XCom sidecar doXcomPush adds', () => {
  void test('KubernetesPodOperator.renderPod and dryRun', async () => {
    const op = inDag(() => new KubernetesPodOperator({ taskId: 'count', image: 'busybox:1.36', doXcomPush: true }));
    const pod = await op.renderPod(identity);
    assertSidecar(pod.spec, 'alpine:3.22');
    assert.match(await op.dryRun(identity), new RegExp(`name: ${XCOM_SIDECAR_NAME}`));
    const withConn = await op.renderPod(identity, connection);
    assertSidecar(withConn.spec, 'registry.local/alpine:3.22');
    assert.deepEqual(withConn.spec?.initContainers?.find((c) => c.name === XCOM_SIDECAR_NAME)?.resources, { limits: { memory: '32Mi' } });
    const own = await inDag(() => new KubernetesPodOperator({ taskId: 'count', image: 'busybox:1.36', doXcomPush: true, xcomSidecar: { image: 'mine:1' } })).renderPod(identity, connection);
    assertSidecar(own.spec, 'mine:1');
  });

  void test('without doXcomPush there is no sidecar', async () => {
    const pod = await inDag(() => new KubernetesPodOperator({ taskId: 'count', image: 'busybox:1.36' })).renderPod(identity);
    assert.equal(pod.spec?.initContainers, undefined);
    assert.equal(pod.spec?.volumes, undefined);
  });

  void test('KubernetesJobOperator.renderJob', async () => {
    const job = await inDag(() => new KubernetesJobOperator({ taskId: 'count', image: 'busybox:1.36', doXcomPush: true })).renderJob(identity, connection);
    assertSidecar(job.spec?.template.spec, 'registry.local/alpine:3.22');
  });
});
