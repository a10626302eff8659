/**
 * `capstan kubernetes generate-dag-yaml`: the worker pod of every task of a DAG, built by the executor's own
 * builder (src/executors/kubernetes/workerPod.ts) from the serialized DAG the scheduler uses and the
 * `kubernetesExecutor` config, so what is printed is what the executor would create — except the try's
 * token, which is issued per try and replaced by a placeholder.
 */
import type { CapstanConfig } from '../../config/index.ts';
import type { SerializedDagCache } from '../../services/index.ts';
import { loadPodTemplate, loadPodMutationHook, renderPodYaml } from '../../kubernetes/pods.ts';
import { buildWorkerPod } from './workerPod.ts';
import { watchedNamespaces } from './settings.ts';

/** Stands in for the try's Execution API token, which only the scheduler issues, per try. */
export const TOKEN_PLACEHOLDER = '<issued per try by the scheduler>';
/** Stands in for the task instance id, which exists only once a run is created. */
export const TI_ID_PLACEHOLDER = 'generate-dag-yaml';

/** One task's worker pod as YAML. */
export interface WorkerPodYaml {
  taskId: string;
  yaml: string;
}

/** What the render reads: the config and the serialized DAGs (an `Engine` has both). */
export interface WorkerPodYamlSource {
  config: Pick<CapstanConfig, 'kubernetesExecutor' | 'kubernetes' | 'api'>;
  dags: Pick<SerializedDagCache, 'get'>;
}

/**
 * @example
 * for (const { taskId, yaml } of await renderDagWorkerPods(engine, 'etl', { runId: 'manual__2026-01-01T00:00:00+00:00' })) console.log(taskId, yaml);
 */
export async function renderDagWorkerPods(engine: WorkerPodYamlSource, dagId: string, options: { runId: string }): Promise<WorkerPodYaml[]> {
  const s = engine.config.kubernetesExecutor;
  const dag = await engine.dags.get(dagId);
  const baseTemplate = s.podTemplateFile === '' ? undefined : loadPodTemplate(s.podTemplateFile);
  const podMutationHook = await loadPodMutationHook(engine.config.kubernetes.podMutationHook);
  const watched = watchedNamespaces(s);
  return [...dag.tasks.values()].map((task) => {
    const pod = buildWorkerPod({
      workload: { tiId: TI_ID_PLACEHOLDER, tryNumber: 1, dagId, runId: options.runId, taskId: task.taskId, mapIndex: -1 },
      executorId: 'generate-dag-yaml',
      executionApiUrl: engine.config.api.executionApiUrl,
      token: TOKEN_PLACEHOLDER,
      namespace: s.namespace,
      watched,
      multiNamespaceMode: s.multiNamespaceMode,
      image: s.workerContainerImage,
      baseTemplate,
      executorConfig: task.executorConfig,
      podMutationHook,
      randomSuffix: () => 'xxxxxxxx',
    });
    return { taskId: task.taskId, yaml: renderPodYaml(pod) };
  });
}
