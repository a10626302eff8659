/**
 * Deferrable pod tasks (seed 76.4.1): with `deferrable: true` the worker creates the pod and hands the wait to
 * the triggerer, so a long pod holds no worker slot; the task resumes on a worker when the base container
 * ended, to read the pod's log and XCom, judge the result and clean up — exactly as a sync pod task does.
 *
 * Here a nightly fan-out of six long training shards, each deferred while its pod runs (six shards need no
 * six worker slots), and a sync TaskFlow step that reads every shard's metrics. `executionTimeout` bounds
 * each try including its deferral; `startupTimeoutSeconds` is enforced by the trigger while deferred; marking
 * a shard failed while it is deferred deletes its pod.
 *
 * See docs/kubernetes/deferrable.md.
 */
import { dag, KubernetesPodOperator, task, XComArg } from 'capstan';

const CONN = 'kubernetes_default';
const SHARDS = 6;

/** What each shard's pod writes to /airflow/xcom/return.json. */
interface ShardMetrics {
  shard: number;
  loss: number;
}

const summarize = task({ taskId: 'summarize' }, (...metrics: ShardMetrics[]): string => {
  const worst = metrics.reduce((a, b) => (b.loss > a.loss ? b : a));
  return `${metrics.length} shards trained; worst loss ${worst.loss} (shard ${worst.shard})`;
});

export default dag(
  {
    dagId: 'k8s_deferrable',
    description: 'Long pod tasks that free their worker slot while the pod runs',
    schedule: '@daily',
    startDate: '2026-01-01',
    catchup: false,
    tags: ['example', 'kubernetes', 'deferral'],
  },
  () => {
    const shards = Array.from({ length: SHARDS }, (_, shard) =>
      new KubernetesPodOperator({
        taskId: `train_shard_${shard}`,
        kubernetesConnId: CONN,
        image: 'python:3.12-slim',
        cmds: ['python', '-c'],
        arguments: [
          [
            'import json, os, time',
            `print("training shard ${shard} for {{ ds }}", flush=True)`,
            'time.sleep(5)',
            'os.makedirs("/airflow/xcom", exist_ok=True)',
            `json.dump({"shard": ${shard}, "loss": round(0.1 + ${shard} / 100, 3)}, open("/airflow/xcom/return.json", "w"))`,
          ].join('\n'),
        ],
        containerResources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '1Gi' } },
        doXcomPush: true,
        // The pod is watched by the triggerer; this task's worker slot is free while it runs.
        deferrable: true,
        // Enforced by the trigger while deferred (counted from the pod's own creation / scheduling times).
        scheduleTimeoutSeconds: 300,
        startupTimeoutSeconds: 300,
        // Bounds the whole try, deferral included: past it the task resumes only to delete its pod and fail.
        executionTimeout: '2h',
        retries: 1,
        podCallbacks: {
          onOperatorResuming: ({ pod }) => console.log(`shard ${shard}: pod ${pod.metadata?.name} ended while deferred`),
        },
      }));
    summarize(...shards.map((s) => new XComArg<ShardMetrics>(s)));
  },
);
