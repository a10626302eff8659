/**
 * Every configuration option: its default, what kind of value it takes, and one line on what it does.
 * `load.ts` validates against this table, `describeConfig` prints it, and the unknown-key check uses its
 * key lists, so an option exists in exactly one place besides the `CapstanConfig` type.
 */
import type { CapstanConfig } from './types.ts';

/** Name of a config section, e.g. `core`. */
export type SectionName = keyof CapstanConfig;

/** Name of a key inside section `S`, e.g. `dagsFolder` in `core`. */
export type KeyName<S extends SectionName> = keyof CapstanConfig[S] & string;

/**
 * What values an option accepts. Env values are strings, so `integer`, `boolean` and `duration` are also
 * accepted as text (`'32'`, `'true'`, `'30s'`); durations are stored as milliseconds.
 */
export type OptionKind =
  | { type: 'string'; nonEmpty?: boolean }
  | { type: 'path' }
  | { type: 'integer'; min: number; max?: number }
  | { type: 'boolean' }
  | { type: 'duration'; min?: number }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'databaseUrl' }
  | { type: 'httpUrl' }
  | { type: 'fernetKey' }
  | { type: 'secretKey' };

/**
 * A default that depends on other, already resolved values (the home folder, the API address). `text`
 * is how `config list` explains it when the value is not at hand.
 */
export interface DerivedDefault<T> {
  derived: (config: CapstanConfig) => T;
  text: string;
}

/** One option of the table. */
export interface OptionSpec<T> {
  kind: OptionKind;
  /** A fixed value, a value derived from others, or `generated` (a key created once under `<home>`). */
  default: T | DerivedDefault<T> | 'generated';
  /** One line on what the option does, shown by `capstan config list`. */
  doc: string;
  /** Never printed: `config list` and error messages show `***`. */
  secret?: boolean;
}

/** The whole option table, one entry per field of `CapstanConfig`. */
export type OptionTable = { [S in SectionName]: { [K in KeyName<S>]: OptionSpec<CapstanConfig[S][K]> } };

/** Executor names `core.executor` accepts; extend this list when a new executor lands. */
export const KNOWN_EXECUTORS = ['LocalExecutor', 'KubernetesExecutor', 'LocalKubernetesExecutor'] as const;

/** Name of the config file looked for in the home folder when no path is given. */
export const CONFIG_FILE_NAME = 'capstan.yaml';

/** File under `<home>` that keeps the generated Fernet key. */
export const FERNET_KEY_FILE = 'fernet.key';

/** File under `<home>` that keeps the generated API signing key. */
export const SECRET_KEY_FILE = 'secret.key';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

function derived<T>(text: string, fn: (config: CapstanConfig) => T): DerivedDefault<T> {
  return { derived: fn, text };
}

/** True when `value` is a derived default rather than a fixed one. */
export function isDerivedDefault<T>(value: T | DerivedDefault<T> | 'generated'): value is DerivedDefault<T> {
  return typeof value === 'object' && value !== null && 'derived' in value;
}

/** `sqlite:///abs/path` for an absolute file path. */
export function sqliteUrlFor(file: string): string {
  return `sqlite://${file}`;
}

/** Airflow's default `allowed_run_id_pattern`. */
export const DEFAULT_RUN_ID_PATTERN = '^[A-Za-z0-9_.~:+-]+$';

/** `localhost`, the bind address unless a wildcard, and the Execution API URL's host: the names the server is reached by out of the box. */
export function defaultAllowedHosts(host: string, executionApiUrl: string): string {
  const names = ['localhost', host.replace(/^\[|\]$/g, '')];
  if (URL.canParse(executionApiUrl)) names.push(new URL(executionApiUrl).hostname.replace(/^\[|\]$/g, ''));
  return [...new Set(names.filter((n) => n !== '' && n !== '0.0.0.0' && n !== '::'))].join(',');
}

/** The Execution API URL that reaches `host:port`; a wildcard bind address is reached through loopback. */
export function executionApiUrlFor(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  const bracketed = reachable.includes(':') && !reachable.startsWith('[') ? `[${reachable}]` : reachable;
  return `http://${bracketed}:${port}`;
}

/** Every option with its default. `core.home` is special: `$CAPSTAN_HOME` or `~/capstan`, resolved by `load.ts`. */
export const OPTIONS: OptionTable = {
  core: {
    home: { kind: { type: 'path' }, default: derived('$CAPSTAN_HOME or ~/capstan', (c) => c.core.home), doc: 'Folder of the embedded database, logs and generated keys' },
    dagsFolder: { kind: { type: 'path' }, default: derived('<home>/dags', (c) => `${c.core.home}/dags`), doc: 'Folder scanned for DAG files (*.ts, *.mts, *.js, *.mjs)' },
    loadExamples: { kind: { type: 'boolean' }, default: true, doc: 'Also load the bundled example DAGs' },
    executor: { kind: { type: 'enum', values: KNOWN_EXECUTORS }, default: 'LocalExecutor', doc: 'Executor that runs task instances' },
    parallelism: { kind: { type: 'integer', min: 1 }, default: 32, doc: 'Most task instances queued or running at once across the installation' },
    maxActiveTasksPerDag: { kind: { type: 'integer', min: 1 }, default: 16, doc: 'Default per-DAG limit of running task instances' },
    maxActiveRunsPerDag: { kind: { type: 'integer', min: 1 }, default: 16, doc: 'Default per-DAG limit of active DAG runs' },
    catchupByDefault: { kind: { type: 'boolean' }, default: false, doc: 'Default `catchup` for DAGs that do not set it' },
    defaultTaskRetries: { kind: { type: 'integer', min: 0 }, default: 0, doc: 'Default number of retries of a task' },
    defaultRetryDelayMs: { kind: { type: 'duration' }, default: 5 * MINUTE, doc: 'Default wait before a failed task is retried' },
    defaultPoolSlots: { kind: { type: 'integer', min: 0 }, default: 128, doc: 'Slots of default_pool when it is first created' },
    xcomMaxBytes: { kind: { type: 'integer', min: 1 }, default: 1024 * 1024, doc: 'Largest serialized XCom value in bytes' },
    maxMapLength: { kind: { type: 'integer', min: 1 }, default: 1024, doc: 'Most task instances one mapped task may expand to; a longer expansion fails the task' },
    fernetKey: { kind: { type: 'fernetKey' }, default: 'generated', doc: 'Fernet key that encrypts connection secrets and secret variables; `new,old` during key rotation', secret: true },
    killedTaskCleanupTimeMs: { kind: { type: 'duration' }, default: 60 * SECOND, doc: 'Grace period between SIGTERM and SIGKILL when a task is stopped' },
    allowedRunIdPattern: { kind: { type: 'string', nonEmpty: true }, default: DEFAULT_RUN_ID_PATTERN, doc: 'Regular expression (JavaScript, u flag) a run id given to a trigger must match, as Airflow’s allowed_run_id_pattern; ids are also at most 250 characters without control characters; an invalid pattern stops the API server at start' },
    taskEnvAllowList: { kind: { type: 'string' }, default: '', doc: 'Extra env vars (comma-separated names or PREFIX* globs) task and DAG-parsing processes inherit besides the built-in allow-list; CAPSTAN__* settings never pass' },
  },
  database: {
    url: { kind: { type: 'databaseUrl' }, default: derived('sqlite://<home>/capstan.db', (c) => sqliteUrlFor(`${c.core.home}/capstan.db`)), doc: 'Metadata database: sqlite:///abs/path.db or postgresql://… (password hidden in listings)' },
    poolSize: { kind: { type: 'integer', min: 1 }, default: 10, doc: 'PostgreSQL connection pool size per process' },
  },
  scheduler: {
    loopIntervalMs: { kind: { type: 'duration', min: 1 }, default: SECOND, doc: 'Longest sleep between scheduling loops when no event wakes the scheduler' },
    wakeOnNotify: { kind: { type: 'boolean' }, default: true, doc: 'PostgreSQL: LISTEN on a dedicated connection for the NOTIFY other processes (API server, triggerer, other schedulers) send when they queue a run or end a try, and run the loop at once instead of after loopIntervalMs (which stays the fallback); false: poll only, e.g. behind a PgBouncer in transaction mode. No effect on SQLite' },
    heartbeatIntervalMs: { kind: { type: 'duration', min: 1 }, default: 5 * SECOND, doc: 'How often the scheduler writes its heartbeat' },
    healthCheckThresholdMs: { kind: { type: 'duration', min: 1 }, default: 30 * SECOND, doc: 'A scheduler whose heartbeat is older than this is dead' },
    taskHeartbeatTimeoutMs: { kind: { type: 'duration', min: 1 }, default: 5 * MINUTE, doc: 'A running task whose heartbeat is older than this is a zombie' },
    zombieCheckIntervalMs: { kind: { type: 'duration', min: 1 }, default: 10 * SECOND, doc: 'How often the scheduler looks for zombies and timed-out tasks' },
    maxTisPerQuery: { kind: { type: 'integer', min: 1 }, default: 512, doc: 'Task instances examined per query' },
    maxDagRunsPerLoop: { kind: { type: 'integer', min: 1 }, default: 20, doc: 'DAG runs examined per scheduling loop' },
    healthPort: { kind: { type: 'integer', min: -1, max: 65535 }, default: 8974, doc: 'Port of the scheduler /health and /metrics server; 0 picks a free port, -1 disables it' },
  },
  api: {
    host: { kind: { type: 'string', nonEmpty: true }, default: '127.0.0.1', doc: 'Address the API server binds to' },
    port: { kind: { type: 'integer', min: 0, max: 65535 }, default: 8080, doc: 'Port the API server listens on; 0 picks a free port' },
    executionApiUrl: { kind: { type: 'httpUrl' }, default: derived('http://<api.host>:<api.port>', (c) => executionApiUrlFor(c.api.host, c.api.port)), doc: 'URL task processes use to reach the Execution API' },
    secretKey: { kind: { type: 'secretKey' }, default: 'generated', doc: 'Key that signs task-try tokens (HMAC)', secret: true },
    taskTokenTtlMs: { kind: { type: 'duration', min: 1 }, default: HOUR, doc: 'Lifetime of the token a task try is launched with; it must last until the task process starts (a worker pod may wait in Pending)' },
    taskTokenRefreshTtlMs: { kind: { type: 'duration', min: 1 }, default: 15 * MINUTE, doc: 'Lifetime of the short-lived tokens a running try gets from start, every heartbeat and finish; a stolen one soon stops working' },
    allowedHosts: {
      kind: { type: 'string' },
      default: derived('localhost, api.host and the host of api.executionApiUrl', (c) => defaultAllowedHosts(c.api.host, c.api.executionApiUrl)),
      doc: 'Comma-separated host names the API answers for besides IP addresses (against DNS rebinding): name, *.domain, or * for any; other Host headers get 421',
    },
    allowedOrigins: { kind: { type: 'string' }, default: '', doc: 'Comma-separated origins (https://ui.example.com) that may send POST/PUT/PATCH/DELETE besides the server’s own, with CORS answers; * for any; empty: same origin only' },
    maxBodyBytes: { kind: { type: 'integer', min: 1024 }, default: 1024 * 1024, doc: 'Largest request body of the REST and /auth APIs in bytes; larger ones get 413 (the Execution API has its own limits)' },
    maxConfBytes: { kind: { type: 'integer', min: 2 }, default: 64 * 1024, doc: 'Largest DAG run conf (serialized JSON bytes) the REST API accepts' },
    maxConfDepth: { kind: { type: 'integer', min: 1, max: 60 }, default: 32, doc: 'Deepest nesting of a DAG run conf the REST API accepts (the conf object itself is level 1)' },
    exposeConfig: { kind: { type: 'boolean' }, default: false, doc: 'GET /api/v2/config shows the configuration (secrets always redacted) to roles that may read config (Op and Admin); false: it answers 404, as Airflow’s expose_config turns it off' },
    testConnection: { kind: { type: 'boolean' }, default: false, doc: 'The test-connection action (POST /api/v2/connections/test) resolves and reaches the host a connection names from the API server; false: it answers 404, as Airflow’s test_connection turns it off' },
  },
  auth: {
    mode: { kind: { type: 'enum', values: ['enabled', 'disabled'] }, default: 'enabled', doc: 'enabled: every API route but /health needs a signed-in user or token; disabled (local hacking only, loopback binds only): every caller acts as Admin' },
    jwtSecret: { kind: { type: 'string' }, default: '', doc: 'Shared secret that signs session and bearer tokens (HS256/HS512); empty: derived from api.secretKey', secret: true },
    jwtAlgorithm: { kind: { type: 'enum', values: ['HS256', 'HS512', 'RS256', 'ES256', 'EdDSA'] }, default: 'HS256', doc: 'Signing algorithm of session and bearer tokens; RS256/ES256/EdDSA sign with auth.jwtPrivateKeyFile' },
    jwtPrivateKeyFile: { kind: { type: 'string' }, default: '', doc: 'PEM private key (PKCS#8) for asymmetric token signing; its public key verifies' },
    jwtIssuer: { kind: { type: 'string', nonEmpty: true }, default: 'capstan', doc: 'Issuer (iss) written into and required of session and bearer tokens' },
    jwtAudience: { kind: { type: 'string', nonEmpty: true }, default: 'capstan-api', doc: 'Audience (aud) written into and required of session and bearer tokens' },
    sessionTtlMs: { kind: { type: 'duration', min: 60 * SECOND }, default: 12 * HOUR, doc: 'Lifetime of a login: the browser session cookie and tokens from POST /auth/token' },
    apiTokenDefaultTtlMs: { kind: { type: 'duration', min: MINUTE }, default: 90 * 24 * HOUR, doc: 'Lifetime of a personal API token created without an explicit expiry' },
    apiTokenMaxTtlMs: { kind: { type: 'duration', min: MINUTE }, default: 366 * 24 * HOUR, doc: 'Longest lifetime a personal API token may be given' },
    passwordHashCost: { kind: { type: 'integer', min: 10, max: 20 }, default: 15, doc: 'scrypt cost of new password hashes, as log2(N) (15: 32 MiB per hash)' },
    loginMaxFailures: { kind: { type: 'integer', min: 1 }, default: 5, doc: 'Failed logins of one username from one client before each further try must wait' },
    loginLockoutMs: { kind: { type: 'duration', min: 1 }, default: SECOND, doc: 'First wait after loginMaxFailures failures; it doubles with every further failure' },
    loginMaxLockoutMs: { kind: { type: 'duration', min: 1 }, default: 15 * MINUTE, doc: 'Longest wait between login attempts of one username from one client' },
    cookieSecure: { kind: { type: 'enum', values: ['auto', 'always', 'never'] }, default: 'auto', doc: 'Secure flag of the session cookie: auto sets it when the request came over HTTPS (also via X-Forwarded-Proto)' },
    metricsRequireAuth: { kind: { type: 'boolean' }, default: true, doc: '/metrics on the API server needs a user or token with metrics read (Viewer and up); false serves it anonymously' },
    oidcIssuerUrl: { kind: { type: 'string' }, default: '', doc: 'Issuer URL of an OpenID Connect provider for single sign-on (discovery at <url>/.well-known/openid-configuration); empty: OIDC login is off' },
    oidcClientId: { kind: { type: 'string' }, default: '', doc: 'Client id Capstan is registered with at the OIDC provider' },
    oidcClientSecret: { kind: { type: 'string' }, default: '', doc: 'Client secret of that registration (client_secret_basic); empty: a public client (PKCE only)', secret: true },
    oidcRedirectUrl: { kind: { type: 'string' }, default: '', doc: 'The callback URL as the browser reaches it, registered at the provider, e.g. https://capstan.example.com/auth/oidc/callback' },
    oidcScopes: { kind: { type: 'string', nonEmpty: true }, default: 'openid profile email groups', doc: 'Scopes requested at login (space-separated; must include openid)' },
    oidcGroupsClaim: { kind: { type: 'string', nonEmpty: true }, default: 'groups', doc: 'Claim (ID token or userinfo) that lists the user\'s groups' },
    oidcRoleMapping: { kind: { type: 'string' }, default: '', doc: 'Group to role, comma-separated: capstan-admins=Admin,data-eng=Op,analysts=team-a; the highest built-in role wins, a custom role only applies when no built-in one is mapped' },
    oidcDefaultRole: { kind: { type: 'string' }, default: '', doc: 'Role of an OIDC user whose groups map to no role; empty: such a user is refused' },
    oidcUsernameClaim: { kind: { type: 'string', nonEmpty: true }, default: 'preferred_username', doc: 'Claim that becomes the Capstan username (falls back to sub when absent)' },
  },
  logging: {
    level: { kind: { type: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error'] }, default: 'info', doc: 'Least severe level of process logs that is written' },
    baseLogFolder: { kind: { type: 'path' }, default: derived('<home>/logs', (c) => `${c.core.home}/logs`), doc: 'Folder of task log files' },
    format: { kind: { type: 'enum', values: ['json', 'pretty'] }, default: 'json', doc: 'Process log format: json for machines, pretty for people' },
    shipTaskLogs: { kind: { type: 'boolean' }, default: true, doc: '`capstan tasks run` (worker pods) ships the task log to the API server log store while the try runs and when it ends; LocalExecutor tries ship theirs too when remoteStore is not none' },
    shipIntervalMs: { kind: { type: 'duration', min: 1 }, default: 5 * SECOND, doc: 'How often a shipping task process sends what its log gained' },
    taskLogToStdout: { kind: { type: 'boolean' }, default: true, doc: '`capstan tasks run` also prints the (masked) task log lines on stdout, so pods/log shows them while the pod runs' },
    remoteStore: { kind: { type: 'enum', values: ['none', 's3'] }, default: 'none', doc: 'Where task logs are kept: none (files under baseLogFolder) or s3 (an S3-API bucket every API server and triggerer shares; docs/task-logs.md)' },
    remoteBucket: { kind: { type: 'string' }, default: '', doc: 'Bucket of the task logs when remoteStore is s3' },
    remotePrefix: { kind: { type: 'string' }, default: 'capstan/logs', doc: 'Key prefix of the task logs in the bucket (no leading or trailing /)' },
    remoteEndpoint: { kind: { type: 'string' }, default: '', doc: 'S3 endpoint URL (MinIO, SeaweedFS, Ceph, …); empty: AWS S3 of remoteRegion' },
    remoteRegion: { kind: { type: 'string', nonEmpty: true }, default: 'us-east-1', doc: 'Region the S3 requests are signed for' },
    remoteForcePathStyle: { kind: { type: 'boolean' }, default: false, doc: 'Address the bucket in the URL path (most self-hosted S3 servers) instead of the host name' },
    remoteConnId: { kind: { type: 'string' }, default: '', doc: 'Connection (type aws: login = access key id, password = secret access key) holding the S3 credentials; empty: the AWS SDK default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity, instance role)' },
  },
  localKubernetesExecutor: {
    kubernetesQueue: { kind: { type: 'string', nonEmpty: true }, default: 'kubernetes', doc: 'LocalKubernetesExecutor: tasks on this queue run in worker pods, all others in local processes' },
  },
  dagProcessor: {
    refreshIntervalMs: { kind: { type: 'duration', min: 1 }, default: 5 * SECOND, doc: 'How often the DAGs folder is listed for new, changed and deleted files' },
    parseTimeoutMs: { kind: { type: 'duration', min: 1 }, default: 30 * SECOND, doc: 'A DAG file whose import takes longer is killed and recorded as an import error' },
    parallelism: { kind: { type: 'integer', min: 1 }, default: 2, doc: 'DAG files parsed at once' },
    warnLatestImage: { kind: { type: 'boolean' }, default: true, doc: 'DAG warning for a pod task whose image resolves to :latest with no imagePullPolicy' },
    warnMissingResourceRequests: { kind: { type: 'boolean' }, default: true, doc: 'DAG warning for a pod task that sets no resource requests' },
  },
  triggerer: {
    capacity: { kind: { type: 'integer', min: 1 }, default: 1000, doc: 'Most triggers one triggerer runs at once' },
    loopIntervalMs: { kind: { type: 'duration', min: 1 }, default: SECOND, doc: 'How often a triggerer looks for new triggers and for triggers to cancel' },
    heartbeatIntervalMs: { kind: { type: 'duration', min: 1 }, default: 5 * SECOND, doc: 'How often a triggerer writes its heartbeat' },
    healthCheckThresholdMs: { kind: { type: 'duration', min: 1 }, default: 30 * SECOND, doc: 'A triggerer whose heartbeat is older than this is dead; another takes over its triggers' },
    healthPort: { kind: { type: 'integer', min: -1, max: 65535 }, default: 8976, doc: 'Port of the triggerer /health and /metrics server; 0 picks a free port, -1 disables it' },
  },
  localExecutor: {
    warmProcesses: { kind: { type: 'integer', min: 0 }, default: 2, doc: 'Idle pre-started task processes kept ready to cut start latency' },
    reuseProcesses: { kind: { type: 'boolean' }, default: true, doc: 'A task process that ended a try cleanly runs the next one (fresh environment and DAG file instance per try; retired when a try leaves globals, handles or listeners behind, times out, crashes or defers); false: one process per try' },
    triesPerProcess: { kind: { type: 'integer', min: 1 }, default: 100, doc: 'A reused task process retires after this many tries' },
    processMemoryLimitMb: { kind: { type: 'integer', min: 1 }, default: 512, doc: 'A reused task process whose resident set is above this many MiB after a try retires' },
    idleProcessTimeoutMs: { kind: { type: 'duration', min: 1 }, default: 60 * SECOND, doc: 'A reused task process idle this long exits, unless it is one of the warmProcesses kept ready' },
  },
  kubernetes: {
    podMutationHook: { kind: { type: 'string' }, default: '', doc: 'Pod mutation hook `<module path>#<export name>`, applied last to every pod Capstan builds; empty: none' },
  },
  kubernetesExecutor: {
    kubernetesConnId: { kind: { type: 'string' }, default: '', doc: 'Connection (type kubernetes) of the cluster; empty: KUBECONFIG, ~/.kube/config, then in-cluster' },
    namespace: { kind: { type: 'string', nonEmpty: true }, default: 'default', doc: 'Namespace worker pods are created in' },
    multiNamespaceMode: { kind: { type: 'boolean' }, default: false, doc: 'Watch worker pods in several namespaces (the list below, or all)' },
    multiNamespaceModeNamespaceList: { kind: { type: 'string' }, default: '', doc: 'Comma-separated namespaces of multi-namespace mode; empty: all namespaces' },
    podTemplateFile: { kind: { type: 'string' }, default: '', doc: 'Base worker pod YAML; empty: a minimal built-in template' },
    workerContainerImage: { kind: { type: 'string' }, default: '', doc: 'Image of the worker pod base container (over the template); empty: the template image' },
    deleteWorkerPods: { kind: { type: 'boolean' }, default: true, doc: 'Delete worker pods when their try ends (kept pods are labelled capstan.dev/done=true)' },
    deleteWorkerPodsOnFailure: { kind: { type: 'boolean' }, default: false, doc: 'Also delete the pods of failed tries' },
    podCreationConcurrency: { kind: { type: 'integer', min: 1 }, default: 16, doc: 'Worker pod creations in flight at once' },
    podCreationMaxRetries: { kind: { type: 'integer', min: 0 }, default: 30, doc: 'Retries (with backoff) of a pod create refused for quota, conflict, 429 or 5xx before the try fails' },
    workerPodsPendingTimeoutMs: { kind: { type: 'duration', min: 1 }, default: 5 * MINUTE, doc: 'A worker pod still Pending after this fails its try' },
    podCheckIntervalMs: { kind: { type: 'duration', min: 1 }, default: 10 * SECOND, doc: 'How often Pending worker pods are checked against the pending timeout' },
    maxPodRelaunches: { kind: { type: 'integer', min: 0 }, default: 3, doc: 'Relaunches of a pod that failed before its task started (not counted as task retries)' },
    kubeClientQps: { kind: { type: 'integer', min: 1 }, default: 50, doc: 'Requests per second of the executor Kubernetes client' },
    kubeClientBurst: { kind: { type: 'integer', min: 1 }, default: 100, doc: 'Burst of the executor Kubernetes client rate limiter' },
  },
};

/** Section names in the order `config list` shows them. */
export const SECTION_NAMES = Object.keys(OPTIONS) as SectionName[];

/** Key names of one section, in table order. */
export function keysOf<S extends SectionName>(section: S): Array<KeyName<S>> {
  return Object.keys(OPTIONS[section]) as Array<KeyName<S>>;
}

/** The spec of `section.key`, loosely typed for code that walks the table. */
export function optionSpec(section: SectionName, key: string): OptionSpec<unknown> | undefined {
  const table = OPTIONS[section] as Record<string, OptionSpec<unknown> | undefined>;
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
