/**
 * The KubernetesPodOperator examples (examples/kubernetes/dags): every file imports, every pod task renders a
 * manifest that passes the pod builder's checks, and the manifests contain what the examples say they do.
 * No cluster: test/kubernetes/cluster/kubernetesExamples.test.ts sends the same manifests to an API server.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { KubernetesPodOperator } from '../../src/kubernetes/operators/podOperator.ts';
import { checkPodManifest } from '../../src/kubernetes/pod/index.ts';
import type { Dag } from '../../src/sdk/dag.ts';
import { loadKubernetesExamples, podTasks } from './kubernetesExamplesSupport.ts';
import type { TaskContext } from '../../src/sdk/taskContext.ts';
import { applyRenderedFields, renderTemplateFields } from '../../src/templating/index.ts';

const identity = (op: KubernetesPodOperator) => ({ dagId: op.dag.dagId, taskId: op.taskId, runId: 'manual__2026-11-23T00:00:00+00:00', tryNumber: 1 });

function base(pod: V1Pod): V1Container {
  const c = pod.spec?.containers.find((x) => x.name === 'base');
  assert.ok(c, `${pod.metadata?.name}: no base container`);
  return c;
}

describe('Kubernetes example DAGs', () => {
  let dags: Map<string, Dag>;
  const pods = new Map<string, V1Pod>();
  const pod = (dagId: string, taskId: string): V1Pod => {
    const p = pods.get(`${dagId}.${taskId}`);
    assert.ok(p, `no pod task ${dagId}.${taskId}`);
    return p;
  };

  before(async () => {
    dags = await loadKubernetesExamples();
    for (const op of podTasks(dags)) pods.set(`${op.dag.dagId}.${op.taskId}`, await op.renderPod(identity(op)));
  });

  test('every example file imports, one DAG per seed topic', () => {
    // The Job, Spark and resource operator examples live in the same folder (tested in test/kubernetes/cluster/resourceExamples.test.ts).
    assert.deepEqual([...dags.keys()].filter((id) => !/^(job|spark|resource)_/.test(id)).sort(), [
      'k8s_advanced',
      'k8s_anti_patterns',
      'k8s_basics',
      'k8s_data_exchange',
      'k8s_deferrable',
      'k8s_etl_custom_image',
      'k8s_image_pull_failure',
      'k8s_integration_env',
      'k8s_ml_training',
      'k8s_patterns',
      'k8s_performance',
      'k8s_polyglot',
      'k8s_templates_and_specs',
      'k8s_troubleshooting',
    ]);
    for (const d of dags.values()) assert.ok(d.tags.includes('kubernetes'), `${d.dagId} is tagged kubernetes`);
  });

  test('every pod task renders a manifest that passes the builder checks, with the task identity and kubernetes_default', () => {
    const ops = podTasks(dags);
    assert.ok(ops.length >= 50, `${ops.length} pod tasks`);
    for (const op of ops) {
      const p = pod(op.dag.dagId, op.taskId);
      assert.doesNotThrow(() => checkPodManifest(p), `${op.dag.dagId}.${op.taskId}`);
      assert.equal(p.metadata?.labels?.['capstan.dev/dag-id'], op.dag.dagId);
      assert.equal(p.metadata?.labels?.['capstan.dev/task-id'], op.taskId);
      assert.equal(p.spec?.restartPolicy, 'Never');
      assert.ok(base(p).image, `${op.taskId}: base has an image`);
      const conn = op.runOptions.kubernetesConnId;
      assert.ok(conn === 'kubernetes_default' || conn === 'kubernetes_dr', `${op.taskId}: ${conn}`);
    }
  });

  test('basics: minimal pod, pull policy and entrypoint, namespaces, names and labels, requests and limits', () => {
    assert.deepEqual(base(pod('k8s_basics', 'hello')).command, ['sh', '-c']);
    assert.equal(base(pod('k8s_basics', 'custom_image')).imagePullPolicy, 'IfNotPresent');
    assert.equal(base(pod('k8s_basics', 'always_pull')).imagePullPolicy, 'Always');
    assert.deepEqual(base(pod('k8s_basics', 'always_pull')).command, ['/app/etl']);
    assert.equal(pod('k8s_basics', 'analytics_namespace').metadata?.namespace, 'analytics');
    const labelled = pod('k8s_basics', 'labelled');
    assert.equal(labelled.metadata?.name, 'nightly-report-dryrun00');
    assert.equal(labelled.metadata?.labels?.['team'], 'data-platform');
    assert.equal(labelled.metadata?.annotations?.['owner'], 'data-platform@example.com');
    assert.deepEqual(base(pod('k8s_basics', 'sized')).resources, { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } });
  });

  test('templates: file overrides merge, fullPodSpec layers over the template, explicit true/null override it', () => {
    const t = pod('k8s_templates_and_specs', 'from_template');
    assert.equal(t.spec?.serviceAccountName, 'capstan-task');
    assert.equal(base(t).image, 'registry.example.com/data/report:3.2');
    assert.deepEqual(base(t).resources, { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } });
    assert.equal(t.metadata?.labels?.['team'], 'reporting');
    assert.equal(t.metadata?.labels?.['cost-center'], undefined);
    assert.deepEqual(base(t).env, [{ name: 'TZ', value: 'Europe/Paris' }, { name: 'REPORT_FORMAT', value: 'pdf' }]);
    const layered = pod('k8s_templates_and_specs', 'layered');
    assert.equal(layered.spec?.automountServiceAccountToken, true);
    assert.equal(layered.metadata?.labels?.['hardened'], 'true');
    assert.equal(layered.spec?.securityContext?.runAsUser, 10001);
    assert.deepEqual(base(layered).securityContext?.capabilities, { drop: ['ALL'] });
    const full = pod('k8s_templates_and_specs', 'full_pod_spec');
    assert.deepEqual(full.spec?.containers.map((c) => c.name), ['base', 'metrics']);
    assert.deepEqual(full.spec?.initContainers?.map((c) => c.name), ['fetch']);
    assert.equal(pod('k8s_templates_and_specs', 'from_dict').spec?.priorityClassName, 'batch-low');
    assert.equal(pod('k8s_templates_and_specs', 'restricted').spec?.securityContext?.runAsNonRoot, true);
  });

  test('volumes and env: every volume type mounted, valueFrom, envFrom, downward API', () => {
    const v = pod('k8s_templates_and_specs', 'volumes');
    const kinds = (v.spec?.volumes ?? []).map((x) => Object.keys(x).find((k) => k !== 'name'));
    assert.deepEqual(kinds, ['configMap', 'secret', 'persistentVolumeClaim', 'emptyDir', 'hostPath', 'projected']);
    assert.equal(base(v).volumeMounts?.length, 6);
    const e = base(pod('k8s_templates_and_specs', 'environment'));
    const env = Object.fromEntries((e.env ?? []).map((x) => [x.name, x]));
    assert.deepEqual(env['DB_PASSWORD']?.valueFrom, { secretKeyRef: { name: 'db-credentials', key: 'password' } });
    assert.deepEqual(env['POD_NAME']?.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });
    assert.equal(env['MEMORY_LIMIT_MI']?.valueFrom?.resourceFieldRef?.resource, 'limits.memory');
    assert.equal(e.envFrom?.length, 2);
  });

  test('data exchange: Secret helper, configmaps as env, typed consumer wired to the pod task', () => {
    const s = base(pod('k8s_data_exchange', 'with_secrets'));
    assert.ok(s.env?.some((x) => x.name === 'WAREHOUSE_PASSWORD' && x.valueFrom?.secretKeyRef?.name === 'warehouse-credentials'));
    assert.ok(s.envFrom?.some((x) => x.secretRef?.name === 'api-keys' && x.prefix === 'API_'));
    assert.ok(s.volumeMounts?.some((m) => m.mountPath === '/etc/tls' && m.readOnly === true));
    assert.ok(base(pod('k8s_data_exchange', 'use_config')).envFrom?.some((x) => x.configMapRef?.name === 'etl-config'));
    const d = dags.get('k8s_data_exchange');
    assert.deepEqual([...(d?.getTask('check_count').upstreamTaskIds ?? [])], ['count_rows']);
    const count = d?.getTask('count_rows');
    assert.ok(count instanceof KubernetesPodOperator && count.runOptions.doXcomPush === true);
  });

  test('templated fields of a pod task are rendered with the task context before the pod is built', async () => {
    const op = dags.get('k8s_data_exchange')?.getTask('export_table');
    assert.ok(op instanceof KubernetesPodOperator);
    const rendered = await renderTemplateFields(op, fakeContext(op, { 'count_rows:return_value': { table: 'orders', rows: 1250 } }));
    const restore = applyRenderedFields(op, rendered);
    try {
      const args = base(await op.renderPod(identity(op))).args ?? [];
      assert.deepEqual(args.slice(0, 4), ['--table', 'orders', '--expected-rows', '1250']);
      assert.ok(args.includes('s3://example-exports/20261123/'), args.join(' '));
    } finally {
      restore();
    }
    assert.equal(op.podOptions.arguments?.[1], "{{ ti.xcom_pull(task_ids='count_rows').table }}", 'the template is restored');
  });

  test('advanced, patterns, real world: placement, GPUs, sidecars, init containers, spot, fan-out', () => {
    const placed = pod('k8s_advanced', 'placed');
    assert.equal(placed.spec?.nodeSelector?.['node-pool'], 'batch');
    assert.ok(placed.spec?.affinity?.nodeAffinity && placed.spec.affinity.podAffinity && placed.spec.affinity.podAntiAffinity);
    assert.equal(placed.spec?.tolerations?.[0]?.key, 'dedicated');
    const gpu = pod('k8s_advanced', 'gpu');
    assert.equal(base(gpu).resources?.limits?.['nvidia.com/gpu'], '1');
    assert.equal(gpu.spec?.nodeSelector?.['nvidia.com/gpu.present'], 'true', 'from gpu-training.yaml');
    const side = pod('k8s_advanced', 'with_sidecars');
    assert.deepEqual(side.spec?.containers.map((c) => c.name), ['base', 'log-shipper']);
    assert.equal(side.spec?.initContainers?.[0]?.restartPolicy, 'Always');
    assert.deepEqual(pod('k8s_advanced', 'with_init').spec?.initContainers?.map((c) => c.name), ['download-deps', 'prepare', 'wait-for-db']);
    assert.ok(pod('k8s_patterns', 'spot_training').spec?.tolerations?.some((t) => t.key === 'cloud.google.com/gke-spot'));
    assert.equal(base(pod('k8s_patterns', 'process_embeddings')).resources?.limits?.['nvidia.com/gpu'], '1');
    assert.equal(base(pod('k8s_patterns', 'process_orders')).resources?.limits?.['nvidia.com/gpu'], undefined);
    assert.deepEqual([...(dags.get('k8s_patterns')?.getTask('aggregate').upstreamTaskIds ?? [])].sort(), ['shard_0', 'shard_1', 'shard_2', 'shard_3']);
    const failover = dags.get('k8s_patterns')?.getTask('report_failover');
    assert.ok(failover instanceof KubernetesPodOperator && failover.runOptions.kubernetesConnId === 'kubernetes_dr');
    assert.equal(base(pod('k8s_ml_training', 'train')).resources?.limits?.['nvidia.com/gpu'], '2');
    assert.deepEqual(pod('k8s_integration_env', 'integration_tests').spec?.containers.map((c) => c.name), ['base', 'postgres', 'api-stub']);
  });
});

function fakeContext(op: KubernetesPodOperator, xcoms: Record<string, unknown>): TaskContext {
  return {
    dagId: op.dag.dagId,
    taskId: op.taskId,
    runId: 'scheduled__2026-11-23T00:00:00+00:00',
    runType: 'scheduled',
    mapIndex: -1,
    tryNumber: 1,
    maxTries: 1,
    logicalDate: new Date('2026-11-23T00:00:00Z'),
    dataIntervalStart: new Date('2026-11-23T00:00:00Z'),
    dataIntervalEnd: new Date('2026-11-24T00:00:00Z'),
    params: {},
    conf: {},
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    signal: new AbortController().signal,
    xcomPush: async () => undefined,
    xcomPull: async (taskId, key = 'return_value') => (xcoms[`${taskId}:${key}`] ?? null) as never,
    getVariable: async () => null,
    getJsonVariable: async () => null,
    getConnection: async (connId) => {
      throw new Error(`connection '${connId}' is not defined`);
    },
  };
}
