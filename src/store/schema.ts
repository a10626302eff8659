/**
 * Table types of the metadata database. Times are epoch milliseconds (BIGINT) and structured values are
 * JSON text on both SQLite and PostgreSQL, so one code path serves both.
 */
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { DagRunState, DagRunType, FailureKind, TaskInstanceState } from '../core/index.ts';

export interface DagTable {
  dag_id: string;
  fileloc: string;
  is_active: number;
  is_paused: number;
  description: string | null;
  owner: string;
  tags: string;
  schedule_text: string | null;
  max_active_runs: number;
  max_active_tasks: number;
  /** The next scheduled interval; null when no further automatic runs are due. */
  next_interval_start: number | null;
  next_interval_end: number | null;
  last_parsed_at: number;
  /** The DAG's `accessControl` as JSON (role name → `read` | `edit`); `{}` when it grants nothing. */
  access_control: Generated<string>;
}

export interface SerializedDagTable {
  dag_id: string;
  fileloc: string;
  data: string;
  hash: string;
  updated_at: number;
}

export interface DagFileTable {
  fileloc: string;
  mtime_ms: number;
  content_hash: string;
  last_parsed_at: number;
  parse_duration_ms: number;
}

export interface DagRunTable {
  id: Generated<number>;
  dag_id: string;
  run_id: string;
  run_type: DagRunType;
  state: DagRunState;
  logical_date: number | null;
  data_interval_start: number | null;
  data_interval_end: number | null;
  conf: string;
  queued_at: number | null;
  start_date: number | null;
  end_date: number | null;
  note: string | null;
  clear_number: number;
  created_at: number;
  updated_at: number;
  /** The DAG-level callback of the ended run: pending, running, done, failed; null when none. */
  callback_state: Generated<DagRunCallbackState | null>;
  /** Who made the latest state move (copied into `dag_run_history` by the database). */
  state_actor: Generated<string | null>;
  /** Why the latest state move happened. */
  state_reason: Generated<string | null>;
}

export type DagRunCallbackState = 'pending' | 'running' | 'done' | 'failed';

export interface TaskInstanceTable {
  id: string;
  dag_run_id: number;
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  state: TaskInstanceState;
  try_number: number;
  max_tries: number;
  operator: string;
  pool: string;
  pool_slots: number;
  priority_weight: number;
  queue: string;
  executor: string | null;
  hostname: string | null;
  pid: number | null;
  external_executor_id: string | null;
  queued_at: number | null;
  start_date: number | null;
  end_date: number | null;
  duration_ms: number | null;
  next_retry_at: number | null;
  last_heartbeat_at: number | null;
  exit_code: number | null;
  failure_reason: string | null;
  /** The {@link FailureKind} of `failure_reason` while the instance is failed or up for retry. */
  failure_kind: Generated<FailureKind | null>;
  /** Who made the latest state move (copied into `task_instance_history` by the database). */
  state_actor: Generated<string | null>;
  /** Why the latest state move happened. */
  state_reason: Generated<string | null>;
  rendered_fields: string | null;
  trigger_id: number | null;
  next_method: string | null;
  next_kwargs: string | null;
  trigger_timeout_at: number | null;
  /** Scheduler job that queued the current try. */
  queued_by_job_id: string | null;
  updated_at: number;
  /** 1: the next queueing continues the current try (resumed after deferral or reschedule). */
  continue_try: Generated<number>;
  /** Reschedules within the current try (a sensor's pokes so far). */
  reschedule_count: Generated<number>;
  /** A user's note on the instance (kept across tries), who last set it and when; null when none. */
  note: Generated<string | null>;
  note_updated_by: Generated<string | null>;
  note_updated_at: Generated<number | null>;
}

/** One row per try of a task instance, kept forever (until the run is deleted). */
export interface TaskInstanceTryTable {
  ti_id: string;
  try_number: number;
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  state: TaskInstanceState;
  executor: string | null;
  hostname: string | null;
  pid: number | null;
  external_executor_id: string | null;
  queued_at: number | null;
  start_date: number | null;
  end_date: number | null;
  duration_ms: number | null;
  exit_code: number | null;
  failure_reason: string | null;
  failure_kind: Generated<FailureKind | null>;
  /** The try's rendered template fields (JSON), stored before it executed. */
  rendered_fields: string | null;
}

export interface XcomTable {
  dag_run_id: number;
  task_id: string;
  map_index: number;
  key: string;
  dag_id: string;
  run_id: string;
  value: string;
  created_at: number;
}

export interface VariableTable {
  key: string;
  value: string;
  description: string | null;
  is_encrypted: number;
  updated_at: number;
}

export interface ConnectionTable {
  conn_id: string;
  conn_type: string;
  description: string | null;
  host: string | null;
  schema: string | null;
  login: string | null;
  password: string | null;
  port: number | null;
  extra: string | null;
  is_encrypted: number;
  updated_at: number;
}

export interface PoolTable {
  name: string;
  slots: number;
  description: string | null;
  include_deferred: number;
}

export interface ImportErrorTable {
  fileloc: string;
  message: string;
  timestamp: number;
  /** Line of the file the error points at, when known. */
  line: number | null;
}

/** Heartbeating processes: schedulers, DAG processors, API servers, triggerers. */
export interface JobTable {
  id: string;
  job_type: string;
  hostname: string;
  pid: number;
  state: string;
  start_date: number;
  end_date: number | null;
  latest_heartbeat: number;
}

/** A deferred task's trigger, run by one triggerer (`triggerer_id`; null while unclaimed). */
export interface TriggerTable {
  id: Generated<number>;
  /** `capstan.<Name>` for built-in triggers, `<module URL or path>#<export>` for user triggers. */
  classpath: string;
  /** JSON object: the trigger's constructor arguments. */
  kwargs: string;
  created_at: number;
  triggerer_id: string | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor: string;
  event: string;
  dag_id: string | null;
  run_id: string | null;
  task_id: string | null;
  details: string | null;
}

/** A backfill request (Airflow 3's `backfill`). */
export interface BackfillTable {
  id: Generated<number>;
  dag_id: string;
  /** First logical date of the range (inclusive), epoch ms. */
  from_date: number;
  /** Last logical date of the range (inclusive), epoch ms. */
  to_date: number;
  /** `none`: skip dates that have a run; `failed`: re-run failed ones; `completed`: re-run finished ones. */
  reprocess_behavior: 'none' | 'failed' | 'completed';
  /** How many of this backfill's runs may run at once, independently of the DAG's maxActiveRuns. */
  max_active_runs: number;
  dag_run_conf: string;
  created_at: number;
  /** Set once every run of the backfill has finished, or when it was cancelled. */
  completed_at: number | null;
  updated_at: number;
  /** 1 while paused: its queued runs are not started. */
  is_paused: Generated<number>;
}

/** One logical date of a backfill: the run serving it, or why none was created. */
export interface BackfillDagRunTable {
  backfill_id: number;
  logical_date: number;
  dag_run_id: number | null;
  /** `already_exists` / `in_flight` when the date was skipped; null when a run was created or reset. */
  exception_reason: string | null;
  sort_ordinal: number;
}

export interface Database {
  dag: DagTable;
  serialized_dag: SerializedDagTable;
  dag_file: DagFileTable;
  dag_run: DagRunTable;
  task_instance: TaskInstanceTable;
  task_instance_try: TaskInstanceTryTable;
  xcom: XcomTable;
  variable: VariableTable;
  connection: ConnectionTable;
  pool: PoolTable;
  import_error: ImportErrorTable;
  job: JobTable;
  trigger: TriggerTable;
  audit_log: AuditLogTable;
  backfill: BackfillTable;
  backfill_dag_run: BackfillDagRunTable;
  app_user: AppUserTable;
  auth_role: AuthRoleTable;
  api_token: ApiTokenTable;
  revoked_session: RevokedSessionTable;
  task_instance_history: TaskInstanceHistoryTable;
  dag_run_history: DagRunHistoryTable;
  deployment_key: DeploymentKeyTable;
}

/** Fingerprint of a key every component of the deployment must share (migration 011). */
export interface DeploymentKeyTable {
  /** The setting: `api.secretKey` or `core.fernetKey`. */
  name: string;
  fingerprint: string;
  /** `<component>@<hostname>` of the process that recorded it. */
  recorded_by: string;
  recorded_at: number;
}

/** One state move of a task instance; appended by the database as `task_instance.state` changes. */
export interface TaskInstanceHistoryTable {
  id: Generated<number>;
  ti_id: string;
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  try_number: number;
  from_state: TaskInstanceState;
  to_state: TaskInstanceState;
  /** `scheduler`, `executor`, `triggerer`, `worker`, a user name, or `token:<id>`. */
  actor: string;
  reason: string | null;
  /** Set on moves to `failed` / `up_for_retry`. */
  failure_kind: FailureKind | null;
  at: number;
}

/** One state move of a DAG run (from null: its creation); appended by the database. */
export interface DagRunHistoryTable {
  id: Generated<number>;
  dag_run_id: number;
  dag_id: string;
  run_id: string;
  from_state: DagRunState | null;
  to_state: DagRunState;
  actor: string;
  reason: string | null;
  at: number;
}

/** A person who signs in. `role` names a built-in role (Viewer, User, Op, Admin) or an `auth_role`. */
export interface AppUserTable {
  id: Generated<number>;
  username: string;
  display_name: string;
  email: string | null;
  role: string;
  /** `scrypt$…` (see auth/passwords.ts); null for users who sign in only through OIDC. */
  password_hash: string | null;
  auth_source: 'password' | 'oidc';
  active: number;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
}

/** A custom role: a built-in base role narrowed to the DAGs named by id or tag (JSON arrays). */
export interface AuthRoleTable {
  name: string;
  base_role: string;
  dag_ids: string;
  dag_tags: string;
  description: string | null;
  created_at: number;
}

/** A personal API token; only a SHA-256 of its secret part is stored. */
export interface ApiTokenTable {
  id: Generated<number>;
  token_id: string;
  username: string;
  name: string;
  role: string;
  secret_hash: string;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** A signed session or bearer token ended before its expiry (logout), by its `jti`. */
export interface RevokedSessionTable {
  jti: string;
  expires_at: number;
}

export type DagRow = Selectable<DagTable>;
export type AppUserRow = Selectable<AppUserTable>;
export type AuthRoleRow = Selectable<AuthRoleTable>;
export type ApiTokenRow = Selectable<ApiTokenTable>;
export type DagRunRow = Selectable<DagRunTable>;
export type NewDagRun = Insertable<DagRunTable>;
export type DagRunUpdate = Updateable<DagRunTable>;
export type TaskInstanceRow = Selectable<TaskInstanceTable>;
export type TaskInstanceUpdate = Updateable<TaskInstanceTable>;
export type TaskInstanceTryRow = Selectable<TaskInstanceTryTable>;
export type XcomRow = Selectable<XcomTable>;
export type ConnectionRow = Selectable<ConnectionTable>;
export type VariableRow = Selectable<VariableTable>;
export type PoolRow = Selectable<PoolTable>;
export type JobRow = Selectable<JobTable>;
export type TriggerRow = Selectable<TriggerTable>;
export type TaskInstanceHistoryRow = Selectable<TaskInstanceHistoryTable>;
export type DagRunHistoryRow = Selectable<DagRunHistoryTable>;
