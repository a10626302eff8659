/**
 * Cluster access: a Capstan connection of type `kubernetes` says how to reach one cluster. Several connections
 * are several clusters; an operator picks one by `kubernetesConnId`.
 *
 * Fields of the connection's `extra` (camelCase; Airflow's snake_case names are accepted too, so
 * `AIRFLOW_CONN_*` values carry over):
 *
 * | field | Airflow name | meaning |
 * |---|---|---|
 * | `kubeconfigPath` | `kube_config_path` | path of a kubeconfig file |
 * | `kubeconfig` | `kube_config` | the kubeconfig itself, YAML or JSON text (or a JSON object) |
 * | `inCluster` | `in_cluster` | use the pod's service account (token and CA under /var/run/secrets/kubernetes.io/serviceaccount) |
 * | `context` | `cluster_context` | kubeconfig context to use (default: the file's current-context) |
 * | `namespace` | `namespace` | default namespace for this cluster |
 * | `xcomSidecarImage` | `xcom_sidecar_container_image` | image of the XCom sidecar |
 * | `xcomSidecarResources` | `xcom_sidecar_container_resources` | its resources `{ requests, limits }` |
 * | `qps`, `burst` | — | client-side rate limit (requests per second, bucket size) |
 * | `requestTimeoutMs` | — | timeout of one non-streaming request |
 *
 * At most one of `kubeconfigPath`, `kubeconfig` and `inCluster` may be given; with none, the default kubeconfig
 * (`KUBECONFIG`, then `~/.kube/config`) is used. URI-style connections carry extras as strings, so `"true"` and
 * `"5"` are read as a boolean and a number.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { InvalidArgument } from '../../core/index.ts';
import type { Connection } from '../../core/index.ts';
import { validateResourceRequirements } from '../pod/quantity.ts';
import type { ResourceRequirements } from '../pod/options.ts';

/** The connection type name, as in `kubernetes://` URIs and `conn_type`. */
export const KUBERNETES_CONN_TYPE = 'kubernetes';

/** Where the pod's service account is mounted in a pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where the credentials of a connection come from. */
export type KubeConfigSource =
  | { kind: 'file'; path: string }
  | { kind: 'inline'; text: string }
  | { kind: 'inCluster' }
  | { kind: 'default' };

/** A validated Kubernetes connection. */
export interface KubernetesConnection {
  /** The Capstan connection id, or undefined for the implicit default. */
  readonly connId: string | undefined;
  readonly source: KubeConfigSource;
  readonly context: string | undefined;
  readonly namespace: string | undefined;
  readonly xcomSidecarImage: string | undefined;
  readonly xcomSidecarResources: ResourceRequirements | undefined;
  readonly qps: number | undefined;
  readonly burst: number | undefined;
  readonly requestTimeoutMs: number | undefined;
}

/** Process facts the resolution reads; injected so tests (and callers) can replace them. */
export interface KubeEnvironment {
  /** Environment variables (KUBECONFIG, KUBERNETES_SERVICE_HOST/PORT). Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Service-account directory (token, ca.crt, namespace). Default: {@link SERVICE_ACCOUNT_DIR}. */
  serviceAccountDir?: string;
}

const aliases: Readonly<Record<string, string>> = {
  kube_config_path: 'kubeconfigPath',
  kube_config: 'kubeconfig',
  in_cluster: 'inCluster',
  cluster_context: 'context',
  xcom_sidecar_container_image: 'xcomSidecarImage',
  xcom_sidecar_container_resources: 'xcomSidecarResources',
  request_timeout_ms: 'requestTimeoutMs',
};
const known = new Set(['kubeconfigPath', 'kubeconfig', 'inCluster', 'context', 'namespace', 'xcomSidecarImage', 'xcomSidecarResources', 'qps', 'burst', 'requestTimeoutMs']);

function normalizeExtra(connId: string, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(extra)) {
    if (value === undefined || value === null || value === '') continue;
    // Airflow's UI prefixes fields with extra__kubernetes__.
    const stripped = rawKey.replace(/^extra__kubernetes__/, '');
    const key = aliases[stripped] ?? stripped;
    if (!known.has(key)) {
      throw new InvalidArgument(`connection '${connId}': extra.${rawKey} is not a Kubernetes connection field`, `use one of ${[...known].join(', ')}`);
    }
    if (key in out && JSON.stringify(out[key]) !== JSON.stringify(value)) {
      throw new InvalidArgument(`connection '${connId}': extra.${key} is given twice with different values (once as ${rawKey})`);
    }
    out[key] = value;
  }
  return out;
}

function str(connId: string, extra: Record<string, unknown>, key: string): string | undefined {
  const v = extra[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new InvalidArgument(`connection '${connId}': extra.${key} must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function bool(connId: string, extra: Record<string, unknown>, key: string): boolean | undefined {
  const v = extra[key];
  if (v === undefined || typeof v === 'boolean') return v;
  if (v === 'true' || v === 'True' || v === '1') return true;
  if (v === 'false' || v === 'False' || v === '0') return false;
  throw new InvalidArgument(`connection '${connId}': extra.${key} must be true or false, got ${JSON.stringify(v)}`);
}

function positive(connId: string, extra: Record<string, unknown>, key: string, integer: boolean): number | undefined {
  const v = extra[key];
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new InvalidArgument(`connection '${connId}': extra.${key} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/**
 * Validates a `kubernetes` connection, with errors naming the field.
 *
 * @example
 * parseKubernetesConnection({ connId: 'prod', connType: 'kubernetes', extra: { kubeconfigPath: '/etc/kube/prod', namespace: 'etl' }, … })
 */
export function parseKubernetesConnection(conn: Connection): KubernetesConnection {
  const connId = conn.connId;
  if (conn.connType !== KUBERNETES_CONN_TYPE) {
    throw new InvalidArgument(`connection '${connId}' has type '${conn.connType}', not '${KUBERNETES_CONN_TYPE}'`, 'create it with --conn-type kubernetes');
  }
  const extra = normalizeExtra(connId, conn.extra);
  const path = str(connId, extra, 'kubeconfigPath');
  const inline = extra['kubeconfig'];
  const inCluster = bool(connId, extra, 'inCluster') ?? false;
  let inlineText: string | undefined;
  if (inline !== undefined) {
    if (typeof inline === 'string') inlineText = inline;
    else if (typeof inline === 'object') inlineText = JSON.stringify(inline);
    else throw new InvalidArgument(`connection '${connId}': extra.kubeconfig must be kubeconfig YAML or JSON text`);
  }
  const given = [path !== undefined && 'kubeconfigPath', inlineText !== undefined && 'kubeconfig', inCluster && 'inCluster'].filter((x) => x !== false);
  if (given.length > 1) {
    throw new InvalidArgument(`connection '${connId}': extra.${given.join(' and extra.')} are exclusive`, 'give one way to reach the cluster: a kubeconfig file, an inline kubeconfig, or inCluster');
  }
  const source: KubeConfigSource = path !== undefined ? { kind: 'file', path }
    : inlineText !== undefined ? { kind: 'inline', text: inlineText }
      : inCluster ? { kind: 'inCluster' } : { kind: 'default' };
  if (source.kind === 'inline') parseKubeconfigText(connId, source.text);

  let xcomSidecarResources: ResourceRequirements | undefined;
  const rawResources = extra['xcomSidecarResources'];
  if (rawResources !== undefined) {
    let value: unknown = rawResources;
    if (typeof value === 'string') {
      try {
        value = JSON.parse(value);
      } catch {
        throw new InvalidArgument(`connection '${connId}': extra.xcomSidecarResources is not JSON`, 'e.g. {"requests": {"cpu": "10m", "memory": "16Mi"}}');
      }
    }
    xcomSidecarResources = validateResourceRequirements(value, `connection '${connId}': extra.xcomSidecarResources`);
  }
  const context = str(connId, extra, 'context');
  if (context !== undefined && source.kind === 'inCluster') {
    throw new InvalidArgument(`connection '${connId}': extra.context does not apply with extra.inCluster`, 'remove one of them');
  }
  return {
    connId,
    source,
    context,
    namespace: str(connId, extra, 'namespace'),
    xcomSidecarImage: str(connId, extra, 'xcomSidecarImage'),
    xcomSidecarResources,
    qps: positive(connId, extra, 'qps', false),
    burst: positive(connId, extra, 'burst', true),
    requestTimeoutMs: positive(connId, extra, 'requestTimeoutMs', true),
  };
}

function parseKubeconfigText(connId: string, text: string): void {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new InvalidArgument(`connection '${connId}': extra.kubeconfig is neither YAML nor JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { clusters?: unknown }).clusters)) {
    throw new InvalidArgument(`connection '${connId}': extra.kubeconfig has no clusters list`, 'paste a whole kubeconfig (apiVersion: v1, kind: Config, clusters, users, contexts)');
  }
}

/**
 * A KubeConfig that knows where it was loaded from and can load itself again, in place, so every client made
 * from it sees new credentials. The client layer calls {@link reload} once when the API server answers 401
 * (a rotated service-account token, a kubeconfig file rewritten by a credential helper).
 */
export class ReloadableKubeConfig extends KubeConfig {
  readonly source: KubeConfigSource;
  readonly contextName: string | undefined;
  readonly #environment: Required<KubeEnvironment>;
  /** How many times {@link reload} ran (for diagnostics). */
  reloads = 0;

  constructor(source: KubeConfigSource, contextName: string | undefined, environment: KubeEnvironment = {}) {
    super();
    this.source = source;
    this.contextName = contextName;
    this.#environment = { env: environment.env ?? process.env, serviceAccountDir: environment.serviceAccountDir ?? SERVICE_ACCOUNT_DIR };
    this.#load();
  }

  /** Reads the credentials again from the source (file, inline text, service-account token, default kubeconfig). */
  reload(): void {
    this.#load();
    this.reloads += 1;
  }

  #load(): void {
    const { env, serviceAccountDir } = this.#environment;
    switch (this.source.kind) {
      case 'file':
        if (!existsSync(this.source.path)) {
          throw new InvalidArgument(`kubeconfigPath: no file at ${this.source.path}`, 'give the path of a kubeconfig file readable by Capstan');
        }
        this.loadFromFile(this.source.path);
        break;
      case 'inline':
        this.loadFromString(this.source.text);
        break;
      case 'inCluster':
        this.#loadInCluster(env, serviceAccountDir);
        break;
      case 'default':
        this.#loadDefault(env, serviceAccountDir);
        break;
    }
    if (this.contextName !== undefined) {
      if (this.getContextObject(this.contextName) === null) {
        throw new InvalidArgument(`context: the kubeconfig has no context '${this.contextName}'`, `contexts are: ${this.getContexts().map((c) => c.name).join(', ') || '(none)'}`);
      }
      this.setCurrentContext(this.contextName);
    }
    if (this.getCurrentCluster() === null) {
      throw new InvalidArgument('the kubeconfig has no current cluster', 'set current-context in the kubeconfig, or give the connection a context');
    }
  }

  /** As kubectl: every file of KUBECONFIG (merged), else ~/.kube/config, else the pod's service account. */
  #loadDefault(env: NodeJS.ProcessEnv, dir: string): void {
    const files = (env['KUBECONFIG'] ?? '').split(delimiter).filter((f) => f !== '');
    if (files.length > 0) {
      const [first = '', ...others] = files;
      this.loadFromFile(first);
      for (const file of others) {
        const extra = new KubeConfig();
        extra.loadFromFile(file);
        this.mergeConfig(extra, true);
      }
      return;
    }
    const home = join(env['HOME'] ?? homedir(), '.kube', 'config');
    if (existsSync(home)) {
      this.loadFromFile(home);
      return;
    }
    if (env['KUBERNETES_SERVICE_HOST'] !== undefined) {
      this.#loadInCluster(env, dir);
      return;
    }
    throw new InvalidArgument(`no kubeconfig: KUBECONFIG is not set and ${home} does not exist`, 'create a kubernetes connection (extra.kubeconfigPath, extra.kubeconfig or extra.inCluster), or set KUBECONFIG');
  }

  #loadInCluster(env: NodeJS.ProcessEnv, dir: string): void {
    const host = env['KUBERNETES_SERVICE_HOST'];
    const port = env['KUBERNETES_SERVICE_PORT'];
    if (host === undefined || port === undefined) {
      throw new InvalidArgument('inCluster: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set', 'inCluster works only inside a pod; use a kubeconfig elsewhere');
    }
    const tokenFile = join(dir, 'token');
    if (!existsSync(tokenFile)) throw new InvalidArgument(`inCluster: no service-account token at ${tokenFile}`, 'is automountServiceAccountToken off for this pod?');
    const token = readFileSync(tokenFile, 'utf8').trim();
    const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.loadFromOptions({
      clusters: [{ name: 'in-cluster', server, caFile: join(dir, 'ca.crt'), skipTLSVerify: false }],
      users: [{ name: 'in-cluster', token }],
      contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster' }],
      currentContext: 'in-cluster',
    });
  }
}

/**
 * The KubeConfig of a connection, or of the environment when there is none (`KUBECONFIG`, then
 * `~/.kube/config`, as kubectl does).
 *
 * @example
 * const kc = resolveKubeConfig(await connections.get('k8s_prod'));
 * const clients = createKubeClients(kc, { defaultNamespace: resolveNamespace({ connection }) });
 */
export function resolveKubeConfig(conn: Connection | KubernetesConnection | undefined, environment: KubeEnvironment = {}): ReloadableKubeConfig {
  const parsed = conn === undefined ? undefined : 'source' in conn ? conn : parseKubernetesConnection(conn);
  const what = parsed?.connId === undefined ? 'the default kubeconfig' : `connection '${parsed.connId}'`;
  try {
    return new ReloadableKubeConfig(parsed?.source ?? { kind: 'default' }, parsed?.context, environment);
  } catch (err) {
    if (err instanceof InvalidArgument) throw new InvalidArgument(`${what}: ${err.message}`, err.hint);
    throw new InvalidArgument(`${what}: cannot load the kubeconfig: ${(err as Error).message}`);
  }
}

/**
 * The namespace a pod goes to: the operator's argument, else the connection's, else the namespace of the pod
 * Capstan runs in (service-account namespace file), else `default`.
 *
 * @example
 * resolveNamespace({ operatorNamespace: undefined, connection }) // 'etl' when the connection says so
 */
export function resolveNamespace(input: { operatorNamespace?: string | undefined; connection?: KubernetesConnection | undefined; environment?: KubeEnvironment }): string {
  if (input.operatorNamespace !== undefined && input.operatorNamespace !== '') return input.operatorNamespace;
  if (input.connection?.namespace !== undefined) return input.connection.namespace;
  const file = join(input.environment?.serviceAccountDir ?? SERVICE_ACCOUNT_DIR, 'namespace');
  try {
    const fromFile = readFileSync(file, 'utf8').trim();
    if (fromFile !== '') return fromFile;
  } catch {
    // not running in a pod
  }
  return 'default';
}
