/**
 * The typed parameters of a task pod (the KubernetesPodOperator's pod arguments). Kubernetes objects are the
 * `@kubernetes/client-node` models, written as plain objects in the manifest's camelCase.
 *
 * Every field may be:
 * - absent / `undefined`: not set — a template's value (or the default) stays;
 * - `null`: set to nothing — a template's value is removed;
 * - anything else, including `false`, `0`, `''` and `[]`: set — it replaces the template's value (objects merge
 *   key by key; see merge.ts and docs/kubernetes-pod-operator.md).
 */
import type {
  V1Affinity,
  V1Container,
  V1ContainerPort,
  V1EnvFromSource,
  V1EnvVar,
  V1HostAlias,
  V1LocalObjectReference,
  V1Pod,
  V1PodDNSConfig,
  V1PodSecurityContext,
  V1SecurityContext,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { Secret } from './secret.ts';

/** A value that may be unset (`undefined`), cleared (`null`) or set. */
export type Settable<T> = T | null | undefined;

/**
 * `requests` / `limits` of a container: resource name → quantity (`'500m'`, `'1Gi'`, `2`, `'nvidia.com/gpu': 1`);
 * `null` for a resource removes a template's value.
 */
export interface ResourceRequirements {
  requests?: Record<string, string | number | null> | null | undefined;
  limits?: Record<string, string | number | null> | null | undefined;
}

/**
 * A downward-API environment variable: the pod field (`metadata.name`, `metadata.namespace`, `status.podIP`,
 * `spec.nodeName`, `metadata.labels['x']`, …) or a container resource (`{ resource: 'limits.memory' }`).
 */
export type DownwardApiSource = string | { resource: string; containerName?: string; divisor?: string };

/** Image pull policy of the base container. */
export type ImagePullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** Every pod parameter of the KubernetesPodOperator. Templates come first, then the base container, then the pod spec. */
export interface PodOptions {
  // Templates (precedence: these arguments > fullPodSpec > podTemplateFile / podTemplateDict > defaults).
  /** Path of a YAML (or JSON) Pod manifest used as the base. */
  podTemplateFile?: string | undefined;
  /** A Pod manifest object used as the base (exclusive with podTemplateFile). */
  podTemplateDict?: V1Pod | Record<string, unknown> | undefined;
  /** A whole Pod, applied over the template and under the arguments below. */
  fullPodSpec?: V1Pod | undefined;

  // Identity and metadata.
  /** Pod name (sanitized to DNS-1123; default: the task id). */
  name?: string | undefined;
  /** Append `-xxxxxxxx` (8 random [a-z0-9]) to the name. Default true. */
  randomNameSuffix?: boolean | undefined;
  /** Namespace (default: connection → in-cluster namespace → `default`; resolved by the caller). */
  namespace?: string | undefined;
  /** Extra labels; merged over the template's, `null` for a key removes it. */
  labels?: Settable<Record<string, string | null>>;
  /** Annotations; merged over the template's, `null` for a key removes it. */
  annotations?: Settable<Record<string, string | null>>;

  // The base container (named `base`).
  image?: Settable<string>;
  imagePullPolicy?: Settable<ImagePullPolicy>;
  /** Container `command` (the entrypoint). */
  cmds?: Settable<string[]>;
  /** Container `args`. */
  arguments?: Settable<string[]>;
  ports?: Settable<V1ContainerPort[]>;
  /** Environment: a list of `V1EnvVar`, or a record of name → value (a string is an argument error). */
  env?: Settable<V1EnvVar[] | Record<string, string>>;
  envFrom?: Settable<V1EnvFromSource[]>;
  /** ConfigMap names whose keys all become environment variables (added to envFrom). */
  configmaps?: string[] | undefined;
  /** Secrets as env vars, volumes or all-keys env (added after the merge); see {@link Secret}. */
  secrets?: Secret[] | undefined;
  /** Downward-API env vars (added after the merge): env name → pod field path or container resource. */
  downwardApiEnv?: Record<string, DownwardApiSource> | undefined;
  volumeMounts?: Settable<V1VolumeMount[]>;
  /** Requests and limits; quantities are validated (`500m`, `1Gi`); GPUs as `'nvidia.com/gpu': 1`. */
  containerResources?: Settable<ResourceRequirements>;
  containerSecurityContext?: Settable<V1SecurityContext>;
  terminationMessagePolicy?: Settable<'File' | 'FallbackToLogsOnError'>;
  /** Working directory of the base container. */
  workingDir?: Settable<string>;

  // The pod spec.
  volumes?: Settable<V1Volume[]>;
  /** Pod security context (runAsUser, fsGroup, seccompProfile, …). */
  securityContext?: Settable<V1PodSecurityContext>;
  serviceAccountName?: Settable<string>;
  automountServiceAccountToken?: Settable<boolean>;
  /** Secret names (or references) used to pull images; a comma-separated string (`'a,b'`) as in Airflow. */
  imagePullSecrets?: Settable<(string | V1LocalObjectReference)[] | string>;
  nodeSelector?: Settable<Record<string, string>>;
  affinity?: Settable<V1Affinity>;
  tolerations?: Settable<V1Toleration[]>;
  priorityClassName?: Settable<string>;
  schedulerName?: Settable<string>;
  hostNetwork?: Settable<boolean>;
  dnsPolicy?: Settable<'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None'>;
  dnsConfig?: Settable<V1PodDNSConfig>;
  hostname?: Settable<string>;
  subdomain?: Settable<string>;
  hostAliases?: Settable<V1HostAlias[]>;
  /** Seconds the pod may run before Kubernetes kills it (DeadlineExceeded). */
  activeDeadlineSeconds?: Settable<number>;
  terminationGracePeriodSeconds?: Settable<number>;
  /** Init containers; merged with the template's by name. */
  initContainers?: Settable<V1Container[]>;
  /** Extra containers next to the base one (sidecars); given (even `[]`), they replace the template's non-base containers. */
  containers?: Settable<V1Container[]>;
}

/** Who the pod runs for: written into labels (sanitized) and annotations (verbatim). */
export interface PodIdentity {
  dagId: string;
  taskId: string;
  runId: string;
  tryNumber: number;
  /** Index of a mapped task instance; -1 or absent when not mapped. */
  mapIndex?: number | undefined;
  /** Value of the `capstan.dev/kind` label: who made the pod. Default `pod-operator` (executor pods: `worker`). */
  kind?: string | undefined;
}

/**
 * The {@link PodOptions} an operator should declare as `templateFields` (rendered with the task context before
 * `buildPod`; nested objects and lists are rendered string by string). Airflow's KPO renders the same
 * set. `podTemplateFile` is a path here: render its content into `podTemplateDict` if the template file
 * itself should be templated.
 */
export const POD_TEMPLATE_FIELDS = [
  'image',
  'name',
  'namespace',
  'hostname',
  'cmds',
  'arguments',
  'env',
  'envFrom',
  'labels',
  'annotations',
  'volumes',
  'volumeMounts',
  'containerResources',
  'nodeSelector',
  'configmaps',
  'podTemplateFile',
  'podTemplateDict',
] as const satisfies readonly (keyof PodOptions)[];
