/**
 * The implicit "current DAG" while a `dag(…, build)` callback runs, so operators created inside it join
 * that DAG (Airflow's `with DAG(...)`), and the list of DAGs a module defined, read by the DAG loader.
 */
import type { Dag } from './dag.ts';

const buildStack: Dag[] = [];
const defined: Dag[] = [];

export function currentDag(): Dag | undefined {
  return buildStack.at(-1);
}

export function withCurrentDag<T>(d: Dag, build: () => T): T {
  buildStack.push(d);
  try {
    return build();
  } finally {
    buildStack.pop();
  }
}

/** Record a DAG as defined by the module being imported. */
export function registerDefinedDag(d: Dag): void {
  defined.push(d);
}

/** Take (and forget) every DAG defined since the last call; the loader calls it around each import. */
export function takeDefinedDags(): Dag[] {
  return defined.splice(0, defined.length);
}

/** Installation-wide task defaults (config `core.defaultTaskRetries` / `core.defaultRetryDelayMs`). */
export interface AuthoringDefaults {
  retries: number;
  retryDelayMs: number;
  catchup: boolean;
  maxActiveRuns: number;
  maxActiveTasks: number;
}

let defaults: AuthoringDefaults = { retries: 0, retryDelayMs: 300_000, catchup: false, maxActiveRuns: 16, maxActiveTasks: 16 };

/** Set by the DAG loader from config before importing DAG files. */
export function setAuthoringDefaults(next: Partial<AuthoringDefaults>): void {
  defaults = { ...defaults, ...next };
}

export function authoringDefaults(): AuthoringDefaults {
  return defaults;
}
