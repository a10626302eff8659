/**
 * The environment of processes that run user code (task processes, DAG-file parsers): an allow-list of
 * what such code legitimately needs from the parent's environment, never Capstan's own configuration.
 * A scheduler or API server is normally configured through `CAPSTAN__SECTION__KEY` variables (the token
 * signing key, the Fernet key, the database URL with its password), and a child that inherited them
 * would print them with a plain `env`.
 *
 * What passes:
 * - the basics of running a program: `PATH`, `HOME`, `USER`, `LOGNAME`, `SHELL`, `TERM`, `HOSTNAME`,
 *   `LANG`, `LANGUAGE`, `LC_*`, `TZ`, `TMPDIR`/`TMP`/`TEMP`;
 * - Node's own settings a process needs to start the same way (`NODE_OPTIONS`, `NODE_PATH`,
 *   `NODE_EXTRA_CA_CERTS`, `NODE_COMPILE_CACHE`, `NODE_ENV`, `NODE_NO_WARNINGS`, `NODE_V8_COVERAGE`) and
 *   the TLS trust store (`SSL_CERT_FILE`, `SSL_CERT_DIR`, `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`);
 * - proxies (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`, `ALL_PROXY`, either case) and the cluster a
 *   Kubernetes operator talks to (`KUBECONFIG`, `KUBERNETES_SERVICE_HOST`, `KUBERNETES_SERVICE_PORT`);
 * - `CAPSTAN_HOME` (a path, no secret: tools find an installation's processes by it);
 * - `CAPSTAN_VAR_*` and `CAPSTAN_CONN_*`: variables and connections defined in the environment are the
 *   user's values meant for tasks (Airflow hands `AIRFLOW_VAR_*` / `AIRFLOW_CONN_*` to tasks the same way);
 * - the few `CAPSTAN__…` settings code in a task process reads ({@link TASK_CONFIG_VARIABLES});
 * - whatever the operator lists in `core.taskEnvAllowList` (names or `PREFIX*` globs), except Capstan's
 *   own configuration variables, which no allow-list can let through.
 *
 * @example
 * taskEnvironment({ PATH: '/bin', CAPSTAN__API__SECRET_KEY: 'k', AWS_REGION: 'eu-west-1' }, { allow: ['AWS_*'] });
 * // { PATH: '/bin', AWS_REGION: 'eu-west-1' }
 */

/** Variables a task process may inherit by name. */
export const TASK_ENV_NAMES: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'TERM',
  'HOSTNAME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TMP',
  'TEMP',
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_EXTRA_CA_CERTS',
  'NODE_COMPILE_CACHE',
  'NODE_ENV',
  'NODE_NO_WARNINGS',
  'NODE_V8_COVERAGE',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'KUBECONFIG',
  'KUBERNETES_SERVICE_HOST',
  'KUBERNETES_SERVICE_PORT',
];

/** Prefixes a task process may inherit: locale categories and the user's env-defined variables and connections. */
export const TASK_ENV_PREFIXES: readonly string[] = ['LC_', 'CAPSTAN_VAR_', 'CAPSTAN_CONN_'];

/** Also passed: the home folder's path (no secret; tools find an installation's processes by it). */
const CAPSTAN_HOME = 'CAPSTAN_HOME';

/**
 * The Capstan settings code in a task process reads from its environment: the pod mutation hook
 * (KubernetesPodOperator applies it to the pods it builds). No secret setting is among them.
 */
export const TASK_CONFIG_VARIABLES: readonly string[] = ['CAPSTAN__KUBERNETES__POD_MUTATION_HOOK'];

/** Capstan's own configuration (its settings, the config file): never passed unless listed above. */
function isCapstanSetting(name: string): boolean {
  return name.startsWith('CAPSTAN__') || name === 'CAPSTAN_CONFIG';
}

/** Options of {@link taskEnvironment}. */
export interface TaskEnvOptions {
  /** Extra names or `PREFIX*` globs to pass (`core.taskEnvAllowList`). Capstan's settings stay out whatever it says. */
  allow?: readonly string[];
}

/** Whether variable `name` reaches a task process under `allow` (see the module comment). */
export function isTaskEnvAllowed(name: string, allow: readonly string[] = []): boolean {
  if (TASK_CONFIG_VARIABLES.includes(name)) return true;
  if (isCapstanSetting(name)) return false;
  if (name === CAPSTAN_HOME || TASK_ENV_NAMES.includes(name) || TASK_ENV_PREFIXES.some((p) => name.startsWith(p))) return true;
  return allow.some((pattern) => (pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern));
}

/** The allow-listed part of `parent` (default: nothing else is copied). */
export function taskEnvironment(parent: Readonly<Record<string, string | undefined>>, options: TaskEnvOptions = {}): Record<string, string> {
  const allow = options.allow ?? [];
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) if (value !== undefined && isTaskEnvAllowed(name, allow)) env[name] = value;
  return env;
}

/** `core.taskEnvAllowList` (comma- or space-separated names and `PREFIX*` globs) as a list. */
export function parseTaskEnvAllowList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '*');
}
