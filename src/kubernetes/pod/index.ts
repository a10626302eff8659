/**
 * Pod building: pure functions from typed {@link PodOptions} to a `V1Pod` (see build.ts for the order of steps and
 * merge.ts for how templates and arguments combine).
 */
export { BASE_CONTAINER_NAME, buildPod, checkPodManifest, loadPodTemplate, overridePod } from './build.ts';
export type { BuildPodContext } from './build.ts';
export { mergeLayers, mergeValues } from './merge.ts';
export {
  MAX_LABEL_VALUE_LENGTH,
  MAX_POD_NAME_LENGTH,
  POD_LABELS,
  dns1123Label,
  identityAnnotations,
  identityLabels,
  isLabelValue,
  labelValue,
  podName,
  randomSuffix,
  taskInstanceSelector,
} from './names.ts';
export { loadPodMutationHook, parsePodMutationHookSpec, POD_MUTATION_HOOK_ENV, POD_MUTATION_HOOK_KEY, podMutationHookFromEnvironment } from './mutationHook.ts';
export type { PodMutationHook } from './mutationHook.ts';
export { POD_TEMPLATE_FIELDS } from './options.ts';
export type { DownwardApiSource, ImagePullPolicy, PodIdentity, PodOptions, ResourceRequirements, Settable } from './options.ts';
export { isQuantity, quantity, validateResourceRequirements } from './quantity.ts';
export { Secret, secretAttachments, secretVolumeName } from './secret.ts';
export type { SecretAttachment } from './secret.ts';
export { renderPodYaml } from './yaml.ts';
export { isLatestImage, POD_WARNING_CODES, podTaskWarnings } from './authoringWarnings.ts';
export type { PodWarningChecks } from './authoringWarnings.ts';
