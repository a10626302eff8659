/**
 * The deployable roles — scheduler, DAG processor, API server, triggerer — and `standalone`, which runs
 * them all in one process over the embedded defaults. Each runs until its AbortSignal fires.
 */
import { fileURLToPath } from 'node:url';
import { createLogger, taskLogHandlerFor } from '../logging/index.ts';
import { operatorTryPodReader, tryPodReaderFor, workerPodLogSources } from '../executors/kubernetes/workerPods.ts';
import { DagProcessor } from '../dagprocessing/index.ts';
import { LocalExecutor, parseTaskEnvAllowList, taskEnvironment, LocalKubernetesExecutor } from '../executors/index.ts';
import { POD_MUTATION_HOOK_ENV } from '../kubernetes/pods.ts';
import { taskHeartbeatIntervalMs } from '../runtime/index.ts';
import type { Executor } from '../executors/index.ts';
import { createApiApp, createSchedulerHealthApp, listen, type RunningServer, httpHygieneOptions, healthReport } from '../api/index.ts';
import { Scheduler } from '../scheduler/index.ts';
import { ConnectionStore, migrateToLatest, VariableStore } from '../store/index.ts';
import { Triggerer, triggererHealthReport } from '../triggerer/index.ts';
import type { TaskConnection } from '../sdk/taskContext.ts';
import { authoringDefaultsFrom, type Engine } from './components.ts';
import { ensureStandaloneAdmin, type StandaloneLogin } from './standaloneAdmin.ts';
import { InvalidArgument } from '../core/index.ts';
import { oidcLoginFor } from '../auth/index.ts';
import type { CapstanConfig } from '../config/index.ts';
import { createFernet } from '../crypto/index.ts';
import { CAPSTAN_VERSION } from './version.ts';

/** The bundled example DAGs. */
export const EXAMPLE_DAGS_FOLDER = fileURLToPath(new URL('../../examples/dags/', import.meta.url));

export function dagFolders(engine: Engine): string[] {
  return engine.config.core.loadExamples ? [engine.config.core.dagsFolder, EXAMPLE_DAGS_FOLDER] : [engine.config.core.dagsFolder];
}

/**
 * The environment processes running user code start with (task processes, DAG parsers, DAG callbacks):
 * this process's environment through the task allow-list plus `core.taskEnvAllowList`, never Capstan's
 * own settings (docs/security.md, "Task environment").
 */
export function userCodeEnvironment(config: CapstanConfig, env: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  return taskEnvironment(env, { allow: parseTaskEnvAllowList(config.core.taskEnvAllowList) });
}

/** This installation's own secrets (signing and encryption keys, the database password): masked wherever a task's output is stored. */
export function serverSecrets(config: CapstanConfig): string[] {
  const out = [config.api.secretKey, ...config.core.fernetKey.split(',')];
  if (/^postgres(ql)?:/.test(config.database.url)) {
    try {
      const password = decodeURIComponent(new URL(config.database.url).password);
      if (password !== '') out.push(password);
    } catch {
      // not a URL the masker can take apart; the database driver reports it
    }
  }
  return out.filter((s) => s.trim() !== '');
}

/**
 * The executor `core.executor` names. Async because the KubernetesExecutor, and with it the Kubernetes client
 * library, is loaded only when configured: a LocalExecutor start loads neither (issue 18).
 */
export async function createExecutor(engine: Engine, executionApiUrl: string): Promise<Executor> {
  const { config } = engine;
  switch (config.core.executor) {
    case 'LocalExecutor':
      return new LocalExecutor({
        parallelism: config.core.parallelism,
        warmProcesses: config.localExecutor.warmProcesses,
        reuseProcesses: config.localExecutor.reuseProcesses,
        triesPerProcess: config.localExecutor.triesPerProcess,
        processMemoryLimitBytes: config.localExecutor.processMemoryLimitMb * 1024 * 1024,
        idleProcessTimeoutMs: config.localExecutor.idleProcessTimeoutMs,
        executionApiUrl,
        baseLogFolder: config.logging.baseLogFolder,
        // The API server keeps task logs elsewhere (a bucket): local tries ship theirs there, as worker pods do.
        ...(config.logging.remoteStore === 'none' ? {} : { shipLogs: { intervalMs: config.logging.shipIntervalMs } }),
        tokens: engine.tokens,
        baseEnv: userCodeEnvironment(config),
        killGraceMs: config.core.killedTaskCleanupTimeMs,
        heartbeatIntervalMs: taskHeartbeatIntervalMs(config.scheduler.taskHeartbeatTimeoutMs),
        now: engine.now,
        logger: createLogger(config.logging, 'executor'),
        // Operators in task processes (KubernetesPodOperator) apply the configured pod mutation hook.
        ...(config.kubernetes.podMutationHook === '' ? {} : { env: { [POD_MUTATION_HOOK_ENV]: config.kubernetes.podMutationHook } }),
      });
    case 'KubernetesExecutor': {
      const { createKubernetesExecutor } = await import('../executors/kubernetes/index.ts');
      return createKubernetesExecutor({
        config,
        db: engine.db,
        dags: engine.dags,
        tokens: engine.tokens,
        secrets: engine.secrets,
        registry: engine.metrics.registry,
        now: engine.now,
        logger: createLogger(config.logging, 'executor'),
        executionApiUrl,
      });
    }
    case 'LocalKubernetesExecutor': {
      // Each side is the executor its own name configures, sharing this process's engine.
      const as = (name: string): Engine => ({ ...engine, config: { ...config, core: { ...config.core, executor: name } } });
      return new LocalKubernetesExecutor({
        local: await createExecutor(as('LocalExecutor'), executionApiUrl),
        kubernetes: await createExecutor(as('KubernetesExecutor'), executionApiUrl),
        kubernetesQueue: config.localKubernetesExecutor.kubernetesQueue,
      });
    }
    default:
      throw new InvalidArgument(`core.executor: '${config.core.executor}' is not available in this build`, 'use LocalExecutor, KubernetesExecutor or LocalKubernetesExecutor');
  }
}

export function createScheduler(engine: Engine, executor: Executor): Scheduler {
  const s = engine.config.scheduler;
  return new Scheduler({
    db: engine.db,
    executor,
    lifecycle: engine.lifecycle,
    dags: engine.dags,
    events: engine.events,
    logger: createLogger(engine.config.logging, 'scheduler'),
    metrics: engine.metrics,
    now: engine.now,
    options: { ...s, maxMapLength: engine.config.core.maxMapLength, maxActiveTasksPerDag: engine.config.core.maxActiveTasksPerDag },
    userCodeEnv: userCodeEnvironment(engine.config),
  });
}

export function createDagProcessor(engine: Engine, onChange?: () => void): DagProcessor {
  const c = engine.config;
  return new DagProcessor({
    db: engine.db,
    folders: dagFolders(engine),
    parseTimeoutMs: c.dagProcessor.parseTimeoutMs,
    parallelism: c.dagProcessor.parallelism,
    defaults: authoringDefaultsFrom(c),
    now: engine.now,
    logger: createLogger(c.logging, 'dag-processor'),
    metrics: engine.metrics,
    env: userCodeEnvironment(c),
    warningChecks: { latestImage: c.dagProcessor.warnLatestImage, missingResourceRequests: c.dagProcessor.warnMissingResourceRequests },
    ...(onChange ? { onChange } : {}),
  });
}

/** The API server's app (every route, auth included) for this engine; `startApiServer` serves it. */
export function createApiAppFor(engine: Engine, onTriggered?: () => void): ReturnType<typeof createApiApp> {
  const c = engine.config;
  const fernet = createFernet(c.core.fernetKey);
  const enforce = checkAuthMode(engine);
  // One task-log store (logging.remoteStore) for shipped chunks and for every reader.
  const taskLogs = taskLogHandlerFor(c.logging, (id) => engine.secrets.requireConnection(id));
  const tryPods = tryPodReaderFor(c, engine.secrets);
  return createApiApp({
    auth: {
      db: engine.db, auth: engine.auth, enforce, metricsRequireAuth: c.auth.metricsRequireAuth, cookieSecure: c.auth.cookieSecure, now: engine.now,
      oidc: oidcLoginFor(c.auth, { auth: engine.auth, secretKey: c.api.secretKey, now: engine.now }),
    },
    execution: {
      db: engine.db, lifecycle: engine.lifecycle, dags: engine.dags, tokens: engine.tokens, secrets: engine.secrets, xcomMaxBytes: c.core.xcomMaxBytes, now: engine.now,
      // Logs shipped by task processes land in the store every reader reads.
      logs: taskLogs,
      serverSecrets: serverSecrets(c),
    },
    v2: {
      db: engine.db, now: engine.now, events: engine.events, ...(onTriggered ? { onTriggered } : {}), parallelism: c.core.parallelism, dagsFolder: c.core.dagsFolder,
      limits: { maxConfBytes: c.api.maxConfBytes, maxConfDepth: c.api.maxConfDepth, allowedRunIdPattern: c.core.allowedRunIdPattern },
      taskLogs: { handler: taskLogs, live: workerPodLogSources(c, engine.secrets) },
      ...(tryPods ? { tryPods } : {}),
      operatorTryPods: (target) => operatorTryPodReader(engine.secrets, target),
      admin: { auth: engine.auth, connections: new ConnectionStore(engine.db, { fernet }), variables: new VariableStore(engine.db, { fernet }), config: c, serverSecrets: serverSecrets(c), version: CAPSTAN_VERSION },
    },
    http: httpHygieneOptions(c.api),
    logger: createLogger(c.logging, 'api-server'),
    registry: engine.metrics.registry,
    requestDuration: engine.metrics.apiRequestDuration,
    health: () => healthReport(engine.db, c.scheduler.healthCheckThresholdMs, engine.now()),
  });
}

export async function startApiServer(engine: Engine, onTriggered?: () => void): Promise<RunningServer> {
  return listen(createApiAppFor(engine, onTriggered), engine.config.api.host, engine.config.api.port);
}

/**
 * True when the API enforces sign-in. `auth.mode: disabled` is for hacking on a laptop: it is refused unless
 * the server binds a loopback address, and it says so loudly.
 */
function checkAuthMode(engine: Engine): boolean {
  const c = engine.config;
  if (c.auth.mode === 'enabled') return true;
  if (!isLoopbackHost(c.api.host)) {
    throw new InvalidArgument(`auth.mode: 'disabled' is refused with api.host '${c.api.host}', which is not a loopback address`, 'bind 127.0.0.1 to run without sign-in, or set auth.mode to enabled');
  }
  createLogger(c.logging, 'api-server').warn({ host: c.api.host }, 'AUTHENTICATION IS DISABLED (auth.mode=disabled): every caller on this machine acts as Admin. Never use this on a shared machine.');
  process.stderr.write('WARNING: authentication is disabled (auth.mode=disabled): every caller on this machine acts as Admin.\n');
  return false;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The triggerer of this process (config section `triggerer`). */
export function createTriggerer(engine: Engine): Triggerer {
  return new Triggerer({
    db: engine.db,
    logger: createLogger(engine.config.logging, 'triggerer'),
    options: engine.config.triggerer,
    getConnection: async (connId) => {
      const c = await engine.secrets.requireConnection(connId);
      return { connId: c.connId, connType: c.connType, host: c.host, schema: c.schema, login: c.login, password: c.password, port: c.port, extra: c.extra as TaskConnection['extra'] };
    },
    registry: engine.metrics.registry,
    events: engine.events,
    // A deferred pod task's container log goes into its try's log while the triggerer watches the pod.
    taskLogs: taskLogHandlerFor(engine.config.logging, (id) => engine.secrets.requireConnection(id)),
    serverSecrets: serverSecrets(engine.config),
  });
}

/** The triggerer's /health and /metrics server (config triggerer.healthPort; -1 disables it). */
export async function startTriggererHealthServer(engine: Engine): Promise<RunningServer | undefined> {
  const c = engine.config;
  if (c.triggerer.healthPort < 0) return undefined;
  const app = createSchedulerHealthApp(engine.metrics.registry, () => triggererHealthReport(engine.db, c.triggerer.healthCheckThresholdMs, engine.now()));
  try {
    return await listen(app, c.api.host, c.triggerer.healthPort);
  } catch (err) {
    createLogger(c.logging, 'triggerer').error(
      { err, port: c.triggerer.healthPort },
      'triggerer health server could not listen; continuing without it (set triggerer.healthPort to a free port, 0 for any, or -1 to disable)',
    );
    return undefined;
  }
}

export interface StandaloneHandle {
  api: RunningServer;
  scheduler: Scheduler;
  processor: DagProcessor;
  triggerer: Triggerer;
  /** The first-start admin account, when this installation has one. */
  login: StandaloneLogin | undefined;
  /** Resolves when every role has stopped. */
  done: Promise<void>;
}

/** Migrate, parse DAGs once, then run API server, DAG processor and scheduler together. */
export async function startStandalone(engine: Engine, signal: AbortSignal): Promise<StandaloneHandle> {
  await migrateToLatest(engine.db, { defaultPoolSlots: engine.config.core.defaultPoolSlots });
  const login = await ensureStandaloneAdmin(engine);
  const api = await startApiServer(engine, () => scheduler.wake());
  const executionApiUrl = engine.config.api.port === 0 ? api.url : engine.config.api.executionApiUrl;
  const executor = await createExecutor(engine, executionApiUrl);
  const scheduler: Scheduler = createScheduler(engine, executor);
  const processor = createDagProcessor(engine, () => scheduler.wake());
  const triggerer = createTriggerer(engine);
  await processor.processOnce();
  const done = Promise.all([processor.run(signal, engine.config.dagProcessor.refreshIntervalMs), scheduler.run(signal), triggerer.run(signal)]).then(async () => {
    await api.close();
  });
  return { api, scheduler, processor, triggerer, login, done };
}

/** The scheduler's /health and /metrics server (config scheduler.healthPort; -1 disables it). */
export async function startSchedulerHealthServer(engine: Engine): Promise<RunningServer | undefined> {
  const c = engine.config;
  if (c.scheduler.healthPort < 0) return undefined;
  const app = createSchedulerHealthApp(engine.metrics.registry, () => healthReport(engine.db, c.scheduler.healthCheckThresholdMs, engine.now()));
  try {
    return await listen(app, c.api.host, c.scheduler.healthPort);
  } catch (err) {
    // A second scheduler on the same host: scheduling matters more than its health endpoint.
    createLogger(c.logging, 'scheduler').error(
      { err, port: c.scheduler.healthPort },
      'scheduler health server could not listen; continuing without it (set scheduler.healthPort to a free port, 0 for any, or -1 to disable)',
    );
    return undefined;
  }
}
