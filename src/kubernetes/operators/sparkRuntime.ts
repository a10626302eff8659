/** The run-time half of the SparkKubernetesOperator, loaded on first use (see podOperator.ts for why). */
export { buildSparkApplication, runSparkApplication } from '../spark/index.ts';
export { identityLabels, renderPodYaml } from '../pod/index.ts';
export { taskPodSelector } from '../lifecycle/index.ts';
