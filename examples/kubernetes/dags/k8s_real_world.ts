/**
 * Real-world pipelines (seed 76.10.1, 76.10.3 – 76.10.5), one DAG each: ML training on GPUs, ETL with a
 * custom image and incremental intervals, a throwaway integration-test environment, and a polyglot
 * Python → R → Java pipeline passing data through XCom.
 *
 * 76.10.2 (Spark on Kubernetes) is the SparkKubernetesOperator's: see examples/kubernetes/dags/spark_pi.ts for its
 * example and docs/kubernetes/spark-operator.md. Distributed training (76.10.1) across several pods fits an
 * Indexed Job (KubernetesJobOperator, docs/kubernetes/job-operator.md) or a training operator's resource
 * (Kubeflow PyTorchJob, through the resource operators). The DAG below trains on one node with several GPUs.
 *
 * See docs/kubernetes/patterns.md.
 */
import { fileURLToPath } from 'node:url';
import { chain, dag, KubernetesPodOperator, Secret, task, XComArg } from 'capstan';

const CONN = 'kubernetes_default';
const template = (file: string): string => fileURLToPath(new URL(`../${file}`, import.meta.url));

/** What the training pod reports. */
interface TrainingResult {
  modelUri: string;
  accuracy: number;
}

const gate = task({ taskId: 'quality_gate' }, (result: TrainingResult): string => {
  if (result.accuracy < 0.9) throw new Error(`accuracy ${result.accuracy} is below 0.9`);
  return result.modelUri;
});

// 76.10.1 ML training: prepare features, train on GPUs with the data PVC read-only and artifacts written
// to a PVC (gpu-training.yaml), export the model URI and metric through XCom, gate on the metric.
dag(
  { dagId: 'k8s_ml_training', description: 'GPU training with mounted data, exported artifacts and a quality gate', schedule: null, tags: ['example', 'kubernetes', 'ml'] },
  () => {
    const prepare = new KubernetesPodOperator({
      taskId: 'prepare_features',
      kubernetesConnId: CONN,
      image: 'registry.example.com/ml/features:1.8',
      cmds: ['python', '-m', 'features.build', '--out', '/data/features/{{ ds_nodash }}'],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'training-data' } }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
      containerResources: { requests: { cpu: '4', memory: '16Gi' }, limits: { memory: '16Gi' } },
    });
    const train = new KubernetesPodOperator({
      taskId: 'train',
      kubernetesConnId: CONN,
      podTemplateFile: template('gpu-training.yaml'),
      cmds: ['sh', '-c'],
      // Templated values reach the shell through env and are used quoted ("$RUN"): a run id is whatever
      // its trigger chose, and rendered straight into the command it would run as code.
      env: { DAY: '{{ ds_nodash }}', RUN: '{{ run_id | replace(":", "_") }}' },
      arguments: [
        'torchrun --nproc-per-node=2 train.py --data "/data/features/$DAY" --out "/artifacts/$RUN"' +
          ' && mkdir -p /airflow/xcom && cp "/artifacts/$RUN/result.json" /airflow/xcom/return.json',
      ],
      containerResources: { limits: { 'nvidia.com/gpu': 2 } },
      doXcomPush: true,
      executionTimeout: '6h',
      retries: 1,
    });
    const uri = gate(new XComArg<TrainingResult>(train));
    const publish = new KubernetesPodOperator({
      taskId: 'publish_model',
      kubernetesConnId: CONN,
      image: 'registry.example.com/ml/registry-client:0.9',
      cmds: ['/app/publish'],
      arguments: ["{{ ti.xcom_pull(task_ids='quality_gate') }}"],
      secrets: [Secret.env('REGISTRY_TOKEN', 'model-registry', 'token')],
    });
    chain(prepare, train);
    chain(uri, publish);
  },
);

// 76.10.3 ETL with a custom image: source and target from Capstan connections (non-secret parts templated,
// passwords from Kubernetes Secrets), an incremental window from the run's data interval, a scratch volume
// sized for the batch.
dag(
  { dagId: 'k8s_etl_custom_image', description: 'Incremental ETL in a custom image', schedule: '@hourly', startDate: '2026-01-01', catchup: false, tags: ['example', 'kubernetes', 'etl'] },
  () => {
    new KubernetesPodOperator({
      taskId: 'extract_load',
      kubernetesConnId: CONN,
      image: 'registry.example.com/data/etl:7.3.1',
      imagePullSecrets: ['regcred'],
      cmds: ['/app/etl'],
      arguments: ['--since', '{{ data_interval_start }}', '--until', '{{ data_interval_end }}', '--scratch', '/scratch'],
      env: {
        SOURCE_HOST: '{{ conn.orders_db.host }}',
        SOURCE_DB: '{{ conn.orders_db.schema }}',
        TARGET_HOST: '{{ conn.warehouse.host }}',
      },
      secrets: [Secret.env('SOURCE_PASSWORD', 'orders-db', 'password'), Secret.env('TARGET_PASSWORD', 'warehouse-credentials', 'password')],
      volumes: [{ name: 'scratch', emptyDir: { sizeLimit: '20Gi' } }],
      volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
      containerResources: { requests: { cpu: '1', memory: '2Gi', 'ephemeral-storage': '20Gi' }, limits: { memory: '2Gi', 'ephemeral-storage': '25Gi' } },
      retries: 2,
      retryDelay: '5m',
    });
  },
);

// 76.10.4 An integration-test environment in one pod: PostgreSQL and a stub API as sidecars, an init step
// that waits for the database, the test runner as `base`. The pod ends when the tests end (the sidecars
// do not hold it) and is deleted — the environment goes with it; failures keep it for inspection.
dag(
  { dagId: 'k8s_integration_env', description: 'Database and service sidecars around a test run', schedule: null, tags: ['example', 'kubernetes', 'testing'] },
  () => {
    new KubernetesPodOperator({
      taskId: 'integration_tests',
      kubernetesConnId: CONN,
      image: 'registry.example.com/app/tests:1.4.0',
      cmds: ['sh', '-c', 'until nc -z localhost 5432; do sleep 1; done; npm test -- --reporter=junit'],
      env: { DATABASE_URL: 'postgres://test:test@localhost:5432/test', API_URL: 'http://localhost:8080' },
      containers: [
        { name: 'postgres', image: 'postgres:17-alpine', env: [{ name: 'POSTGRES_USER', value: 'test' }, { name: 'POSTGRES_PASSWORD', value: 'test' }, { name: 'POSTGRES_DB', value: 'test' }], ports: [{ containerPort: 5432 }] },
        { name: 'api-stub', image: 'wiremock/wiremock:3.9.2', ports: [{ containerPort: 8080 }] },
      ],
      containerLogs: ['base', 'postgres'],
      onFinishAction: 'delete_succeeded_pod',
      executionTimeout: '30m',
    });
  },
);

// 76.10.5 Polyglot: each step in its language's image; small results pass as XCom (JSON), bigger data
// through object storage paths carried in that XCom.
dag(
  { dagId: 'k8s_polyglot', description: 'Python, R and Java pods passing data through XCom', schedule: null, tags: ['example', 'kubernetes'] },
  () => {
    const python = new KubernetesPodOperator({
      taskId: 'python_extract',
      kubernetesConnId: CONN,
      image: 'python:3.13-slim',
      cmds: ['python', '-c'],
      arguments: ['import json, os; os.makedirs("/airflow/xcom", exist_ok=True); json.dump({"values": [3, 1, 4, 1, 5]}, open("/airflow/xcom/return.json", "w"))'],
      doXcomPush: true,
    });
    const r = new KubernetesPodOperator({
      taskId: 'r_stats',
      kubernetesConnId: CONN,
      image: 'r-base:4.4.2',
      cmds: ['Rscript', '-e'],
      arguments: ['v <- as.numeric(strsplit(Sys.getenv("VALUES"), ",")[[1]]); dir.create("/airflow/xcom", recursive = TRUE); writeLines(sprintf(\'{"mean": %f}\', mean(v)), "/airflow/xcom/return.json")'],
      env: { VALUES: "{{ ti.xcom_pull(task_ids='python_extract')['values'] | join(',') }}" },
      doXcomPush: true,
    });
    const java = new KubernetesPodOperator({
      taskId: 'java_report',
      kubernetesConnId: CONN,
      image: 'eclipse-temurin:21-jre',
      cmds: ['jshell', '-R-Dmean={{ ti.xcom_pull(task_ids=\'r_stats\').mean }}', '/app/Report.jsh'],
    });
    chain(python, r, java);
  },
);
