/**
 * Builds a `SparkApplication` (`sparkoperator.k8s.io/v1beta2`, the kubeflow Spark operator's custom resource)
 * from the template format of Airflow's SparkKubernetesOperator: a document with a `spark:` section (the
 * SparkApplication itself) and an optional `kubernetes:` section (pod settings copied to the driver and the
 * executors). Pure apart from reading `applicationFile` when it is a path.
 *
 * Mapping of the `kubernetes:` section (Airflow's snake_case keys, camelCase accepted too), applied to both
 * `spec.driver` and `spec.executor` unless they set the field themselves:
 *
 * | section key | SparkApplication field |
 * | --- | --- |
 * | `env_vars` | `env` |
 * | `env_from`, `from_env_config_map` (names), `from_env_secret` (names) | `envFrom` (configMapRef / secretRef) |
 * | `node_selector` | `nodeSelector` |
 * | `affinity` (empty sub-objects dropped) | `affinity` |
 * | `tolerations` | `tolerations` |
 * | `config_map_mounts` (name → path) | `configMaps: [{ name, path }]` |
 * | `volume_mounts` | `volumeMounts` |
 * | `volumes` | `spec.volumes` |
 * | `image_pull_secrets` (names) | `spec.imagePullSecrets` |
 *
 * `env_vars` may be a list of env vars or a record of name → value (made into a list); `image_pull_secrets` a
 * list of names or a comma-separated string (as Airflow accepts).
 *
 * `container_resources` of the driver or executor (`cpu.request/limit`, `memory.request/limit`,
 * `gpu.name/quantity`) become `cores` (an integer request) or `coreRequest` (a fractional one), `coreLimit`,
 * `memory` and `gpu`. Memory is written in Spark's notation (`512m`, `2g`, `1gb`; k/m/g/t in any case, binary
 * units, as Airflow's template does) or as a Kubernetes binary quantity (`512Mi`). The memory is the limit (else
 * the request) divided by 1.4, because the Spark operator adds a 40 % overhead to it when sizing the pod — the
 * same conversion as Airflow's.
 *
 * Then `image` → `spec.image`, `codePath` → `spec.mainApplicationFile`; name (argument > manifest > task id;
 * DNS-1123, at most 56 characters so that the driver pod `<name>-driver` stays a valid name, random suffix
 * unless disabled), namespace (argument > manifest > default), and the task's identity labels on the
 * application, the driver and the executors (to find them again on a retry).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { InvalidArgument } from '../../core/index.ts';
import type { BuildPodContext } from '../pod/build.ts';
import { clean } from '../pod/merge.ts';
import type { Manifest } from '../pod/merge.ts';
import { dns1123Label, identityAnnotations, identityLabels, POD_LABELS, randomSuffix } from '../pod/names.ts';
import { quantity } from '../pod/quantity.ts';

/** API group, version and plural of the SparkApplication resource. */
export const SPARK_APPLICATION = { group: 'sparkoperator.k8s.io', version: 'v1beta2', plural: 'sparkapplications', kind: 'SparkApplication' } as const;
/** Container of the driver pod whose log is the task's. */
export const SPARK_DRIVER_CONTAINER = 'spark-kubernetes-driver';
/** `capstan.dev/kind` of a SparkApplication and its pods. */
export const SPARK_KIND = 'spark-operator';
/** Longest application name: the driver pod is `<name>-driver`. */
export const MAX_SPARK_APP_NAME = 56;

/** Parameters of a SparkApplication. */
export interface SparkApplicationOptions {
  /** Path of a YAML/JSON template, or the template text itself (inline when it contains a newline or starts with `{`). */
  applicationFile?: string | undefined;
  /** The template as an object (exclusive with applicationFile). */
  templateSpec?: Record<string, unknown> | undefined;
  /** `spec.image`. */
  image?: string | undefined;
  /** `spec.mainApplicationFile` (e.g. `local:///opt/spark/examples/src/main/python/pi.py`). */
  codePath?: string | undefined;
  /** Application name (default: the manifest's, else the task id). */
  name?: string | undefined;
  namespace?: string | undefined;
  /** Append `-xxxxxxxx` to the name. Default true. */
  randomNameSuffix?: boolean | undefined;
}

function fail(path: string, message: string, hint?: string): never {
  throw new InvalidArgument(`${path}: ${message}`, hint);
}

function isObject(value: unknown): value is Manifest {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInline(text: string): boolean {
  const t = text.trimStart();
  return text.includes('\n') || t.startsWith('{');
}

/** Reads the template: an object, an inline YAML/JSON text, or a file path. */
export function loadSparkTemplate(options: SparkApplicationOptions, readFile: (p: string) => string = (p) => readFileSync(p, 'utf8')): Manifest {
  if (options.applicationFile !== undefined && options.templateSpec !== undefined) fail('templateSpec', 'give applicationFile or templateSpec, not both');
  if (options.templateSpec !== undefined) {
    if (!isObject(options.templateSpec)) fail('templateSpec', 'must be an object with a spark: section');
    return options.templateSpec;
  }
  const file = options.applicationFile;
  if (file === undefined) return fail('applicationFile', 'give applicationFile (a path or the YAML/JSON text) or templateSpec');
  let text = file;
  if (!isInline(file)) {
    try {
      text = readFile(file);
    } catch (err) {
      return fail('applicationFile', `cannot read ${file}: ${(err as Error).message}`, 'give a readable path, or the template text itself');
    }
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    return fail('applicationFile', `is not YAML or JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) return fail('applicationFile', 'is not a template object (expected a spark: section)');
  return value;
}

function get(section: Manifest, snake: string, camel: string): unknown {
  return section[snake] ?? section[camel];
}

/** The key of the `kubernetes:` section a value was given under, for error paths. */
function keyOf(section: Manifest, snake: string, camel: string): string {
  return `kubernetes.${section[snake] === undefined && section[camel] !== undefined ? camel : snake}`;
}

/** `env_vars`: a list of `{name, value | valueFrom}` as given, or a record of name → value made into one. */
function envVars(value: unknown, path: string): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return fail(path, 'must be a list of {name, value} or a record of name → value, not a string', "e.g. env_vars: { STAGE: 'prod' }");
  if (Array.isArray(value)) {
    value.forEach((e, i) => {
      if (!isObject(e) || typeof e['name'] !== 'string' || e['name'] === '') fail(`${path}[${i}].name`, 'an env var needs a name');
    });
    return value;
  }
  if (!isObject(value)) return fail(path, 'must be a list of {name, value} or a record of name → value');
  return Object.entries(value).map(([name, v]) => {
    if (typeof v !== 'string') fail(`${path}.${name}`, `${JSON.stringify(v)} is not a string (env values are strings)`);
    return { name, value: v };
  });
}

/** `image_pull_secrets`: a list of names (or `{name}` references), or Airflow's comma-separated string. */
function pullSecretNames(value: unknown, path: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (Array.isArray(value)) {
    return value.map((v, i) => {
      if (typeof v === 'string' && v !== '') return v;
      if (isObject(v) && typeof v['name'] === 'string' && v['name'] !== '') return v['name'];
      return fail(`${path}[${i}]`, `${JSON.stringify(v)} is not a secret name`);
    });
  }
  return fail(path, 'must be a list of names or a comma-separated string', "e.g. image_pull_secrets: 'registry-a,registry-b'");
}

function stringList(value: unknown, path: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) return fail(path, 'must be a list of names');
  return value as string[];
}

function nonEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return true;
}

/** The `kubernetes:` section as the fields to set on the driver and the executors, and on the spec. */
function kubernetesSection(section: Manifest): { pod: Manifest; spec: Manifest } {
  const pod: Manifest = {};
  const spec: Manifest = {};
  const env = envVars(get(section, 'env_vars', 'envVars'), keyOf(section, 'env_vars', 'envVars'));
  if (nonEmpty(env)) pod['env'] = env;
  const envFrom = [
    ...(Array.isArray(get(section, 'env_from', 'envFrom')) ? (get(section, 'env_from', 'envFrom') as unknown[]) : []),
    ...stringList(get(section, 'from_env_config_map', 'fromEnvConfigMap'), 'kubernetes.from_env_config_map').map((name) => ({ configMapRef: { name } })),
    ...stringList(get(section, 'from_env_secret', 'fromEnvSecret'), 'kubernetes.from_env_secret').map((name) => ({ secretRef: { name } })),
  ];
  if (envFrom.length > 0) pod['envFrom'] = envFrom;
  const nodeSelector = get(section, 'node_selector', 'nodeSelector');
  if (nonEmpty(nodeSelector)) pod['nodeSelector'] = nodeSelector;
  const affinity = section['affinity'];
  if (isObject(affinity)) {
    const kept = Object.fromEntries(Object.entries(affinity).filter(([, v]) => nonEmpty(v)));
    if (Object.keys(kept).length > 0) pod['affinity'] = kept;
  }
  const tolerations = section['tolerations'];
  if (nonEmpty(tolerations)) pod['tolerations'] = tolerations;
  const mounts = get(section, 'config_map_mounts', 'configMapMounts');
  if (mounts !== undefined && mounts !== null) {
    if (!isObject(mounts)) fail('kubernetes.config_map_mounts', 'must map config map names to mount paths');
    const list = Object.entries(mounts).map(([name, path]) => {
      if (typeof path !== 'string') fail(`kubernetes.config_map_mounts.${name}`, 'must be a mount path');
      return { name, path };
    });
    if (list.length > 0) pod['configMaps'] = list;
  }
  const volumeMounts = get(section, 'volume_mounts', 'volumeMounts');
  if (nonEmpty(volumeMounts)) pod['volumeMounts'] = volumeMounts;
  const volumes = section['volumes'];
  if (nonEmpty(volumes)) spec['volumes'] = volumes;
  const pullSecrets = pullSecretNames(get(section, 'image_pull_secrets', 'imagePullSecrets'), keyOf(section, 'image_pull_secrets', 'imagePullSecrets'));
  if (pullSecrets.length > 0) spec['imagePullSecrets'] = pullSecrets;
  return { pod, spec };
}

function cpuNumber(value: unknown, path: string): number {
  const q = quantity(value as string | number, path);
  const text = String(q);
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
}

/** Spark's memory strings (`512m`, `2g`, `1gb`): k, m, g, t in any case, an optional `b`, binary units. */
const SPARK_MEMORY = /^([0-9]+(?:\.[0-9]+)?)([kmgt])b?$/i;
const SPARK_UNITS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
/** Kubernetes' binary quantities (`512Mi`), or a plain number of bytes. */
const KUBE_MEMORY = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi)?$/;
const KUBE_UNITS: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5 };

/**
 * A memory size in bytes: Spark's notation first (what Airflow's template and `spark.driver.memory` use, so `1G`
 * is a gibibyte, not 10⁹ bytes), else a Kubernetes binary quantity or a number of bytes.
 */
export function memoryBytes(value: unknown, path: string): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : undefined;
  const spark = text === undefined ? null : SPARK_MEMORY.exec(text);
  if (spark !== null) return Number(spark[1]) * (SPARK_UNITS[(spark[2] ?? '').toLowerCase()] ?? 1);
  const kube = text === undefined ? null : KUBE_MEMORY.exec(text);
  if (kube !== null) return Number(kube[1]) * (KUBE_UNITS[kube[2] ?? ''] ?? 1);
  return fail(path, `'${String(value)}' is not a memory size`, "use Spark's notation (512m, 2g: k, m, g, t in any case, optional b) or a Kubernetes quantity (512Mi, 2Gi)");
}

/** `container_resources` of a driver or executor → Spark's fields. */
function convertResources(role: Manifest, path: string): void {
  const resources = get(role, 'container_resources', 'containerResources');
  delete role['container_resources'];
  delete role['containerResources'];
  if (resources === undefined || resources === null) return;
  if (!isObject(resources)) fail(path, 'must be an object with cpu, memory and gpu');
  const cpu = isObject(resources['cpu']) ? resources['cpu'] : {};
  const memory = isObject(resources['memory']) ? resources['memory'] : {};
  const gpu = isObject(resources['gpu']) ? resources['gpu'] : {};
  if (cpu['request'] !== undefined && cpu['request'] !== null) {
    const cores = cpuNumber(cpu['request'], `${path}.cpu.request`);
    if (Number.isInteger(cores) && cores >= 1) role['cores'] = cores;
    else role['coreRequest'] = String(cpu['request']);
  }
  if (cpu['limit'] !== undefined && cpu['limit'] !== null) role['coreLimit'] = String(quantity(cpu['limit'] as string | number, `${path}.cpu.limit`));
  const mem = memory['limit'] ?? memory['request'];
  if (mem !== undefined && mem !== null) {
    const bytes = memoryBytes(mem, `${path}.memory.${memory['limit'] !== undefined && memory['limit'] !== null ? 'limit' : 'request'}`);
    role['memory'] = `${Math.floor(bytes / 1.4 / 1024 ** 2)}m`;
  }
  const gpuQuantity = gpu['quantity'];
  if (typeof gpu['name'] === 'string' && gpu['name'] !== '' && typeof gpuQuantity === 'number' && gpuQuantity > 0) {
    role['gpu'] = { name: gpu['name'], quantity: gpuQuantity };
  }
}

/** The application name: DNS-1123, ≤ 56 characters (the driver pod adds `-driver`). */
export function sparkAppName(base: string, options: { randomSuffix?: boolean | undefined; suffix?: (() => string) | undefined } = {}): string {
  if (options.randomSuffix === false) return dns1123Label(base, MAX_SPARK_APP_NAME);
  const suffix = (options.suffix ?? randomSuffix)();
  return `${dns1123Label(base, MAX_SPARK_APP_NAME - suffix.length - 1)}-${suffix}`;
}

/**
 * Builds the task's SparkApplication manifest (see the module doc).
 *
 * @example
 * const app = buildSparkApplication(
 *   { applicationFile: 'spark/pi.yaml', image: 'spark:3.5.3', codePath: 'local:///opt/spark/examples/src/main/python/pi.py' },
 *   { identity: { dagId: 'etl', taskId: 'pi', runId: 'manual__1', tryNumber: 1 }, defaultNamespace: 'spark' },
 * );
 */
export function buildSparkApplication(options: SparkApplicationOptions, context: BuildPodContext): Manifest {
  const template = loadSparkTemplate(options, context.readFile);
  const sparkSection = template['spark'] ?? (template['kind'] === SPARK_APPLICATION.kind ? template : undefined);
  if (!isObject(sparkSection)) return fail('spark', 'the template has no spark: section (the SparkApplication)', 'see docs/kubernetes/spark-operator.md for the template format');
  if (sparkSection['kind'] !== undefined && sparkSection['kind'] !== SPARK_APPLICATION.kind) fail('spark.kind', `is '${String(sparkSection['kind'])}', expected 'SparkApplication'`);
  const app = structuredClone(sparkSection);
  delete app['version'];
  delete app['apiGroup'];
  const spec = isObject(app['spec']) ? app['spec'] : fail('spark.spec', 'the SparkApplication has no spec');
  for (const role of ['driver', 'executor'] as const) {
    if (spec[role] === undefined) spec[role] = {};
    if (!isObject(spec[role])) fail(`spark.spec.${role}`, 'must be an object');
  }
  const driver = spec['driver'] as Manifest;
  const executor = spec['executor'] as Manifest;
  const dyn = spec['dynamicAllocation'];
  if (isObject(dyn) && dyn['enabled'] === true && typeof dyn['minExecutors'] === 'number' && typeof dyn['maxExecutors'] === 'number' && dyn['minExecutors'] > dyn['maxExecutors']) {
    fail('spark.spec.dynamicAllocation', `minExecutors (${dyn['minExecutors']}) is above maxExecutors (${dyn['maxExecutors']})`);
  }
  convertResources(driver, 'spark.spec.driver.container_resources');
  convertResources(executor, 'spark.spec.executor.container_resources');

  const k8s = template['kubernetes'];
  if (k8s !== undefined && k8s !== null) {
    if (!isObject(k8s)) fail('kubernetes', 'must be an object');
    const { pod, spec: specFields } = kubernetesSection(k8s);
    for (const role of [driver, executor]) {
      for (const [key, value] of Object.entries(pod)) if (role[key] === undefined) role[key] = structuredClone(value);
    }
    for (const [key, value] of Object.entries(specFields)) if (spec[key] === undefined) spec[key] = value;
  }
  if (options.image !== undefined) spec['image'] = options.image;
  if (options.codePath !== undefined) spec['mainApplicationFile'] = options.codePath;

  const metadata = isObject(app['metadata']) ? app['metadata'] : {};
  const manifestName = typeof metadata['name'] === 'string' && metadata['name'] !== '' ? metadata['name'] : undefined;
  metadata['name'] = sparkAppName(options.name ?? manifestName ?? context.identity.taskId, { randomSuffix: options.randomNameSuffix !== false, suffix: context.randomSuffix });
  const manifestNamespace = typeof metadata['namespace'] === 'string' && metadata['namespace'] !== '' ? metadata['namespace'] : undefined;
  metadata['namespace'] = options.namespace ?? manifestNamespace ?? context.defaultNamespace ?? 'default';
  const labels = { ...identityLabels(context.identity), [POD_LABELS.kind]: SPARK_KIND };
  metadata['labels'] = { ...(isObject(metadata['labels']) ? metadata['labels'] : {}), ...labels };
  metadata['annotations'] = { ...(isObject(metadata['annotations']) ? metadata['annotations'] : {}), ...identityAnnotations(context.identity) };
  app['metadata'] = metadata;
  for (const role of [driver, executor]) role['labels'] = { ...(isObject(role['labels']) ? role['labels'] : {}), ...labels };
  app['apiVersion'] = `${SPARK_APPLICATION.group}/${SPARK_APPLICATION.version}`;
  app['kind'] = SPARK_APPLICATION.kind;
  delete app['status'];
  if (typeof spec['mainApplicationFile'] !== 'string' || spec['mainApplicationFile'] === '') {
    fail('spark.spec.mainApplicationFile', 'the application has no main file', 'set codePath, or mainApplicationFile in the template');
  }
  if (typeof spec['image'] !== 'string' || spec['image'] === '') fail('spark.spec.image', 'the application has no image', 'set image, or spec.image in the template');
  return clean(app) as Manifest;
}
