// Runs the helm binary built by scripts/helm.sh against chart/: `helm template` with chosen values, parsed into
// Kubernetes objects, the way Airflow's chart tests call render_chart. CI exports CAPSTAN_HELM (and
// CAPSTAN_HELM_REQUIRED=1, so a missing binary fails instead of skipping).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

export const REPO = join(import.meta.dirname, '..', '..');
export const CHART = join(REPO, 'chart');
/** The per-environment values files, each linted and rendered by the tests. */
export const VALUES_FILES = ['values-dev.yaml', 'values-staging.yaml', 'values-prod.yaml'] as const;

/** A rendered Kubernetes object, loosely typed: tests read it by path. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

function findHelm(): string | undefined {
  const fromEnv = process.env['CAPSTAN_HELM'];
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  const r = spawnSync('bash', [join(REPO, 'scripts', 'helm.sh'), 'path'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path !== '' ? path : undefined;
}

/** The helm binary, or undefined (tests skip with {@link HELM_MISSING}); throws when CAPSTAN_HELM_REQUIRED=1. */
export const helm: string | undefined = findHelm();
if (!helm && process.env['CAPSTAN_HELM_REQUIRED'] === '1') {
  throw new Error(`CAPSTAN_HELM_REQUIRED=1 but no helm binary: CAPSTAN_HELM=${process.env['CAPSTAN_HELM'] ?? '(unset)'}; build it with bash scripts/helm.sh build`);
}
export const HELM_MISSING = 'helm not built (bash scripts/helm.sh build, or set CAPSTAN_HELM)';

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

const helmEnv = (): NodeJS.ProcessEnv => ({ ...process.env, HELM_CACHE_HOME: join(tmpdir(), 'capstan-helm-cache'), HELM_CONFIG_HOME: join(tmpdir(), 'capstan-helm-config'), HELM_DATA_HOME: join(tmpdir(), 'capstan-helm-data') });

/** Run helm with `args`; never throws on a non-zero exit. */
export function runHelm(args: readonly string[]): HelmResult {
  if (!helm) throw new Error(HELM_MISSING);
  const r = spawnSync(helm, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: helmEnv() });
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** {@link runHelm} without blocking the event loop: for `helm install` while this process runs the pods (local kubelet). */
export function runHelmAsync(args: readonly string[]): Promise<HelmResult> {
  const bin = helm;
  if (!bin) return Promise.reject(new Error(HELM_MISSING));
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: helmEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });
}

export interface RenderOptions {
  /** Values given as a YAML document (like `--values`), after the files. */
  values?: Record<string, unknown>;
  /** Values files inside chart/, in order. */
  files?: readonly string[];
  namespace?: string;
  release?: string;
  /** Extra helm arguments, e.g. ['--dry-run=server', '--kubeconfig', path]. */
  extraArgs?: readonly string[];
}

/** `helm template` with the given values; the result, unparsed. */
export function template(options: RenderOptions = {}): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-chart-'));
  try {
    const args = ['template', options.release ?? 'rel', CHART, '--namespace', options.namespace ?? 'capstan'];
    for (const file of options.files ?? []) args.push('--values', join(CHART, file));
    if (options.values) {
      const file = join(dir, 'values.yaml');
      writeFileSync(file, stringify(options.values));
      args.push('--values', file);
    }
    args.push(...(options.extraArgs ?? []));
    return runHelm(args);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Render and parse every object; throws with helm's message when rendering fails. */
export function render(options: RenderOptions = {}): K8sObject[] {
  const r = template(options);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr}`);
  return parseObjects(r.stdout);
}

/** The objects of a multi-document YAML stream, skipping empty documents. */
export function parseObjects(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML is invalid: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value as K8sObject);
  }
  return objects;
}

/** The rendering's error message (helm's stderr); throws when rendering succeeded. */
export function renderError(options: RenderOptions): string {
  const r = template(options);
  if (r.status === 0) throw new Error('helm template succeeded, but an error was expected');
  return r.stderr;
}

export function ofKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

/** The one object of `kind` named `name`; throws listing what there is. */
export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}; rendered: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

/** A value at a dotted path (`spec.template.spec.containers`), like the jmespath lookups of Airflow's tests. */
export function at(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

export interface Container {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  livenessProbe?: Record<string, unknown>;
  readinessProbe?: Record<string, unknown>;
  resources?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

/** The pod spec of a Deployment, StatefulSet or Job. */
export function podSpec(workload: K8sObject): Record<string, unknown> {
  const spec = at(workload, 'spec.template.spec');
  if (!spec || typeof spec !== 'object') throw new Error(`${workload.kind}/${workload.metadata.name} has no pod template`);
  return spec as Record<string, unknown>;
}

export function containers(workload: K8sObject, which: 'containers' | 'initContainers' = 'containers'): Container[] {
  return (podSpec(workload)[which] as Container[] | undefined) ?? [];
}

/** The data of a Secret, decoded. */
export function secretData(secret: K8sObject): Record<string, string> {
  const data = (secret['data'] ?? {}) as Record<string, string>;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}
