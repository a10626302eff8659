/**
 * Parse-time authoring warnings for pod tasks (KubernetesPodOperator, KubernetesJobOperator), from their serialized
 * fields alone: pure, no cluster. They name two patterns from the list of Kubernetes anti-patterns that users of
 * the provider hit most — a `:latest` (or untagged) image with no explicit pull policy, and a pod with no resource
 * requests — and leave alone what cannot be seen at parse time (a templated image, a pod template file).
 *
 * @example
 * podTaskWarnings(task, { latestImage: true, missingResourceRequests: true })
 * // [{ code: 'latest-image-without-pull-policy', taskId: 'extract', message: "image 'etl' has no tag (:latest) …" }]
 */
import type { DagWarning, JsonObject, JsonValue, SerializedTask } from '../../core/index.ts';

/** Which checks run (config `dagProcessor.warnLatestImage` / `dagProcessor.warnMissingResourceRequests`). */
export interface PodWarningChecks {
  latestImage: boolean;
  missingResourceRequests: boolean;
}

/** Warning codes, stable for filters and docs. */
export const POD_WARNING_CODES = {
  latestImage: 'latest-image-without-pull-policy',
  missingResourceRequests: 'pod-without-resource-requests',
} as const;

/** Operators whose serialized fields carry pod options, and under which key. */
const POD_FIELDS_KEY: Readonly<Record<string, string>> = {
  KubernetesPodOperator: 'pod',
  KubernetesJobOperator: 'job',
};

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The `base` container of an inline template (podTemplateDict / fullPodSpec), if any. */
function templateBase(options: JsonObject): JsonObject | undefined {
  for (const key of ['fullPodSpec', 'podTemplateDict']) {
    const spec = options[key];
    if (!isObject(spec) || !isObject(spec['spec'])) continue;
    const containers = spec['spec']['containers'];
    if (!Array.isArray(containers)) continue;
    const base = containers.find((c) => isObject(c) && c['name'] === 'base') ?? containers[0];
    if (isObject(base)) return base;
  }
  return undefined;
}

/** True for an image that resolves to `:latest`: tag `latest`, or no tag and no digest. */
export function isLatestImage(image: string): boolean {
  if (image.includes('@')) return false;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  return colon === -1 || lastSegment.slice(colon + 1) === 'latest';
}

/** The warnings of one task; empty for tasks that build no pod. */
export function podTaskWarnings(task: SerializedTask, checks: PodWarningChecks): DagWarning[] {
  const key = POD_FIELDS_KEY[task.operator];
  const options = key === undefined ? undefined : task.fields[key];
  if (!isObject(options)) return [];
  // A pod template file is read when the pod is built: what it sets cannot be judged here.
  if (typeof options['podTemplateFile'] === 'string') return [];
  const base = templateBase(options);
  const pick = (field: string, containerField: string): JsonValue | undefined => options[field] ?? base?.[containerField];
  const out: DagWarning[] = [];
  const image = pick('image', 'image');
  if (checks.latestImage && typeof image === 'string' && !image.includes('{{') && isLatestImage(image) && pick('imagePullPolicy', 'imagePullPolicy') === undefined) {
    out.push({
      code: POD_WARNING_CODES.latestImage,
      taskId: task.taskId,
      message: `image '${image}' resolves to :latest and no imagePullPolicy is set: which build runs depends on when each node last pulled it. Pin a tag or digest, or set imagePullPolicy explicitly.`,
    });
  }
  const resources = pick('containerResources', 'resources');
  const requests = isObject(resources) ? resources['requests'] : undefined;
  if (checks.missingResourceRequests && !(isObject(requests) && Object.keys(requests).length > 0)) {
    out.push({
      code: POD_WARNING_CODES.missingResourceRequests,
      taskId: task.taskId,
      message: 'the pod sets no resource requests: it is scheduled as BestEffort, packed onto busy nodes and evicted first under pressure. Set containerResources.requests (cpu, memory).',
    });
  }
  return out;
}
