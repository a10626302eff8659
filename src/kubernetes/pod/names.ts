/**
 * Pod names and label values, made valid for Kubernetes from arbitrary DAG, task and run ids.
 *
 * - Names are DNS-1123 labels: lower-case `[a-z0-9-]`, starting and ending with a letter or digit, at most 63
 *   characters. Accents are dropped (`données` → `donnees`), other characters become `-`.
 * - Label values: at most 63 characters of `[A-Za-z0-9_.-]`, starting and ending with a letter or digit. A value
 *   that had to change is cut to 54 characters and suffixed with `-` and 8 hex digits of its SHA-256, so two ids
 *   never share a label value by accident, and the same id always gives the same value.
 */
import { createHash, randomInt } from 'node:crypto';
import { InvalidArgument } from '../../core/index.ts';
import type { PodIdentity } from './options.ts';

/** Longest pod name Capstan makes (a DNS-1123 label). */
export const MAX_POD_NAME_LENGTH = 63;
/** Longest label value Kubernetes accepts. */
export const MAX_LABEL_VALUE_LENGTH = 63;
const SUFFIX_LENGTH = 8;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Label keys Capstan puts on every pod it creates for a task (values sanitized), and the annotation keys (same
 * names) carrying the exact ids. Select a task's pods with e.g. `capstan.dev/dag-id=etl,capstan.dev/task-id=load`.
 */
export const POD_LABELS = {
  dagId: 'capstan.dev/dag-id',
  taskId: 'capstan.dev/task-id',
  runId: 'capstan.dev/run-id',
  tryNumber: 'capstan.dev/try-number',
  mapIndex: 'capstan.dev/map-index',
  /** `pod-operator` for KubernetesPodOperator pods (other kinds: job-operator, worker, …). */
  kind: 'capstan.dev/kind',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** 8 random characters of [a-z0-9] (crypto-random). */
export function randomSuffix(): string {
  let out = '';
  for (let i = 0; i < SUFFIX_LENGTH; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, SUFFIX_LENGTH);
}

function trimToAlnum(value: string): string {
  return value.replace(/^[^a-z0-9]+/, '').replace(/[^a-z0-9]+$/, '');
}

/**
 * Turns any text into a DNS-1123 label of at most `maxLength` characters. A text that had to be cut is suffixed
 * with a hash of the whole text, so long ids that share a prefix stay distinct. Empty results become `pod`.
 *
 * @example
 * dns1123Label('Load_Customers.v2') // 'load-customers-v2'
 */
export function dns1123Label(text: string, maxLength = MAX_POD_NAME_LENGTH): string {
  const ascii = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  let name = trimToAlnum(ascii.replace(/[^a-z0-9]+/g, '-'));
  if (name === '') name = 'pod';
  if (name.length <= maxLength) return name;
  const head = trimToAlnum(name.slice(0, maxLength - SUFFIX_LENGTH - 1));
  return `${head === '' ? 'pod' : head}-${shortHash(text)}`;
}

/**
 * The pod name: `base` made a DNS-1123 label, with `-` and a random suffix unless `randomSuffix` is false; never
 * longer than 63 characters.
 *
 * @example
 * podName('extract_orders', { suffix: () => 'a1b2c3d4' }) // 'extract-orders-a1b2c3d4'
 */
export function podName(base: string, options: { randomSuffix?: boolean; suffix?: () => string } = {}): string {
  if (options.randomSuffix === false) return dns1123Label(base);
  const suffix = (options.suffix ?? randomSuffix)();
  if (!/^[a-z0-9]{1,16}$/.test(suffix)) throw new Error(`random name suffix '${suffix}' is not [a-z0-9]{1,16}`);
  return `${dns1123Label(base, MAX_POD_NAME_LENGTH - suffix.length - 1)}-${suffix}`;
}

const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/;

/** True when `value` is a valid label value as it is. */
export function isLabelValue(value: string): boolean {
  return LABEL_VALUE.test(value);
}

/**
 * Makes any text a valid label value; valid values are returned unchanged, others are cleaned and hash-suffixed.
 *
 * @example
 * labelValue('scheduled__2026-11-23T00:00:00+00:00') // 'scheduled__2026-11-23T00_00_00_00_00-3f…' (stable)
 */
export function labelValue(text: string): string {
  if (isLabelValue(text)) return text;
  const ascii = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const cleaned = ascii.replace(/[^A-Za-z0-9_.-]/g, '_');
  const head = cleaned.slice(0, MAX_LABEL_VALUE_LENGTH - SUFFIX_LENGTH - 1).replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
  return head === '' ? shortHash(text) : `${head}-${shortHash(text)}`;
}

// Label keys: an optional DNS-1123 subdomain prefix and '/', then a name of ≤ 63 characters.
const LABEL_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/;

/** Throws `InvalidArgument` naming `path` when `key` is not a valid label or annotation key. */
export function checkLabelKey(key: string, path: string): void {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (!LABEL_NAME.test(name) || (prefix !== undefined && !DNS_SUBDOMAIN.test(prefix))) {
    throw new InvalidArgument(`${path}: '${key}' is not a valid key`, 'keys are [prefix/]name: name ≤ 63 of [A-Za-z0-9_.-] starting and ending alphanumeric; prefix a DNS subdomain');
  }
}

/** The identity labels of a task pod (sanitized values). `map-index` only for mapped tasks. */
export function identityLabels(identity: PodIdentity): Record<string, string> {
  const labels: Record<string, string> = {
    [POD_LABELS.dagId]: labelValue(identity.dagId),
    [POD_LABELS.taskId]: labelValue(identity.taskId),
    [POD_LABELS.runId]: labelValue(identity.runId),
    [POD_LABELS.tryNumber]: String(identity.tryNumber),
    [POD_LABELS.kind]: identity.kind ?? 'pod-operator',
    [POD_LABELS.managedBy]: 'capstan',
  };
  if (identity.mapIndex !== undefined && identity.mapIndex >= 0) labels[POD_LABELS.mapIndex] = String(identity.mapIndex);
  return labels;
}

/** The identity annotations of a task pod: the exact, unsanitized ids. */
export function identityAnnotations(identity: PodIdentity): Record<string, string> {
  const annotations: Record<string, string> = {
    [POD_LABELS.dagId]: identity.dagId,
    [POD_LABELS.taskId]: identity.taskId,
    [POD_LABELS.runId]: identity.runId,
    [POD_LABELS.tryNumber]: String(identity.tryNumber),
  };
  if (identity.mapIndex !== undefined && identity.mapIndex >= 0) annotations[POD_LABELS.mapIndex] = String(identity.mapIndex);
  return annotations;
}

/** Label selector matching every try of a task instance (for reattaching): dag, task, run and map index. */
export function taskInstanceSelector(identity: PodIdentity): string {
  const labels = identityLabels(identity);
  delete labels[POD_LABELS.tryNumber];
  delete labels[POD_LABELS.managedBy];
  if (identity.mapIndex === undefined || identity.mapIndex < 0) return `${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')},!${POD_LABELS.mapIndex}`;
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}
