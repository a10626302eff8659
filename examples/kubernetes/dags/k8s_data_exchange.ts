/**
 * Data exchange between Capstan and pods (seed 76.3.1 – 76.3.5): XCom out of a pod into a typed TaskFlow
 * task, templated arguments (dates and upstream XComs), ConfigMaps (as env, as files, created by a task),
 * Kubernetes Secrets (the Secret helper), and a PVC shared by several pod tasks.
 *
 * XCom: with `doXcomPush: true` the container writes JSON to /airflow/xcom/return.json. Capstan adds a
 * small sidecar (`capstan-xcom`) that waits for the base container to end and prints the file to its log;
 * Capstan reads it through `pods/log` — no `pods/exec`, so no exec hangs and less RBAC than Airflow.
 *
 * See docs/kubernetes/data-exchange.md.
 */
import { chain, dag, KubernetesPodOperator, Secret, task, XComArg } from 'capstan';

const CONN = 'kubernetes_default';

/** What the `count_rows` pod writes to /airflow/xcom/return.json. */
interface RowCount {
  table: string;
  rows: number;
}

/** 76.3.1 A typed consumer: the compiler checks that it expects what the pod declares to produce. */
const checkCount = task({ taskId: 'check_count' }, (count: RowCount): string => {
  if (count.rows <= 0) throw new Error(`${count.table} is empty`);
  return `${count.table}: ${count.rows} rows`;
});

export default dag(
  {
    dagId: 'k8s_data_exchange',
    description: 'XCom from pods, templated arguments, ConfigMaps, Secrets and shared volumes',
    schedule: '@daily',
    startDate: '2026-01-01',
    catchup: false,
    tags: ['example', 'kubernetes'],
  },
  () => {
    // 76.3.1 The pod's result as the task's return value. The file must hold one JSON value; an empty
    // file gives null, invalid JSON fails the task with the parse error, and the sidecar refuses files
    // over its size limit (XCom is for small results: ids, counts, paths — put data in object storage).
    const countRows = new KubernetesPodOperator({
      taskId: 'count_rows',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c'],
      arguments: ['mkdir -p /airflow/xcom && echo \'{"table": "orders", "rows": 1250}\' > /airflow/xcom/return.json'],
      doXcomPush: true,
      // The sidecar's image and resources (default: the connection's `xcomSidecarImage`, else alpine).
      xcomSidecar: { image: 'alpine:3.22', resources: { requests: { cpu: '5m', memory: '10Mi' }, limits: { memory: '50Mi' } } },
    });
    const checked = checkCount(new XComArg<RowCount>(countRows));

    // 76.3.2 Arguments are templated: run dates, params, and upstream XComs rendered just before the pod
    // is built. The command itself is plain TypeScript, so it can be assembled in code.
    const flags = ['--format', 'parquet', '--compression', 'zstd'];
    const exportTable = new KubernetesPodOperator({
      taskId: 'export_table',
      kubernetesConnId: CONN,
      image: 'registry.example.com/data/exporter:4.0',
      cmds: ['/app/export'],
      arguments: [
        '--table', "{{ ti.xcom_pull(task_ids='count_rows').table }}",
        '--expected-rows', "{{ ti.xcom_pull(task_ids='count_rows').rows }}",
        '--from', '{{ data_interval_start }}',
        '--to', '{{ data_interval_end }}',
        '--output', 's3://example-exports/{{ ds_nodash }}/',
        ...flags,
      ],
    });

    // 76.3.3 ConfigMaps. "Dynamic" creation: a pod with kubectl (its service account may create
    // configmaps) writes this run's settings; the next task reads every key as env (`configmaps`) and the
    // shared settings file as a volume.
    const createConfig = new KubernetesPodOperator({
      taskId: 'create_config',
      kubernetesConnId: CONN,
      image: 'bitnami/kubectl:1.34',
      serviceAccountName: 'configmap-writer',
      automountServiceAccountToken: true, // kubectl needs the service account's token
      cmds: ['sh', '-c'],
      // create-or-update: render the ConfigMap client-side, apply it server-side (a retry does not conflict)
      arguments: ['kubectl create configmap "run-$DAY" --from-literal="RUN_DATE=$DS" --from-literal=BATCH_SIZE=500 --dry-run=client -o yaml | kubectl apply -f -'],
      // Templated values reach the shell through env, used quoted, never rendered into the command.
      env: { DAY: '{{ ds_nodash }}', DS: '{{ ds }}' },
    });
    const useConfig = new KubernetesPodOperator({
      taskId: 'use_config',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo "batch size $BATCH_SIZE" && cat /etc/app/settings.yaml'],
      configmaps: ['etl-config'],
      volumes: [{ name: 'settings', configMap: { name: 'app-config' } }],
      volumeMounts: [{ name: 'settings', mountPath: '/etc/app', readOnly: true }],
    });

    // 76.3.4 Secrets stay in Kubernetes: the pod spec only names them. One key as an env var, every key
    // (prefixed), and files (read-only, mode 0400). For a Capstan connection, pass what is not secret
    // (host, port, schema) through templates and keep the password in a Kubernetes Secret: a rendered
    // password would be visible in the pod spec to anyone who may `get pods`.
    const withSecrets = new KubernetesPodOperator({
      taskId: 'with_secrets',
      kubernetesConnId: CONN,
      image: 'registry.example.com/data/loader:2.1',
      cmds: ['/app/load'],
      env: {
        WAREHOUSE_HOST: '{{ conn.warehouse.host }}',
        WAREHOUSE_DB: '{{ conn.warehouse.schema }}',
      },
      secrets: [
        Secret.env('WAREHOUSE_PASSWORD', 'warehouse-credentials', 'password'),
        Secret.allKeys('api-keys', { prefix: 'API_' }),
        Secret.volume('/etc/tls', 'warehouse-tls', { defaultMode: 0o400 }),
      ],
    });

    // 76.3.5 A PVC shared by pod tasks: write, then read, each run in its own directory so two runs never
    // collide. A ReadWriteOnce volume can be mounted by pods of one node only — tasks that run in parallel
    // on several nodes need ReadWriteMany (NFS, CephFS, EFS…). The last task cleans up whatever happened
    // upstream (trigger rule all_done).
    const shared = {
      volumes: [{ name: 'shared', persistentVolumeClaim: { claimName: 'pipeline-scratch' } }],
      volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
    };
    const write = new KubernetesPodOperator({
      taskId: 'write_shared',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'mkdir -p "/shared/$RUN" && seq 1 1000 > "/shared/$RUN/numbers.txt"'],
      env: { RUN: '{{ run_id | replace(":", "_") }}' },
      ...shared,
    });
    const read = new KubernetesPodOperator({
      taskId: 'read_shared',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'wc -l "/shared/$RUN/numbers.txt"'],
      env: { RUN: '{{ run_id | replace(":", "_") }}' },
      ...shared,
    });
    const cleanup = new KubernetesPodOperator({
      taskId: 'cleanup_shared',
      kubernetesConnId: CONN,
      triggerRule: 'all_done',
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'rm -rf "/shared/$RUN"'],
      env: { RUN: '{{ run_id | replace(":", "_") }}' },
      ...shared,
    });

    chain(countRows, [exportTable, checked]);
    chain(createConfig, useConfig, withSecrets);
    chain(write, read, cleanup);
  },
);
