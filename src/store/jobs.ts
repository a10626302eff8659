/**
 * The job registry: every long-running Capstan process (scheduler, DAG processor, triggerer, API server)
 * registers a row and heartbeats it. A job is alive while it is `running` and its last heartbeat is newer
 * than a threshold; health checks and the scheduler's takeover of orphaned work use that rule.
 */
import { randomUUID } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { pingDatabase, type MetadataDb } from './db.ts';
import type { Page, PageRequest, SortRequest } from './listPage.ts';
import type { JobRow } from './schema.ts';

/** Lifecycle of a job row: `running` until it ends. */
export type JobState = 'running' | 'success' | 'failed' | 'killed';

/** A registered process. */
export interface Job {
  id: string;
  jobType: string;
  hostname: string;
  pid: number;
  state: JobState;
  startDate: number;
  endDate: number | null;
  latestHeartbeat: number;
}

/** The job types the roles register, in Airflow's names. */
export const JOB_TYPES = ['scheduler', 'triggerer', 'dag_processor'] as const;

/** Fields a job list may be ordered by. */
export const JOB_SORT_FIELDS = ['startDate', 'endDate', 'latestHeartbeat', 'jobType', 'hostname'] as const;
export type JobSortField = (typeof JOB_SORT_FIELDS)[number];
const JOB_COLUMNS = { startDate: 'start_date', endDate: 'end_date', latestHeartbeat: 'latest_heartbeat', jobType: 'job_type', hostname: 'hostname' } as const;

/** Filters of {@link JobRegistry.page}; `alive` keeps the jobs alive (or, with `alive: false`, the others) by the liveness rule at `now`. */
export interface JobQuery extends PageRequest {
  jobType?: string;
  state?: JobState;
  hostname?: string;
  alive?: { thresholdMs: number; now: number; alive?: boolean };
  sort?: SortRequest<JobSortField>;
}

/** Dependencies of a {@link JobRegistry}; all default to the real process. */
export interface JobRegistryOptions {
  /** Clock for start, heartbeat and end times. Default `Date.now`. */
  now?: () => number;
  /** Recorded host name. Default `os.hostname()`. */
  hostname?: string;
  /** Recorded process id. Default `process.pid`. */
  pid?: number;
}

/**
 * Registers processes and tracks their heartbeats.
 *
 * @example
 * const jobs = new JobRegistry(m);
 * const id = await jobs.register('scheduler');
 * await jobs.heartbeat(id);                     // every scheduler.heartbeatIntervalMs
 * await jobs.listAlive('scheduler', 30_000);     // schedulers seen in the last 30 s
 * await jobs.end(id, 'success');
 */
export class JobRegistry {
  readonly #m: MetadataDb;
  readonly #now: () => number;
  readonly #hostname: string;
  readonly #pid: number;

  constructor(m: MetadataDb, options: JobRegistryOptions = {}) {
    this.#m = m;
    this.#now = options.now ?? Date.now;
    this.#hostname = options.hostname ?? osHostname();
    this.#pid = options.pid ?? process.pid;
  }

  /** Register this process as a running job of `jobType` and return its id. */
  async register(jobType: string): Promise<string> {
    const id = randomUUID();
    const now = this.#now();
    await this.#m.db
      .insertInto('job')
      .values({ id, job_type: jobType, hostname: this.#hostname, pid: this.#pid, state: 'running', start_date: now, end_date: null, latest_heartbeat: now })
      .execute();
    return id;
  }

  /** Record a heartbeat. False when the job is unknown or has ended (the caller should stop working). */
  async heartbeat(id: string): Promise<boolean> {
    const result = await this.#m.db
      .updateTable('job')
      .set({ latest_heartbeat: this.#now() })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Mark a running job ended with `state`. False when it was not running. */
  async end(id: string, state: Exclude<JobState, 'running'>): Promise<boolean> {
    const result = await this.#m.db
      .updateTable('job')
      .set({ state, end_date: this.#now() })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** One job, or undefined. */
  async get(id: string): Promise<Job | undefined> {
    const row = await this.#m.db.selectFrom('job').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  /** Running jobs of `jobType` whose heartbeat is at most `thresholdMs` old at `now`, newest heartbeat first. */
  async listAlive(jobType: string, thresholdMs: number, now: number = this.#now()): Promise<Job[]> {
    const rows = await this.#m.db
      .selectFrom('job')
      .selectAll()
      .where('job_type', '=', jobType)
      .where('state', '=', 'running')
      .where('latest_heartbeat', '>=', now - thresholdMs)
      .orderBy('latest_heartbeat', 'desc')
      .execute();
    return rows.map(fromRow);
  }

  /** One page of jobs matching the filters (default newest start first), with how many matched. */
  async page(q: JobQuery): Promise<Page<Job>> {
    let base = this.#m.db.selectFrom('job');
    if (q.jobType !== undefined) base = base.where('job_type', '=', q.jobType);
    if (q.state !== undefined) base = base.where('state', '=', q.state);
    if (q.hostname !== undefined) base = base.where('hostname', '=', q.hostname);
    const alive = q.alive;
    if (alive !== undefined) {
      const since = alive.now - alive.thresholdMs;
      base = alive.alive === false ? base.where((eb) => eb.or([eb('state', '!=', 'running'), eb('latest_heartbeat', '<', since)])) : base.where('state', '=', 'running').where('latest_heartbeat', '>=', since);
    }
    const sort = q.sort ?? { by: 'startDate', descending: true };
    const direction = sort.descending ? 'desc' : 'asc';
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy(JOB_COLUMNS[sort.by], direction).orderBy('id', direction).limit(q.limit).offset(q.offset).execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(fromRow), total: Number(count.n) };
  }

  /** The running job of `jobType` with the newest heartbeat, alive or not; undefined when none runs. */
  async latestRunning(jobType: string): Promise<Job | undefined> {
    const row = await this.#m.db.selectFrom('job').selectAll().where('job_type', '=', jobType).where('state', '=', 'running').orderBy('latest_heartbeat', 'desc').limit(1).executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  /** Which of the jobs `ids` are running with a heartbeat at most `thresholdMs` old at `now`. */
  async aliveAmong(ids: readonly string[], thresholdMs: number, now: number = this.#now()): Promise<Set<string>> {
    const jobs = await this.#m.db.selectFrom('job').select(['id', 'state', 'latest_heartbeat']).where('id', 'in', [...ids]).execute();
    return new Set(jobs.filter((j) => j.state === 'running' && j.latest_heartbeat >= now - thresholdMs).map((j) => j.id));
  }

  /** True when job `id` is running and heartbeated within `thresholdMs` of `now`. */
  async isAlive(id: string, thresholdMs: number, now: number = this.#now()): Promise<boolean> {
    const job = await this.get(id);
    return job !== undefined && isJobAlive(job, thresholdMs, now);
  }
}

/** The liveness rule on its own: running, with a heartbeat no older than `thresholdMs`. */
export function isJobAlive(job: Pick<Job, 'state' | 'latestHeartbeat'>, thresholdMs: number, now: number): boolean {
  return job.state === 'running' && job.latestHeartbeat >= now - thresholdMs;
}

/** Whether a role is up, the way the health endpoints report it (Airflow's `/health` shape per role). */
export interface RoleHealth {
  metadatabase: { status: 'healthy' | 'unhealthy'; error?: string };
  role: { status: 'healthy' | 'unhealthy'; latestHeartbeat: string | null; alive: number };
}

/**
 * The database answers, and how many `jobType` processes heartbeat within `thresholdMs` (the role is
 * healthy when one does). A database error is reported as the role being down too, with its message.
 */
export async function roleHealth(m: MetadataDb, jobType: string, thresholdMs: number, now: number): Promise<RoleHealth> {
  try {
    await pingDatabase(m);
  } catch (err) {
    return {
      metadatabase: { status: 'unhealthy', error: err instanceof Error ? err.message : String(err) },
      role: { status: 'unhealthy', latestHeartbeat: null, alive: 0 },
    };
  }
  const alive = await new JobRegistry(m).listAlive(jobType, thresholdMs, now);
  const latest = alive[0]?.latestHeartbeat;
  return {
    metadatabase: { status: 'healthy' },
    role: { status: alive.length > 0 ? 'healthy' : 'unhealthy', latestHeartbeat: latest === undefined ? null : new Date(latest).toISOString(), alive: alive.length },
  };
}

function fromRow(row: JobRow): Job {
  return {
    id: row.id,
    jobType: row.job_type,
    hostname: row.hostname,
    pid: row.pid,
    state: row.state as JobState,
    startDate: row.start_date,
    endDate: row.end_date,
    latestHeartbeat: row.latest_heartbeat,
  };
}
