/**
 * Builds the `V1Job` of a task from its {@link JobOptions}: pure apart from reading the template files.
 *
 * Order:
 * 1. Check the Job arguments (errors name the argument: `completions: -1 is not an integer ≥ 0`).
 * 2. The pod template is the pod builder's work ({@link buildPod}): its lowest layer is the pod template
 *    (`podTemplateFile` / `podTemplateDict`), then the job template's `spec.template`, then `fullJobSpec`'s
 *    `spec.template`; `fullPodSpec` and the pod arguments go over those as for a task pod. So the Job's pods
 *    carry the identity labels, `restartPolicy: Never`, the mutation hook and the same validation as a KPO
 *    pod. Its name and namespace are dropped (the Job controller names the pods).
 * 3. The Job layers, lowest first: defaults, the job template, `fullJobSpec`, the Job arguments (merge rules
 *    of ../pod/merge.ts: objects merge, lists replace, `null` removes, `false`/`0` set).
 * 4. Name (argument > fullJobSpec > template > task id; DNS-1123, random suffix unless disabled), namespace
 *    (argument > fullJobSpec > template > default), the operator's labels and annotations and the identity
 *    labels on the Job too (they find it again on a retry), then a check of the whole manifest (errors name
 *    the manifest path).
 */
import { readFileSync } from 'node:fs';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { InvalidArgument } from '../../core/index.ts';
import { buildPod } from '../pod/build.ts';
import type { BuildPodContext } from '../pod/build.ts';
import { clean, mergeLayers } from '../pod/merge.ts';
import type { Manifest } from '../pod/merge.ts';
import { identityAnnotations, identityLabels, podName, POD_LABELS } from '../pod/names.ts';
import type { PodOptions } from '../pod/options.ts';
import { JOB_OPTION_KEYS } from './options.ts';
import type { JobOptions } from './options.ts';

/** `capstan.dev/kind` of a task's Job and of its pods. */
export const JOB_KIND = 'job-operator';

const COMPLETION_MODES = new Set(['NonIndexed', 'Indexed']);

function fail(path: string, message: string, hint?: string): never {
  throw new InvalidArgument(`${path}: ${message}`, hint);
}

function isObject(value: unknown): value is Manifest {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkInteger(value: unknown, path: string, min: number): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) fail(path, `${JSON.stringify(value)} is not an integer ≥ ${min}`);
}

function checkJobTemplate(value: unknown, path: string): Manifest {
  if (!isObject(value)) return fail(path, 'is not a Job manifest object');
  if (value['kind'] !== undefined && value['kind'] !== 'Job') return fail(`${path}.kind`, `is '${String(value['kind'])}', expected 'Job'`);
  if (value['spec'] !== undefined && !isObject(value['spec'])) return fail(`${path}.spec`, 'must be an object');
  const spec = value['spec'];
  if (isObject(spec) && spec['template'] !== undefined && !isObject(spec['template'])) return fail(`${path}.spec.template`, 'must be a pod template object');
  return value;
}

/** Reads and parses a Job template (YAML or JSON); errors name the file. */
export function loadJobTemplate(path: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Manifest {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    return fail('jobTemplateFile', `cannot read ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    return fail('jobTemplateFile', `${path} is not YAML: ${(err as Error).message}`);
  }
  return checkJobTemplate(value, `jobTemplateFile (${path})`);
}

/** Step 1. */
function checkJobOptions(o: JobOptions): void {
  if (o.jobTemplateFile !== undefined && o.jobTemplateDict !== undefined) fail('jobTemplateDict', 'give jobTemplateFile or jobTemplateDict, not both');
  checkInteger(o.backoffLimit, 'backoffLimit', 0);
  checkInteger(o.completions, 'completions', 0);
  checkInteger(o.parallelism, 'parallelism', 0);
  checkInteger(o.activeDeadlineSeconds, 'activeDeadlineSeconds', 1);
  checkInteger(o.ttlSecondsAfterFinished, 'ttlSecondsAfterFinished', 0);
  checkInteger(o.backoffLimitPerIndex, 'backoffLimitPerIndex', 0);
  checkInteger(o.maxFailedIndexes, 'maxFailedIndexes', 0);
  if (o.completionMode !== undefined && o.completionMode !== null && !COMPLETION_MODES.has(o.completionMode)) {
    fail('completionMode', `'${String(o.completionMode)}' is not one of NonIndexed, Indexed`);
  }
  if (o.selector !== undefined && o.selector !== null && !isObject(o.selector)) fail('selector', 'must be a label selector object ({ matchLabels, matchExpressions })');
  if (o.suspend !== undefined && o.suspend !== null && typeof o.suspend !== 'boolean') fail('suspend', 'must be true or false');
  if (o.manualSelector !== undefined && o.manualSelector !== null && typeof o.manualSelector !== 'boolean') fail('manualSelector', 'must be true or false');
}

function put(target: Manifest, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value;
}

/** Step 3's top layer. */
function jobArgumentsLayer(o: JobOptions): Manifest {
  const spec: Manifest = {};
  put(spec, 'backoffLimit', o.backoffLimit);
  put(spec, 'completions', o.completions);
  put(spec, 'completionMode', o.completionMode);
  put(spec, 'parallelism', o.parallelism);
  put(spec, 'activeDeadlineSeconds', o.activeDeadlineSeconds);
  put(spec, 'ttlSecondsAfterFinished', o.ttlSecondsAfterFinished);
  put(spec, 'suspend', o.suspend);
  put(spec, 'selector', o.selector);
  put(spec, 'manualSelector', o.manualSelector);
  put(spec, 'podFailurePolicy', o.podFailurePolicy);
  put(spec, 'successPolicy', o.successPolicy);
  put(spec, 'backoffLimitPerIndex', o.backoffLimitPerIndex);
  put(spec, 'maxFailedIndexes', o.maxFailedIndexes);
  return { spec };
}

function podTemplateOf(layer: Manifest | undefined): Manifest | undefined {
  const spec = layer?.['spec'];
  return isObject(spec) && isObject(spec['template']) ? spec['template'] : undefined;
}

function withoutPodTemplate(layer: Manifest | undefined): Manifest | undefined {
  if (layer === undefined) return undefined;
  const spec = layer['spec'];
  if (!isObject(spec)) return layer;
  const { template: _template, ...rest } = spec;
  return { ...layer, spec: rest };
}

function metadataString(layer: Manifest | undefined, key: string): string | undefined {
  const metadata = layer?.['metadata'];
  if (!isObject(metadata)) return undefined;
  const value = metadata[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Pod options for the template: the Job-only keys removed, the templates' pod layers as the pod template. */
function podOptionsFor(o: JobOptions, template: Manifest | undefined, full: Manifest | undefined, readFile: (p: string) => string): PodOptions {
  const pod: Record<string, unknown> = { ...o };
  for (const key of JOB_OPTION_KEYS) delete pod[key];
  const podTemplate = o.podTemplateFile !== undefined
    ? (parseYaml(readPodTemplate(o.podTemplateFile, readFile)) as unknown)
    : o.podTemplateDict;
  const layers = [podTemplate, podTemplateOf(template), podTemplateOf(full)].filter((l) => l !== undefined);
  delete pod['podTemplateFile'];
  // A merged template only when there is something to merge: buildPod then checks it as a Pod template.
  if (layers.length > 0) pod['podTemplateDict'] = { kind: 'Pod', ...mergeLayers(layers) };
  return pod as PodOptions;
}

function readPodTemplate(path: string, readFile: (p: string) => string): string {
  try {
    return readFile(path);
  } catch (err) {
    return fail('podTemplateFile', `cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Step 4's check of the whole manifest, with manifest paths. */
export function checkJobManifest(job: V1Job): void {
  const spec = job.spec;
  if (spec === undefined) return fail('spec', 'the Job has no spec');
  const restart = spec.template.spec?.restartPolicy;
  if (restart !== 'Never' && restart !== 'OnFailure') fail('spec.template.spec.restartPolicy', `'${String(restart)}' is not allowed in a Job (Never or OnFailure)`);
  if (spec.podFailurePolicy !== undefined && restart !== 'Never') fail('spec.podFailurePolicy', 'needs spec.template.spec.restartPolicy Never');
  if (spec.completionMode === 'Indexed' && (spec.completions === undefined || spec.completions === null)) {
    fail('spec.completions', 'an Indexed Job needs completions', 'set completions (the number of indexes)');
  }
  if ((spec.backoffLimitPerIndex !== undefined || spec.maxFailedIndexes !== undefined) && spec.completionMode !== 'Indexed') {
    fail('spec.backoffLimitPerIndex', 'needs completionMode Indexed');
  }
  if (spec.successPolicy !== undefined && spec.completionMode !== 'Indexed') fail('spec.successPolicy', 'needs completionMode Indexed');
  if (spec.manualSelector === true && spec.selector === undefined) fail('spec.selector', 'manualSelector is true but no selector is given');
  if (spec.selector !== undefined && spec.manualSelector !== true) {
    fail('spec.selector', 'a selector is given but manualSelector is not true', 'Kubernetes generates the selector unless manualSelector: true; set it, or drop the selector');
  }
  if (spec.selector?.matchLabels !== undefined) {
    const podLabels = spec.template.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(spec.selector.matchLabels)) {
      if (podLabels[k] !== v) fail(`spec.selector.matchLabels.${k}`, `the pod template has no label ${k}=${v}, so the Job would select none of its pods`, 'add it to labels');
    }
  }
}

/**
 * Builds the task's Job manifest (see the module doc for the order of layers).
 *
 * @example
 * const job = buildJob(
 *   { image: 'python:3.13-slim', cmds: ['python', '-c', 'print(1)'], completions: 3, parallelism: 2, completionMode: 'Indexed', backoffLimit: 2 },
 *   { identity: { dagId: 'etl', taskId: 'shard', runId: 'manual__1', tryNumber: 1 }, defaultNamespace: 'etl' },
 * );
 */
export function buildJob(options: JobOptions, context: BuildPodContext): V1Job {
  checkJobOptions(options);
  const readFile = context.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const template = options.jobTemplateFile !== undefined
    ? loadJobTemplate(options.jobTemplateFile, readFile)
    : options.jobTemplateDict !== undefined ? checkJobTemplate(options.jobTemplateDict, 'jobTemplateDict') : undefined;
  const full = options.fullJobSpec === undefined ? undefined : checkJobTemplate(options.fullJobSpec, 'fullJobSpec');

  const pod: V1Pod = buildPod(podOptionsFor(options, template, full, readFile), { ...context, randomSuffix: context.randomSuffix });
  const podMeta = pod.metadata ?? {};
  const podTemplate = { metadata: { labels: { ...podMeta.labels, [POD_LABELS.kind]: JOB_KIND }, annotations: podMeta.annotations }, spec: pod.spec };

  const defaults: Manifest = { apiVersion: 'batch/v1', kind: 'Job', metadata: {}, spec: {} };
  let job: Manifest;
  try {
    job = mergeLayers([defaults, withoutPodTemplate(template), withoutPodTemplate(full), jobArgumentsLayer(options)]);
  } catch (err) {
    if (err instanceof TypeError) throw new InvalidArgument(err.message);
    throw err;
  }
  job['apiVersion'] = 'batch/v1';
  job['kind'] = 'Job';
  const spec = isObject(job['spec']) ? job['spec'] : {};
  spec['template'] = podTemplate;
  job['spec'] = spec;

  const metadata = isObject(job['metadata']) ? job['metadata'] : {};
  const nameBase = options.name ?? metadataString(full, 'name') ?? metadataString(template, 'name') ?? context.identity.taskId;
  const suffix = context.randomSuffix === undefined ? {} : { suffix: context.randomSuffix };
  metadata['name'] = podName(nameBase, { randomSuffix: options.randomNameSuffix !== false, ...suffix });
  delete metadata['generateName'];
  metadata['namespace'] = options.namespace ?? metadataString(full, 'namespace') ?? metadataString(template, 'namespace') ?? context.defaultNamespace ?? 'default';
  const labels = mergeLayers([metadata['labels'], options.labels]);
  const annotations = mergeLayers([metadata['annotations'], options.annotations]);
  metadata['labels'] = { ...labels, ...identityLabels(context.identity), [POD_LABELS.kind]: JOB_KIND };
  metadata['annotations'] = { ...annotations, ...identityAnnotations(context.identity) };
  job['metadata'] = metadata;
  delete job['status'];

  const result = clean(job) as V1Job;
  checkJobManifest(result);
  return result;
}
