/** The run-time half of the pod operator, loaded on first use (see podOperator.ts). */
export { createKubeClients } from '../client/client.ts';
export { parseKubernetesConnection, resolveKubeConfig, resolveNamespace } from '../client/connection.ts';
export { deletePod, followPod, invokeCallback, runPod, startPod, taskPodSelector, toTaskOutcome, withXcomSidecar } from '../lifecycle/index.ts';
export { KubernetesPodTrigger } from '../lifecycle/podTrigger.ts';
export { buildPod, identityLabels, podMutationHookFromEnvironment, renderPodYaml } from '../pod/index.ts';
