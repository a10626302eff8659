/**
 * Builds the `V1Pod` of a task from its {@link PodOptions}: pure apart from reading `podTemplateFile`.
 *
 * Order:
 * 1. Check the arguments (errors name the argument: `containerResources.limits.memory: "1GG" is not a quantity`).
 * 2. Merge the layers, lowest first: defaults, template (`podTemplateFile` or `podTemplateDict`), `fullPodSpec`,
 *    the arguments (merge rules in merge.ts). The base container is the one named `base`.
 * 3. `containers` (sidecars), when given, replace the lower layers' non-base containers.
 * 4. Add `configmaps`, `secrets` and `downwardApiEnv` to the base container (they add, never replace).
 * 5. Name (argument > fullPodSpec > template > task id; DNS-1123, random suffix unless `randomNameSuffix: false`),
 *    namespace (argument > fullPodSpec/template > the connection's default), `restartPolicy: Never`, identity
 *    labels and annotations (see names.ts).
 * 6. The pod mutation hook, then a check of the final manifest (errors name the manifest path, e.g.
 *    `spec.containers[0].resources.limits.memory`).
 */
import { readFileSync } from 'node:fs';
import type { V1Container, V1EnvVar, V1LocalObjectReference, V1Pod } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { InvalidArgument } from '../../core/index.ts';
import { clean, mergeLayers, mergeValues } from './merge.ts';
import type { Manifest } from './merge.ts';
import { checkLabelKey, identityAnnotations, identityLabels, isLabelValue, podName } from './names.ts';
import type { DownwardApiSource, PodIdentity, PodOptions } from './options.ts';
import { quantity, validateResourceRequirements } from './quantity.ts';
import { secretAttachments } from './secret.ts';

/** Name of the container that runs the task; completion, logs and exit code are judged by it. */
export const BASE_CONTAINER_NAME = 'base';

/** What a build needs besides the options. */
export interface BuildPodContext {
  identity: PodIdentity;
  /** Namespace when neither the arguments nor the template name one (the connection's, resolved by the caller). */
  defaultNamespace?: string | undefined;
  /** Source of the random name suffix (default: 8 crypto-random [a-z0-9]); tests pin it. */
  randomSuffix?: (() => string) | undefined;
  /** Last word on the manifest (from config), e.g. to add a label or a toleration to every pod. */
  podMutationHook?: ((pod: V1Pod) => V1Pod) | undefined;
  /** Reads `podTemplateFile` (default: fs.readFileSync as UTF-8). */
  readFile?: ((path: string) => string) | undefined;
}

const PULL_POLICIES = new Set(['Always', 'IfNotPresent', 'Never']);
const DNS_POLICIES = new Set(['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None']);

function fail(path: string, message: string, hint?: string): never {
  throw new InvalidArgument(`${path}: ${message}`, hint);
}

function isObject(value: unknown): value is Manifest {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads and parses a pod template (YAML or JSON); errors name the file. */
export function loadPodTemplate(path: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Manifest {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    return fail('podTemplateFile', `cannot read ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    return fail('podTemplateFile', `${path} is not YAML: ${(err as Error).message}`);
  }
  return checkTemplate(value, `podTemplateFile (${path})`);
}

function checkTemplate(value: unknown, path: string): Manifest {
  if (!isObject(value)) return fail(path, 'is not a Pod manifest object');
  if (value['kind'] !== undefined && value['kind'] !== 'Pod') return fail(`${path}.kind`, `is '${String(value['kind'])}', expected 'Pod'`);
  if (value['spec'] !== undefined && !isObject(value['spec'])) return fail(`${path}.spec`, 'must be an object');
  return value;
}

function checkInteger(value: unknown, path: string, min: number): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) fail(path, `${JSON.stringify(value)} is not an integer ≥ ${min}`);
}

function checkStringList(value: unknown, path: string): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) fail(path, 'must be a list of strings');
  value.forEach((v, i) => {
    if (typeof v !== 'string') fail(`${path}[${i}]`, `${JSON.stringify(v)} is not a string`);
  });
}

function checkMetadataMap(value: Record<string, string | null> | null | undefined, path: string, labels: boolean): void {
  if (value === undefined || value === null) return;
  for (const [key, v] of Object.entries(value)) {
    checkLabelKey(key, `${path}.${key}`);
    if (v === null) continue;
    if (typeof v !== 'string') fail(`${path}.${key}`, `${JSON.stringify(v)} is not a string`);
    if (labels && !isLabelValue(v)) fail(`${path}.${key}`, `'${v}' is not a valid label value`, 'label values are ≤ 63 of [A-Za-z0-9_.-], starting and ending alphanumeric; put free text in annotations');
  }
}

/** Step 1: argument checks, with argument paths. */
function checkOptions(o: PodOptions): void {
  if (o.podTemplateFile !== undefined && o.podTemplateDict !== undefined) {
    fail('podTemplateDict', 'give podTemplateFile or podTemplateDict, not both');
  }
  if (o.image !== undefined && o.image !== null && (typeof o.image !== 'string' || o.image.trim() === '')) fail('image', 'must be a non-empty image reference');
  if (o.imagePullPolicy !== undefined && o.imagePullPolicy !== null && !PULL_POLICIES.has(o.imagePullPolicy)) {
    fail('imagePullPolicy', `'${String(o.imagePullPolicy)}' is not one of Always, IfNotPresent, Never`);
  }
  if (o.dnsPolicy !== undefined && o.dnsPolicy !== null && !DNS_POLICIES.has(o.dnsPolicy)) {
    fail('dnsPolicy', `'${String(o.dnsPolicy)}' is not one of ${[...DNS_POLICIES].join(', ')}`);
  }
  checkStringList(o.cmds, 'cmds');
  checkStringList(o.arguments, 'arguments');
  checkStringList(o.configmaps, 'configmaps');
  if (o.containerResources !== undefined && o.containerResources !== null) validateResourceRequirements(o.containerResources, 'containerResources');
  checkMetadataMap(o.labels, 'labels', true);
  checkMetadataMap(o.annotations, 'annotations', false);
  checkInteger(o.activeDeadlineSeconds, 'activeDeadlineSeconds', 1);
  checkInteger(o.terminationGracePeriodSeconds, 'terminationGracePeriodSeconds', 0);
  o.ports?.forEach((p, i) => checkInteger(p.containerPort, `ports[${i}].containerPort`, 1));
  if (o.env !== undefined && o.env !== null && (typeof o.env !== 'object')) {
    fail('env', `must be a list of env vars or a record of name → value${typeof o.env === 'string' ? ', not a string' : ''}`, "e.g. env: { STAGE: 'prod' } or env: [{ name: 'STAGE', value: 'prod' }]");
  }
  if (o.env !== undefined && o.env !== null && !Array.isArray(o.env)) {
    for (const [name, value] of Object.entries(o.env)) {
      if (name === '') fail('env', 'an env var needs a name');
      if (typeof value !== 'string') fail(`env.${name}`, `${JSON.stringify(value)} is not a string (env values are strings)`);
    }
  }
  if (Array.isArray(o.env)) o.env.forEach((e, i) => { if (typeof e?.name !== 'string' || e.name === '') fail(`env[${i}].name`, 'an env var needs a name'); });
  pullSecretRefs(o.imagePullSecrets);
  o.initContainers?.forEach((c, i) => { if (typeof c?.name !== 'string' || c.name === '') fail(`initContainers[${i}].name`, 'every init container needs a name'); });
  o.containers?.forEach((c, i) => {
    if (typeof c?.name !== 'string' || c.name === '') fail(`containers[${i}].name`, 'every extra container needs a name');
    if (c.name === BASE_CONTAINER_NAME) fail(`containers[${i}].name`, `'${BASE_CONTAINER_NAME}' is the task's own container; configure it with image, cmds, … instead`);
  });
}

/**
 * `imagePullSecrets` as references: a list of names or `{ name }`, or Airflow's comma-separated string
 * (`'registry-a,registry-b'`). Errors name the argument.
 */
function pullSecretRefs(value: PodOptions['imagePullSecrets']): V1LocalObjectReference[] | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value === 'string') return value.split(',').map((n) => n.trim()).filter((n) => n !== '').map((name) => ({ name }));
  if (!Array.isArray(value)) return fail('imagePullSecrets', 'must be a list of secret names or references, or a comma-separated string', "e.g. imagePullSecrets: 'registry-a,registry-b'");
  return value.map((s, i) => {
    if (typeof s === 'string' && s !== '') return { name: s };
    if (isObject(s) && typeof s['name'] === 'string' && s['name'] !== '') return s as V1LocalObjectReference;
    return fail(`imagePullSecrets[${i}]`, `${JSON.stringify(s)} is not a secret name or { name }`);
  });
}

function envList(env: NonNullable<PodOptions['env']>): V1EnvVar[] {
  return Array.isArray(env) ? env : Object.entries(env).map(([name, value]) => ({ name, value }));
}

function downwardEnv(entries: Record<string, DownwardApiSource>): V1EnvVar[] {
  return Object.entries(entries).map(([name, source]) => typeof source === 'string'
    ? { name, valueFrom: { fieldRef: { fieldPath: source } } }
    : { name, valueFrom: { resourceFieldRef: { resource: source.resource, containerName: source.containerName ?? BASE_CONTAINER_NAME, ...(source.divisor === undefined ? {} : { divisor: source.divisor }) } } });
}

/** Puts `[key]: value` into `target` unless value is undefined (null is kept: it clears the lower layers). */
function put(target: Manifest, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value;
}

/** Step 2's top layer: the arguments as a partial pod (base container only; sidecars are step 3). */
function argumentsLayer(o: PodOptions): Manifest {
  const base: Manifest = { name: BASE_CONTAINER_NAME };
  put(base, 'image', o.image);
  put(base, 'imagePullPolicy', o.imagePullPolicy);
  put(base, 'command', o.cmds);
  put(base, 'args', o.arguments);
  put(base, 'ports', o.ports);
  put(base, 'env', o.env === undefined || o.env === null ? o.env : envList(o.env));
  put(base, 'envFrom', o.envFrom);
  put(base, 'volumeMounts', o.volumeMounts);
  put(base, 'resources', o.containerResources === undefined || o.containerResources === null ? o.containerResources : validateResourceRequirements(o.containerResources, 'containerResources'));
  put(base, 'securityContext', o.containerSecurityContext);
  put(base, 'terminationMessagePolicy', o.terminationMessagePolicy);
  put(base, 'workingDir', o.workingDir);

  const spec: Manifest = { containers: [base] };
  put(spec, 'volumes', o.volumes);
  put(spec, 'securityContext', o.securityContext);
  put(spec, 'serviceAccountName', o.serviceAccountName);
  put(spec, 'automountServiceAccountToken', o.automountServiceAccountToken);
  put(spec, 'imagePullSecrets', pullSecretRefs(o.imagePullSecrets));
  put(spec, 'nodeSelector', o.nodeSelector);
  put(spec, 'affinity', o.affinity);
  put(spec, 'tolerations', o.tolerations);
  put(spec, 'priorityClassName', o.priorityClassName);
  put(spec, 'schedulerName', o.schedulerName);
  put(spec, 'hostNetwork', o.hostNetwork);
  put(spec, 'dnsPolicy', o.dnsPolicy);
  put(spec, 'dnsConfig', o.dnsConfig);
  put(spec, 'hostname', o.hostname);
  put(spec, 'subdomain', o.subdomain);
  put(spec, 'hostAliases', o.hostAliases);
  put(spec, 'activeDeadlineSeconds', o.activeDeadlineSeconds);
  put(spec, 'terminationGracePeriodSeconds', o.terminationGracePeriodSeconds);
  put(spec, 'initContainers', o.initContainers);

  const metadata: Manifest = {};
  put(metadata, 'labels', o.labels);
  put(metadata, 'annotations', o.annotations);
  return { metadata, spec };
}

function baseContainerOf(pod: Manifest): Manifest {
  const spec = pod['spec'] as Manifest;
  const containers = spec['containers'] as Manifest[];
  const base = containers.find((c) => c['name'] === BASE_CONTAINER_NAME);
  if (base === undefined) throw new Error('internal: the merged pod lost its base container');
  return base;
}

function append(container: Manifest, key: string, items: unknown[]): void {
  if (items.length === 0) return;
  const existing = Array.isArray(container[key]) ? (container[key] as unknown[]) : [];
  container[key] = [...existing, ...items];
}

/** Step 4: configmaps, secrets and downward-API env add to whatever the merge produced. */
function addAttachments(pod: Manifest, o: PodOptions): void {
  const base = baseContainerOf(pod);
  const spec = pod['spec'] as Manifest;
  append(base, 'env', o.downwardApiEnv === undefined ? [] : downwardEnv(o.downwardApiEnv));
  append(base, 'envFrom', (o.configmaps ?? []).map((name) => ({ configMapRef: { name } })));
  const secrets = secretAttachments(o.secrets ?? []);
  append(base, 'env', secrets.env);
  append(base, 'envFrom', secrets.envFrom);
  const existingVolumes = new Set((Array.isArray(spec['volumes']) ? (spec['volumes'] as Manifest[]) : []).map((v) => v['name']));
  append(spec, 'volumes', secrets.volumes.filter((v) => !existingVolumes.has(v.name)));
  append(base, 'volumeMounts', secrets.volumeMounts);
}

/** Step 6: checks of the final manifest, with manifest paths. */
export function checkPodManifest(pod: V1Pod): void {
  const spec = pod.spec;
  if (spec === undefined) return fail('spec', 'the pod has no spec');
  const volumeNames = new Set((spec.volumes ?? []).map((v) => v.name));
  const groups: [string, V1Container[] | undefined][] = [['spec.initContainers', spec.initContainers], ['spec.containers', spec.containers]];
  const seen = new Set<string>();
  for (const [group, containers] of groups) {
    for (const [i, c] of (containers ?? []).entries()) {
      const at = `${group}[${i}]`;
      if (typeof c.name !== 'string' || c.name === '') fail(`${at}.name`, 'every container needs a name');
      if (seen.has(c.name)) fail(`${at}.name`, `'${c.name}' is used by two containers`);
      seen.add(c.name);
      if (typeof c.image !== 'string' || c.image === '') {
        fail(`${at}.image`, `container '${c.name}' has no image`, c.name === BASE_CONTAINER_NAME ? "set the operator's image, or give the template's 'base' container one" : undefined);
      }
      if (c.imagePullPolicy !== undefined && !PULL_POLICIES.has(c.imagePullPolicy)) fail(`${at}.imagePullPolicy`, `'${c.imagePullPolicy}' is not one of Always, IfNotPresent, Never`);
      if (c.resources !== undefined) validateResourceRequirements(c.resources, `${at}.resources`);
      for (const [j, m] of (c.volumeMounts ?? []).entries()) {
        if (!volumeNames.has(m.name)) fail(`${at}.volumeMounts[${j}].name`, `no volume named '${m.name}' in spec.volumes`);
      }
    }
  }
  for (const [i, v] of (spec.volumes ?? []).entries()) {
    if (v.emptyDir?.sizeLimit !== undefined) quantity(v.emptyDir.sizeLimit, `spec.volumes[${i}].emptyDir.sizeLimit`);
  }
  checkMetadataMap(pod.metadata?.labels, 'metadata.labels', true);
  checkMetadataMap(pod.metadata?.annotations, 'metadata.annotations', false);
}

function metadataString(layer: unknown, key: string): string | undefined {
  if (!isObject(layer) || !isObject(layer['metadata'])) return undefined;
  const value = layer['metadata'][key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Builds the task's pod manifest.
 *
 * @example
 * const pod = buildPod(
 *   { image: 'python:3.13-slim', cmds: ['python', '-c'], arguments: ['print(42)'], containerResources: { limits: { memory: '512Mi' } } },
 *   { identity: { dagId: 'etl', taskId: 'compute', runId: 'manual__1', tryNumber: 1 }, defaultNamespace: 'etl' },
 * );
 */
export function buildPod(options: PodOptions, context: BuildPodContext): V1Pod {
  checkOptions(options);
  const readFile = context.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const template = options.podTemplateFile !== undefined
    ? loadPodTemplate(options.podTemplateFile, readFile)
    : options.podTemplateDict !== undefined ? checkTemplate(options.podTemplateDict, 'podTemplateDict') : undefined;
  const full = options.fullPodSpec === undefined ? undefined : checkTemplate(options.fullPodSpec, 'fullPodSpec');
  const defaults: Manifest = { apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: { containers: [{ name: BASE_CONTAINER_NAME }] } };

  let pod: Manifest;
  try {
    pod = mergeLayers([defaults, template, full, argumentsLayer(options)]);
  } catch (err) {
    if (err instanceof TypeError) throw new InvalidArgument(err.message);
    throw err;
  }
  pod['apiVersion'] = 'v1';
  pod['kind'] = 'Pod';
  const spec = pod['spec'] as Manifest;
  if (options.containers !== undefined) {
    const base = (spec['containers'] as Manifest[]).filter((c) => c['name'] === BASE_CONTAINER_NAME);
    spec['containers'] = [...base, ...(options.containers ?? []).map((c) => clean(c) as Manifest)];
  }
  // The base container goes first: tools (kubectl logs, exec) default to the first container.
  const containers = spec['containers'] as Manifest[];
  spec['containers'] = [...containers.filter((c) => c['name'] === BASE_CONTAINER_NAME), ...containers.filter((c) => c['name'] !== BASE_CONTAINER_NAME)];
  addAttachments(pod, options);
  spec['restartPolicy'] = 'Never';

  const metadata = (isObject(pod['metadata']) ? pod['metadata'] : {});
  const nameBase = options.name ?? metadataString(full, 'name') ?? metadataString(template, 'name') ?? context.identity.taskId;
  const suffix = context.randomSuffix === undefined ? {} : { suffix: context.randomSuffix };
  metadata['name'] = podName(nameBase, { randomSuffix: options.randomNameSuffix !== false, ...suffix });
  delete metadata['generateName'];
  metadata['namespace'] = options.namespace ?? metadataString(full, 'namespace') ?? metadataString(template, 'namespace') ?? context.defaultNamespace ?? 'default';
  metadata['labels'] = { ...(isObject(metadata['labels']) ? metadata['labels'] : {}), ...identityLabels(context.identity) };
  metadata['annotations'] = { ...(isObject(metadata['annotations']) ? metadata['annotations'] : {}), ...identityAnnotations(context.identity) };
  pod['metadata'] = metadata;
  delete pod['status'];

  let result = clean(pod) as V1Pod;
  if (context.podMutationHook !== undefined) result = context.podMutationHook(structuredClone(result));
  checkPodManifest(result);
  return result;
}

/**
 * Applies a pod override over a built pod by the same merge rules (for callers that patch a manifest after
 * building, e.g. an executor's per-task override).
 */
export function overridePod(pod: V1Pod, override: V1Pod): V1Pod {
  return mergeValues(pod, override) as V1Pod;
}
