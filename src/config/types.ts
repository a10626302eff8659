/**
 * The typed configuration every component receives. Parsed once at the entry point (see `load.ts`),
 * then passed in; no component reads the environment itself. Durations are milliseconds.
 */
export interface CapstanConfig {
  core: {
    /** Home directory for the embedded DB, logs and generated keys. Default `$CAPSTAN_HOME` or `~/capstan`. */
    home: string;
    /** Folder scanned for DAG files (`*.ts`, `*.mts`, `*.js`, `*.mjs`). Default `<home>/dags`. */
    dagsFolder: string;
    /** Load the bundled example DAGs too. Default true. */
    loadExamples: boolean;
    /** Executor name: `LocalExecutor` (default), `KubernetesExecutor`, `LocalKubernetesExecutor`. */
    executor: string;
    /** Most task instances queued or running at once across the installation. Default 32. */
    parallelism: number;
    /** Default per-DAG limit of running task instances. Default 16. */
    maxActiveTasksPerDag: number;
    /** Default per-DAG limit of active runs. Default 16. */
    maxActiveRunsPerDag: number;
    /** Default `catchup` for DAGs that do not set it. Default false. */
    catchupByDefault: boolean;
    /** Default retries of a task. Default 0. */
    defaultTaskRetries: number;
    /** Default retry delay. Default 5 minutes. */
    defaultRetryDelayMs: number;
    /** Slots of `default_pool` when it is first created. Default 128. */
    defaultPoolSlots: number;
    /** Largest serialized XCom value in bytes. Default 1 MiB. */
    xcomMaxBytes: number;
    /** Most task instances one mapped task may expand to (Airflow's `max_map_length`). Default 1024. */
    maxMapLength: number;
    /** Fernet key (base64url, 32 bytes) that encrypts connection secrets and secret variables. */
    fernetKey: string;
    /** Grace period between SIGTERM and SIGKILL when a task is stopped. Default 60 s. */
    killedTaskCleanupTimeMs: number;
    /**
     * Extra environment variables passed to task and DAG-parsing processes, comma-separated names or
     * `PREFIX*` globs (`AWS_*,GOOGLE_APPLICATION_CREDENTIALS`). Capstan's own `CAPSTAN__*` settings never
     * pass. Default empty: only the built-in allow-list (see docs/security.md).
     */
    taskEnvAllowList: string;
    /**
     * Regular expression (`u` flag) a run id given to a trigger must match, as Airflow's
     * `allowed_run_id_pattern`. Default `^[A-Za-z0-9_.~:+-]+$`. Run ids are also at most 250 characters.
     */
    allowedRunIdPattern: string;
  };
  database: {
    /** `sqlite:///abs/path.db` (default `<home>/capstan.db`) or `postgresql://…`. */
    url: string;
    /** PostgreSQL connection pool size per process. Default 10. */
    poolSize: number;
  };
  scheduler: {
    /** Longest sleep between scheduling loops when no event wakes it. Default 1 s. */
    loopIntervalMs: number;
    /**
     * PostgreSQL: wake the loop on the `NOTIFY` another process sends when it queues a run or ends a try
     * (a dedicated `LISTEN` connection, reconnected with backoff), instead of waiting for `loopIntervalMs`.
     * No effect on SQLite. Default true.
     */
    wakeOnNotify: boolean;
    /** How often the scheduler writes its heartbeat. Default 5 s. */
    heartbeatIntervalMs: number;
    /** A scheduler whose heartbeat is older than this is dead. Default 30 s. */
    healthCheckThresholdMs: number;
    /** A running task whose heartbeat is older than this is a zombie. Default 5 minutes. */
    taskHeartbeatTimeoutMs: number;
    /** How often the scheduler looks for zombies and timed-out tasks. Default 10 s. */
    zombieCheckIntervalMs: number;
    /** Task instances examined per query. Default 512. */
    maxTisPerQuery: number;
    /** DAG runs examined per loop. Default 20. */
    maxDagRunsPerLoop: number;
    /** Port of the scheduler's own /health and /metrics server; 0 picks a free port, -1 disables. Default 8974. */
    healthPort: number;
  };
  api: {
    host: string;
    /** Default 8080. */
    port: number;
    /** URL task processes use to reach the Execution API. Default `http://<host>:<port>`. */
    executionApiUrl: string;
    /** Key that signs task-try tokens (HMAC). Generated into the home directory when unset. */
    secretKey: string;
    /** Lifetime of the token a try is launched with (it must last until the task process starts). Default 1 h. */
    taskTokenTtlMs: number;
    /** Lifetime of the tokens `start`, heartbeats and `finish` hand a try's process. Default 15 min. */
    taskTokenRefreshTtlMs: number;
    /**
     * Host names served besides IP addresses, comma-separated: `name`, `*.domain` (and its subdomains) or `*`.
     * Default: `localhost`, `host` and the host of `executionApiUrl`. Other Host headers get 421 (DNS rebinding).
     */
    allowedHosts: string;
    /** Origins that may send unsafe requests (and get CORS answers) besides the server's own; `*` for any. Default empty. */
    allowedOrigins: string;
    /** Largest request body outside the Execution API, in bytes. Default 1 MiB. */
    maxBodyBytes: number;
    /** Largest run conf the REST API accepts, serialized JSON bytes. Default 64 KiB. */
    maxConfBytes: number;
    /** Deepest run conf the REST API accepts (the object itself is level 1). Default 32. */
    maxConfDepth: number;
    /** `GET /api/v2/config` answers (secrets redacted) to roles with config read; off, it answers 404. Default false. */
    exposeConfig: boolean;
    /** `POST /api/v2/connections/test` reaches out to the host a connection names; off, it answers 404. Default false. */
    testConnection: boolean;
  };
  auth: {
    /** `enabled` (default): every API route but /health needs a user or token; `disabled`: local hacking only. */
    mode: 'enabled' | 'disabled';
    /** Shared secret of session and bearer tokens; empty (default): derived from `api.secretKey`. */
    jwtSecret: string;
    /** Token signing algorithm. Default HS256. */
    jwtAlgorithm: 'HS256' | 'HS512' | 'RS256' | 'ES256' | 'EdDSA';
    /** PEM private key file for asymmetric algorithms. Default none. */
    jwtPrivateKeyFile: string;
    /** Token issuer. Default `capstan`. */
    jwtIssuer: string;
    /** Token audience. Default `capstan-api`. */
    jwtAudience: string;
    /** Lifetime of a login. Default 12 h. */
    sessionTtlMs: number;
    /** Default lifetime of a personal API token. Default 90 days. */
    apiTokenDefaultTtlMs: number;
    /** Longest lifetime of a personal API token. Default 366 days. */
    apiTokenMaxTtlMs: number;
    /** scrypt cost (log2 N) of new password hashes. Default 15. */
    passwordHashCost: number;
    /** Failed logins per username and client before waits start. Default 5. */
    loginMaxFailures: number;
    /** First wait; doubles per further failure. Default 1 s. */
    loginLockoutMs: number;
    /** Longest wait. Default 15 min. */
    loginMaxLockoutMs: number;
    /** Secure flag of the session cookie. Default auto. */
    cookieSecure: 'auto' | 'always' | 'never';
    /** /metrics needs authentication. Default true. */
    metricsRequireAuth: boolean;
    /** Issuer URL of the OIDC provider for single sign-on; empty (default): OIDC login is off. */
    oidcIssuerUrl: string;
    /** Client id at the provider. Default empty. */
    oidcClientId: string;
    /** Client secret at the provider; empty: a public client using PKCE only. Default empty. */
    oidcClientSecret: string;
    /** The callback URL as the browser reaches it (`https://…/auth/oidc/callback`). Default empty. */
    oidcRedirectUrl: string;
    /** Space-separated scopes requested. Default `openid profile email groups`. */
    oidcScopes: string;
    /** Claim holding the user's groups. Default `groups`. */
    oidcGroupsClaim: string;
    /** `group=role,…`; the highest built-in role wins, custom roles only when no built-in one is mapped. Default empty. */
    oidcRoleMapping: string;
    /** Role of a user whose groups map to none; empty (default): such a user is refused. */
    oidcDefaultRole: string;
    /** Claim that becomes the username, falling back to `sub`. Default `preferred_username`. */
    oidcUsernameClaim: string;
  };
  logging: {
    level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
    /** Folder of task log files. Default `<home>/logs`. */
    baseLogFolder: string;
    /** `json` for machines, `pretty` for people. Default json. */
    format: 'json' | 'pretty';
    /** `capstan tasks run` ships the task log to the API server's log store (periodically and at the end). Default true. */
    shipTaskLogs: boolean;
    /** Period of that shipping. Default 5 s. */
    shipIntervalMs: number;
    /** `capstan tasks run` also prints the masked task log lines on stdout (a worker pod's `pods/log`). Default true. */
    taskLogToStdout: boolean;
    /** Where task logs are kept: `none` (files under baseLogFolder, default) or `s3` (docs/task-logs.md). */
    remoteStore: 'none' | 's3';
    /** Bucket when remoteStore is s3. */
    remoteBucket: string;
    /** Key prefix in the bucket. Default `capstan/logs`. */
    remotePrefix: string;
    /** S3 endpoint URL; empty (default): AWS S3. */
    remoteEndpoint: string;
    /** Signing region. Default `us-east-1`. */
    remoteRegion: string;
    /** Path-style bucket addressing (self-hosted servers). Default false. */
    remoteForcePathStyle: boolean;
    /** Connection with the S3 credentials; empty (default): the AWS SDK default chain. */
    remoteConnId: string;
  };
  /** Routing of the LocalKubernetesExecutor (docs/kubernetes/executor-operations.md). */
  localKubernetesExecutor: {
    /** Tasks on this queue run in worker pods, every other task in a local process. Default `kubernetes`. */
    kubernetesQueue: string;
  };
  dagProcessor: {
    /** How often the DAGs folder is listed for new, changed and deleted files. Default 5 s. */
    refreshIntervalMs: number;
    /** A file whose import takes longer is killed and recorded as an import error. Default 30 s. */
    parseTimeoutMs: number;
    /** Files parsed at once. Default 2. */
    parallelism: number;
    /** Store a DAG warning for a pod task whose image resolves to `:latest` with no `imagePullPolicy`. Default true. */
    warnLatestImage: boolean;
    /** Store a DAG warning for a pod task that sets no resource requests. Default true. */
    warnMissingResourceRequests: boolean;
  };
  /** The triggerer role, which runs deferred tasks' triggers (src/triggerer/ARCHITECTURE.md). */
  triggerer: {
    /** Most triggers one triggerer runs at once. Default 1000 (Airflow's default_capacity). */
    capacity: number;
    /** How often a triggerer looks for new triggers and for triggers to cancel. Default 1 s. */
    loopIntervalMs: number;
    /** How often a triggerer writes its heartbeat. Default 5 s. */
    heartbeatIntervalMs: number;
    /** A triggerer whose heartbeat is older than this is dead; its triggers are taken over. Default 30 s. */
    healthCheckThresholdMs: number;
    /** Port of the triggerer's /health and /metrics server; 0 picks a free port, -1 disables. Default 8976. */
    healthPort: number;
  };
  localExecutor: {
    /** Idle pre-started task processes kept ready to cut start latency. Default 2. */
    warmProcesses: number;
    /**
     * A task process that ended a try cleanly runs the next one: the try gets its own environment (the
     * allow-list's), working directory and instance of its DAG file; the process retires (exits, a fresh one
     * replaces it) after a try that added or replaced globals, left handles or `process` listeners behind, was
     * stopped (timeout), crashed, or deferred. Loaded modules (the SDK, packages, a DAG file's helpers) are
     * shared. False: one process per try. Default true.
     */
    reuseProcesses: boolean;
    /** A reused task process retires after this many tries. Default 100. */
    triesPerProcess: number;
    /** A reused task process whose resident set is above this many MiB after a try retires. Default 512. */
    processMemoryLimitMb: number;
    /** A reused task process idle this long exits, unless it is one of the `warmProcesses` kept ready. Default 60 s. */
    idleProcessTimeoutMs: number;
  };
  /** Settings shared by everything that builds pods (KubernetesPodOperator, Job operators, KubernetesExecutor). */
  kubernetes: {
    /**
     * Pod mutation hook: `<module path>#<export name>` of a function `(pod: V1Pod) => V1Pod` applied last to
     * every pod Capstan builds. Loaded once at start-up. Default empty (none).
     */
    podMutationHook: string;
  };
  /** The KubernetesExecutor (docs/kubernetes/executor.md). */
  kubernetesExecutor: {
    /** Connection (type `kubernetes`) of the cluster; empty: KUBECONFIG → ~/.kube/config → in-cluster. Default empty. */
    kubernetesConnId: string;
    /** Namespace worker pods are created in (unless a template or podOverride names another watched one). Default `default`. */
    namespace: string;
    /** Watch (and allow) pods in several namespaces: those of `multiNamespaceModeNamespaceList`, or all. Default false. */
    multiNamespaceMode: boolean;
    /** Comma-separated namespaces for multi-namespace mode; empty: every namespace (needs a ClusterRole). Default empty. */
    multiNamespaceModeNamespaceList: string;
    /** Base worker pod YAML; empty: a built-in minimal template. Default empty. */
    podTemplateFile: string;
    /** Image of the worker pod's `base` container (over the template's). Default empty: the template's. */
    workerContainerImage: string;
    /** Delete worker pods when their try ends. Default true. */
    deleteWorkerPods: boolean;
    /** Also delete pods whose try failed (otherwise kept, labelled done, for debugging). Default false. */
    deleteWorkerPodsOnFailure: boolean;
    /** Pod creations in flight at once. Default 16. */
    podCreationConcurrency: number;
    /** Retryable create failures (quota exceeded, 409, 429, 5xx) retried with backoff before the try fails. Default 30. */
    podCreationMaxRetries: number;
    /** A pod still Pending after this fails its try. Default 5 minutes. */
    workerPodsPendingTimeoutMs: number;
    /** How often Pending pods are checked against the timeout. Default 10 s. */
    podCheckIntervalMs: number;
    /** Relaunches of a pod that failed before its task started (eviction, node drain), not counted as task retries. Default 3. */
    maxPodRelaunches: number;
    /** Client-side request rate limit (requests per second) of the executor's Kubernetes client. Default 50. */
    kubeClientQps: number;
    /** Burst of that rate limiter. Default 100. */
    kubeClientBurst: number;
  };
}
