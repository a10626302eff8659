// The Job, Spark and generic resource examples (examples/kubernetes/dags/{job,spark,resource}_*.ts) against the
// test control plane: every Job an example task would create, every SparkApplication (the CRD installed), and
// every manifest of the generic resource tasks is accepted by the API server in a server-side dry run
// (validation, defaulting and admission; nothing is persisted). Templates are rendered first, as in a run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BatchV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi } from '@kubernetes/client-node';
import { importDagFile } from '../../../src/dagprocessing/loader.ts';
import { KubernetesJobOperator } from '../../../src/kubernetes/operators/jobOperator.ts';
import { SparkKubernetesOperator } from '../../../src/kubernetes/operators/sparkOperator.ts';
import { KubernetesPodOperator } from '../../../src/kubernetes/operators/podOperator.ts';
import { KubernetesCreateResourceOperator, KubernetesDeleteResourceOperator } from '../../../src/kubernetes/operators/resourceOperator.ts';
import { buildJob, buildSparkApplication, parseManifests, SPARK_APPLICATION } from '../../../src/kubernetes/index.ts';
import { renderTaskInProcess } from '../../../src/testing/index.ts';
import { applyRenderedFields } from '../../../src/templating/index.ts';
import { SecretsLookup } from '../../../src/secrets/index.ts';
import type { Dag } from '../../../src/sdk/dag.ts';
import { binariesAvailable, connectTestCluster } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { K8S_EXAMPLES_FOLDER } from '../../examples/kubernetesExamplesSupport.ts';
import { installSparkCrd } from './sparkCrd.ts';

const available = await binariesAvailable();
const FILES = ['job_basics.ts', 'spark_pi.ts', 'resource_basics.ts'];

void describe('Job, Spark and resource examples on the control plane (dry run)', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let namespace: string;
  const dags: Dag[] = [];

  before(async () => {
    cluster = await connectTestCluster();
    namespace = await cluster.createNamespace('rex');
    await installSparkCrd(cluster);
    for (const file of FILES) dags.push(...await importDagFile(join(K8S_EXAMPLES_FOLDER, file)));
  });
  after(async () => {
    await cluster?.kubeConfig.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  /** Renders the task's templates for a manual run at a fixed date, as a run would before building. */
  async function render(dag: Dag, taskId: string): Promise<void> {
    const rendered = await renderTaskInProcess({ dag, taskId, fileloc: join(K8S_EXAMPLES_FOLDER, 'x.ts'), logicalDate: Date.parse('2026-11-23T00:00:00Z'), secrets: new SecretsLookup({ env: {} }) });
    applyRenderedFields(dag.getTask(taskId), rendered.renderedFields);
  }

  void test('every example Job, SparkApplication and resource manifest is accepted', async () => {
    const batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
    const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    const objects = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const counts = { jobs: 0, spark: 0, resources: 0, pods: 0 };
    const refused: string[] = [];
    for (const dag of dags) {
      for (const task of dag.tasks.values()) {
        const identity = { dagId: dag.dagId, taskId: task.taskId, runId: 'manual__dry', tryNumber: 1 };
        const where = `${dag.dagId}.${task.taskId}`;
        try {
          if (task instanceof KubernetesJobOperator) {
            await render(dag, task.taskId);
            const job = buildJob(task.jobOptions, { identity, defaultNamespace: namespace });
            await batch.createNamespacedJob({ namespace, body: { ...job, metadata: { ...job.metadata, namespace } }, dryRun: 'All' });
            counts.jobs += 1;
          } else if (task instanceof SparkKubernetesOperator) {
            await render(dag, task.taskId);
            const app = buildSparkApplication({ applicationFile: task.applicationFile, templateSpec: task.templateSpec, image: task.image, codePath: task.codePath, namespace }, { identity });
            await custom.createNamespacedCustomObject({ group: SPARK_APPLICATION.group, version: SPARK_APPLICATION.version, plural: SPARK_APPLICATION.plural, namespace, body: app, dryRun: 'All' });
            counts.spark += 1;
          } else if (task instanceof KubernetesPodOperator) {
            // Pod tasks of these DAGs template names (a ConfigMap per date): rendered first, as a run would.
            await render(dag, task.taskId);
            const pod = await task.renderPod(identity);
            await core.createNamespacedPod({ namespace, body: { ...pod, metadata: { ...pod.metadata, namespace } }, dryRun: 'All' });
            counts.pods += 1;
          } else if (task instanceof KubernetesCreateResourceOperator || task instanceof KubernetesDeleteResourceOperator) {
            await render(dag, task.taskId);
            for (const m of parseManifests(task.yamlConf)) {
              await objects.create({ ...m, metadata: { ...m.metadata, namespace } }, undefined, 'All');
              counts.resources += 1;
            }
          }
        } catch (error) {
          refused.push(`${where}: ${(error as Error).message.slice(0, 600)}`);
        }
      }
    }
    assert.deepEqual(refused, []);
    assert.deepEqual(counts, { jobs: 4, spark: 1, resources: 4, pods: 1 });
  });
});
