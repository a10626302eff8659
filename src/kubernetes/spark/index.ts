/**
 * SparkApplications for tasks: the pure builder (`buildSparkApplication`, from Airflow's `spark:` / `kubernetes:`
 * template format) and the lifecycle (`runSparkApplication`: create or reattach, watch the state, follow the
 * driver's log, delete). See docs/kubernetes/spark-operator.md.
 */
export { buildSparkApplication, loadSparkTemplate, MAX_SPARK_APP_NAME, SPARK_APPLICATION, SPARK_DRIVER_CONTAINER, SPARK_KIND, sparkAppName } from './build.ts';
export type { SparkApplicationOptions } from './build.ts';
export { createOrReattachSparkApplication, deleteSparkApplication, driverPodName, isStarting, readSparkApplication, runSparkApplication, sparkEnd, sparkState, startupLeftMs, watchSparkApplication } from './runSpark.ts';
export { SparkApplicationTrigger } from './sparkTrigger.ts';
export type { SparkApplicationTriggerKwargs } from './sparkTrigger.ts';
export type { RunSparkOptions, SparkApplicationObject, SparkEnd, SparkRunResult } from './runSpark.ts';
