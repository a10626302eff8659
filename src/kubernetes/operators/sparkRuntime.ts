/** The run-time half of the SparkKubernetesOperator, loaded on first use (see podOperator.ts for why). */
export { buildSparkApplication, createOrReattachSparkApplication, deleteSparkApplication, readSparkApplication, runSparkApplication } from '../spark/index.ts';
export { SparkApplicationTrigger } from '../spark/sparkTrigger.ts';
export { identityLabels, renderPodYaml } from '../pod/index.ts';
export { taskPodSelector } from '../lifecycle/index.ts';
