/** The run-time half of the Job operators, loaded on first use (see podOperator.ts for why). */
export { buildJob, createOrReattachJob, deleteJob, jobEnd, jobStatusValue, runJob, selectorString, watchJob, withJobXcomSidecar } from '../job/index.ts';
export { KubernetesJobTrigger } from '../job/jobTrigger.ts';
export { identityLabels, renderPodYaml } from '../pod/index.ts';
export { parseKubernetesConnection } from '../client/connection.ts';
export { requireNativeSidecars, taskPodSelector } from '../lifecycle/index.ts';
