/**
 * Production patterns (seed 76.6.1 – 76.6.5): pods generated from data and environment, two clusters with
 * failover, spot/preemptible nodes, and fan-out batch processing with aggregation.
 *
 * 76.6.4 (Kubernetes Jobs instead of bare pods): the KubernetesJobOperator gives Job semantics
 * (docs/kubernetes/job-operator.md). A pod task, as here, gives most of the same guarantees through Capstan:
 * retries with backoff (each try a fresh pod; a retry after a worker crash reattaches to the running pod
 * instead of starting a second one), completion tracked by watching the pod, cleanup by onFinishAction.
 *
 * Multi-cluster needs a second connection:
 *   capstan connections add kubernetes_dr --conn-type kubernetes \
 *     --conn-extra '{"kubeconfigPath": "~/.kube/dr.config", "context": "dr", "namespace": "etl"}'
 * See docs/kubernetes/patterns.md.
 */
import { fileURLToPath } from 'node:url';
import { chain, dag, KubernetesPodOperator, task, XComArg } from 'capstan';

const CONN = 'kubernetes_default';
const template = (file: string): string => fileURLToPath(new URL(`../${file}`, import.meta.url));

/** 76.6.1 The environment this DAG file is parsed in decides sizes and registries. */
const ENVIRONMENT = process.env['CAPSTAN_ENV'] === 'prod' ? 'prod' : 'dev';
const PROFILE = {
  dev: { registry: 'registry.example.com/dev', memory: '512Mi', cpu: '250m' },
  prod: { registry: 'registry.example.com/prod', memory: '4Gi', cpu: '2' },
}[ENVIRONMENT];

/** The datasets to process: in practice read from a file shipped with the DAG or a service at parse time. */
const DATASETS = [
  { name: 'orders', sizeGb: 40, gpu: false },
  { name: 'clicks', sizeGb: 300, gpu: false },
  { name: 'embeddings', sizeGb: 20, gpu: true },
] as const;

/** Result each shard pod writes to /airflow/xcom/return.json. */
interface ShardResult {
  shard: number;
  rows: number;
}

const aggregate = task({ taskId: 'aggregate' }, (...results: ShardResult[]): { shards: number; rows: number } => ({
  shards: results.length,
  rows: results.reduce((sum, r) => sum + r.rows, 0),
}));

export default dag(
  {
    dagId: 'k8s_patterns',
    description: 'Generated pods, multi-cluster failover, spot nodes and fan-out batches',
    schedule: null,
    tags: ['example', 'kubernetes'],
    maxActiveTasks: 8, // at most 8 pods of this DAG at once
  },
  () => {
    // 76.6.1 One task per dataset, with resources computed from its size and a GPU only where needed.
    const generated = DATASETS.map((d) => new KubernetesPodOperator({
      taskId: `process_${d.name}`,
      kubernetesConnId: CONN,
      image: `${PROFILE.registry}/processor:5.2`,
      cmds: ['/app/process', '--dataset', d.name, '--date', '{{ ds }}'],
      env: { ENVIRONMENT },
      containerResources: {
        requests: { cpu: d.sizeGb > 100 ? '4' : PROFILE.cpu, memory: d.sizeGb > 100 ? '16Gi' : PROFILE.memory },
        limits: { memory: d.sizeGb > 100 ? '16Gi' : PROFILE.memory, ...(d.gpu ? { 'nvidia.com/gpu': 1 } : {}) },
      },
      ...(d.gpu ? { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] } : {}),
    }));

    // 76.6.2 Two clusters: the primary runs the task; if it fails (cluster down, quota), the same pod runs
    // on the DR cluster; `publish` continues after whichever succeeded. Data crosses clusters through
    // object storage, not volumes (a PVC lives in one cluster).
    const onCluster = (taskId: string, connId: string, triggerRule: 'all_success' | 'all_failed') => new KubernetesPodOperator({
      taskId,
      kubernetesConnId: connId,
      triggerRule,
      image: 'registry.example.com/data/report:3.2',
      cmds: ['/app/report', '--output', 's3://example-reports/{{ ds }}/'],
      scheduleTimeoutSeconds: 120,
    });
    const primary = onCluster('report_primary', CONN, 'all_success');
    const failover = onCluster('report_failover', 'kubernetes_dr', 'all_failed');
    const publish = new KubernetesPodOperator({
      taskId: 'publish',
      kubernetesConnId: CONN,
      triggerRule: 'one_success',
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo publishing'],
    });
    chain(primary, failover);
    chain([primary, failover], publish);

    // 76.6.3 Spot nodes: tolerate the spot taints, prefer (not require) spot, 90 s to checkpoint on
    // SIGTERM (the template), resume from the last checkpoint on the shared volume, and retry: an evicted
    // or preempted pod fails the try with the reason, and the next try continues from the checkpoint.
    const spot = new KubernetesPodOperator({
      taskId: 'spot_training',
      kubernetesConnId: CONN,
      podTemplateFile: template('spot-tolerant.yaml'),
      image: 'registry.example.com/ml/trainer:2.0',
      cmds: ['/app/train', '--checkpoint-dir', '/checkpoints/spot_training', '--resume'],
      volumes: [{ name: 'checkpoints', persistentVolumeClaim: { claimName: 'training-checkpoints' } }],
      volumeMounts: [{ name: 'checkpoints', mountPath: '/checkpoints' }],
      retries: 5,
      retryDelay: '1m',
      labels: { 'cost-class': 'spot' },
    });

    // 76.6.5 Fan-out: N shard pods, each with bounded resources, each returning its count; a typed
    // TaskFlow task aggregates them. (The shard count is fixed when the DAG is parsed; for a count known only
    // at run time, map the pod task with .partial().expand() — docs/dynamic-task-mapping.md.)
    const SHARDS = 4;
    const shards = Array.from({ length: SHARDS }, (_, i) => new KubernetesPodOperator({
      taskId: `shard_${i}`,
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c'],
      arguments: [`mkdir -p /airflow/xcom && echo '{"shard": ${i}, "rows": ${(i + 1) * 100}}' > /airflow/xcom/return.json`],
      env: { SHARD: String(i), SHARDS: String(SHARDS) },
      containerResources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
      doXcomPush: true,
    }));
    aggregate(...shards.map((s) => new XComArg<ShardResult>(s)));

    chain(generated, spot);
  },
);
