/**
 * The composition root: builds every long-lived component from the parsed config. Entry points (CLI
 * commands, tests, benchmarks) call these builders; nothing else reads config.
 */
import type { Logger } from 'pino';
import type { CapstanConfig } from '../config/index.ts';
import { createFernet } from '../crypto/index.ts';
import { SerializedDagCache, EngineEvents, TaskLifecycle } from '../services/index.ts';
import { createMetrics, type CapstanMetrics } from '../metrics/index.ts';
import { SecretsLookup } from '../secrets/index.ts';
import { ConnectionStore, type MetadataDb, openMetadataDb, VariableStore } from '../store/index.ts';
import { TaskTokenIssuer, AuthService } from '../auth/index.ts';
import type { AuthoringDefaults } from '../sdk/authoring.ts';

/** Components shared by the scheduler, the API server and the DAG processor of one process. */
export interface Engine {
  config: CapstanConfig;
  db: MetadataDb;
  dags: SerializedDagCache;
  events: EngineEvents;
  lifecycle: TaskLifecycle;
  tokens: TaskTokenIssuer;
  secrets: SecretsLookup;
  metrics: CapstanMetrics;
  /** Users, roles, API tokens and sign-in. */
  auth: AuthService;
  now: () => number;
}

export function createEngine(config: CapstanConfig, options: { db?: MetadataDb; now?: () => number; env?: Record<string, string | undefined> } = {}): Engine {
  const now = options.now ?? Date.now;
  const db = options.db ?? openMetadataDb(config.database.url, { poolSize: config.database.poolSize });
  const dags = new SerializedDagCache(db);
  const events = new EngineEvents();
  const metrics = createMetrics();
  const lifecycle = new TaskLifecycle({ db, dags, events, now, onFinished: (ti) => metrics.taskInstancesFinished.inc({ state: ti.state }) });
  const fernet = createFernet(config.core.fernetKey);
  const secrets = new SecretsLookup({
    env: options.env ?? process.env,
    variables: new VariableStore(db, { fernet }),
    connections: new ConnectionStore(db, { fernet }),
  });
  const auth = new AuthService({ db, settings: config.auth, secretKey: config.api.secretKey, now });
  return { config, db, dags, events, lifecycle, tokens: new TaskTokenIssuer(config.api.secretKey, config.api.taskTokenTtlMs, config.api.taskTokenRefreshTtlMs), secrets, metrics, auth, now };
}

/** Task defaults from config, handed to DAG files as they are parsed. */
export function authoringDefaultsFrom(config: CapstanConfig): Partial<AuthoringDefaults> {
  return {
    retries: config.core.defaultTaskRetries,
    retryDelayMs: config.core.defaultRetryDelayMs,
    catchup: config.core.catchupByDefault,
    maxActiveRuns: config.core.maxActiveRunsPerDag,
    maxActiveTasks: config.core.maxActiveTasksPerDag,
  };
}

export type { Logger };
