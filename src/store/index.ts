/**
 * The metadata store: every query Capstan runs, behind one interface. Nothing outside `src/store/`
 * imports Kysely (lint: `no-restricted-imports`); the rest of the code calls the {@link Store} made by
 * {@link createStore}, or the same functions directly from this module (each takes the open database
 * first). State changes are the verbs of ./transitions/. See ./ARCHITECTURE.md.
 *
 * @example
 * const store = createStore(openMetadataDb('sqlite:///var/lib/capstan/capstan.db'));
 * const ti = await store.taskInstances.findById(tiId);
 * const tries = await store.history.ofTask({ dagId, runId, taskId });
 * await store.transaction(async (tx) => { await tx.dags.lockRows(['etl']); await tx.runs.queuedToStart(100); });
 */
import type { Fernet } from '../crypto/fernet.ts';
import { AuditLog } from './auditLog.ts';
import * as backfills from './backfills.ts';
import { ConnectionStore } from './connections.ts';
import * as dagCallbacks from './dagCallbacks.ts';
import * as dagRuns from './dagRuns.ts';
import * as dags from './dags.ts';
import { inTransaction, pingDatabase, type MetadataDb } from './db.ts';
import { JobRegistry } from './jobs.ts';
import * as mappedTis from './mappedTis.ts';
import { PoolStore } from './pools.ts';
import * as queueing from './queueing.ts';
import * as tis from './taskInstances.ts';
import * as triggers from './triggers.ts';
import { listDagRunHistory, listTaskInstanceHistory } from './transitions/index.ts';
import { VariableStore } from './variables.ts';
import * as xcom from './xcom.ts';

/** `f` with its first argument (the open database) already given. */
export type Bound<F> = F extends (m: MetadataDb, ...args: infer A) => infer R ? (...args: A) => R : never;

/** Task instances and their try rows (reads and non-state columns; states move through ./transitions/). */
export interface TaskInstanceQueries {
  get: Bound<typeof tis.getTaskInstance>;
  findById: Bound<typeof tis.findTaskInstanceById>;
  find: Bound<typeof tis.findTaskInstance>;
  list: Bound<typeof tis.listTaskInstances>;
  count: Bound<typeof tis.countTaskInstances>;
  countByState: Bound<typeof tis.countTisByState>;
  statesOfRun: Bound<typeof tis.tiStatesOfRun>;
  changesSince: Bound<typeof tis.tiChangesSince>;
  position: Bound<typeof tis.tiPosition>;
  running: Bound<typeof tis.runningTis>;
  runningSilentSince: Bound<typeof tis.runningTisSilentSince>;
  activeOfExecutor: Bound<typeof tis.activeTisOfExecutor>;
  previousRunState: Bound<typeof tis.previousRunTiState>;
  takeOverTry: Bound<typeof tis.takeOverTry>;
  tries: Bound<typeof tis.listTries>;
  tryStartDate: Bound<typeof tis.tryStartDate>;
  tryRowState: Bound<typeof tis.tryRowState>;
  startTryRowOnce: Bound<typeof tis.startTryRowOnce>;
  indexPlaceholder: Bound<typeof mappedTis.indexPlaceholder>;
  insertMapped: Bound<typeof mappedTis.insertMappedTis>;
}

/** DAG runs. */
export interface RunQueries {
  create: Bound<typeof dagRuns.createDagRun>;
  get: Bound<typeof dagRuns.getDagRun>;
  getById: Bound<typeof dagRuns.getDagRunById>;
  find: Bound<typeof dagRuns.findDagRun>;
  findByLogicalDate: Bound<typeof dagRuns.findDagRunByLogicalDate>;
  list: Bound<typeof dagRuns.listDagRuns>;
  count: Bound<typeof dagRuns.countDagRuns>;
  countByDag: Bound<typeof dagRuns.countRunsByDag>;
  queuedToStart: Bound<typeof dagRuns.queuedRunsToStart>;
  running: Bound<typeof dagRuns.runningRuns>;
  previousSuccessful: Bound<typeof dagRuns.previousSuccessfulRun>;
  setNote: Bound<typeof dagRuns.setRunNote>;
  delete: Bound<typeof dagRuns.deleteDagRun>;
  pendingCallbacks: Bound<typeof dagCallbacks.pendingDagCallbacks>;
  claimCallback: Bound<typeof dagCallbacks.claimDagCallback>;
  finishCallback: Bound<typeof dagCallbacks.finishDagCallback>;
}

/** DAGs and their serialized form. */
export interface DagQueries {
  get: Bound<typeof dags.getDag>;
  getSerialized: Bound<typeof dags.getSerializedDag>;
  serializedHash: Bound<typeof dags.serializedDagHash>;
  list: Bound<typeof dags.listDags>;
  setPaused: Bound<typeof dags.setPaused>;
  /** PostgreSQL: hold the rows until the transaction ends (call on `transaction`'s handle). */
  lockRows: Bound<typeof dags.lockDagRows>;
}

/** Backfill rows and their date → run links. */
export interface BackfillQueries {
  insert: Bound<typeof backfills.insertBackfill>;
  find: Bound<typeof backfills.findBackfill>;
  list: Bound<typeof backfills.listBackfills>;
  page: Bound<typeof backfills.pageBackfills>;
  link: Bound<typeof backfills.linkBackfillRun>;
  links: Bound<typeof backfills.backfillLinks>;
  ofRuns: Bound<typeof backfills.backfillsOfRuns>;
  runningByBackfill: Bound<typeof backfills.runningRunsByBackfill>;
}

/** Deferred tasks' triggers. */
export interface TriggerQueries {
  get: Bound<typeof triggers.getTrigger>;
  claim: Bound<typeof triggers.claimTriggers>;
  assigned: Bound<typeof triggers.assignedTriggers>;
  release: Bound<typeof triggers.releaseTriggers>;
  fire: Bound<typeof triggers.fireTrigger>;
  failDeferral: Bound<typeof triggers.failDeferral>;
  timedOutDeferrals: Bound<typeof triggers.timedOutDeferrals>;
  deleteUnused: Bound<typeof triggers.deleteUnusedTriggers>;
}

/** XCom values. */
export interface XComQueries {
  push: Bound<typeof xcom.pushXCom>;
  pull: Bound<typeof xcom.pullXCom>;
  pullMapped: Bound<typeof xcom.pullMappedXComs>;
  clear: Bound<typeof xcom.clearXComs>;
  list: Bound<typeof xcom.listXComs>;
}

/** The reads and the commit of the scheduler's critical section (call on `transaction`'s handle). */
export interface QueueingQueries {
  poolSizes: Bound<typeof queueing.readPoolSizes>;
  slotUsage: Bound<typeof queueing.readSlotUsage>;
  dagTaskLimits: Bound<typeof queueing.readDagTaskLimits>;
  candidates: Bound<typeof queueing.selectQueueCandidates>;
  commit: Bound<typeof queueing.commitQueued>;
  failUnqueueable: Bound<typeof queueing.failUnqueueableTis>;
}

/**
 * One open metadata database, grouped by what it holds. Each group's functions are the module functions
 * of the same name with the database given; `db` is the handle those module functions (and the
 * transition verbs, as `db.db`) take.
 */
export interface Store {
  readonly db: MetadataDb;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  /** Run `fn` in one transaction, with a store whose every query runs inside it. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
  readonly dags: DagQueries;
  readonly runs: RunQueries;
  readonly taskInstances: TaskInstanceQueries;
  /** Every state move of a task instance or run (oldest first), kept after clears and retries. */
  readonly history: { ofTask: Bound<typeof listTaskInstanceHistory>; ofRun: Bound<typeof listDagRunHistory> };
  readonly backfills: BackfillQueries;
  readonly triggers: TriggerQueries;
  readonly xcom: XComQueries;
  readonly queueing: QueueingQueries;
  readonly pools: PoolStore;
  readonly jobs: JobRegistry;
  readonly audit: AuditLog;
  /** Variables, secret-named ones encrypted with `fernet`. */
  variables(fernet: Fernet): VariableStore;
  /** Connections, passwords and extras encrypted with `fernet`. */
  connections(fernet: Fernet): ConnectionStore;
}

/** Options of {@link createStore}. */
export interface StoreOptions {
  /** Clock for the times the stores record (audit, jobs, variables, connections). Default `Date.now`. */
  now?: () => number;
}

function on<A extends unknown[], R>(m: MetadataDb, f: (m: MetadataDb, ...args: A) => R): (...args: A) => R {
  return (...args) => f(m, ...args);
}

/** The {@link Store} of an open database. Cheap: it only binds functions; no query runs. */
export function createStore(m: MetadataDb, options: StoreOptions = {}): Store {
  const now = options.now;
  const clock = now ? { now } : {};
  return {
    db: m,
    ping: () => pingDatabase(m),
    transaction: (fn) => inTransaction(m, (tx) => fn(createStore(tx, options))),
    dags: {
      get: on(m, dags.getDag),
      getSerialized: on(m, dags.getSerializedDag),
      serializedHash: on(m, dags.serializedDagHash),
      list: on(m, dags.listDags),
      setPaused: on(m, dags.setPaused),
      lockRows: on(m, dags.lockDagRows),
    },
    runs: {
      create: on(m, dagRuns.createDagRun),
      get: on(m, dagRuns.getDagRun),
      getById: on(m, dagRuns.getDagRunById),
      find: on(m, dagRuns.findDagRun),
      findByLogicalDate: on(m, dagRuns.findDagRunByLogicalDate),
      list: on(m, dagRuns.listDagRuns),
      count: on(m, dagRuns.countDagRuns),
      countByDag: on(m, dagRuns.countRunsByDag),
      queuedToStart: on(m, dagRuns.queuedRunsToStart),
      running: on(m, dagRuns.runningRuns),
      previousSuccessful: on(m, dagRuns.previousSuccessfulRun),
      setNote: on(m, dagRuns.setRunNote),
      delete: on(m, dagRuns.deleteDagRun),
      pendingCallbacks: on(m, dagCallbacks.pendingDagCallbacks),
      claimCallback: on(m, dagCallbacks.claimDagCallback),
      finishCallback: on(m, dagCallbacks.finishDagCallback),
    },
    taskInstances: {
      get: on(m, tis.getTaskInstance),
      findById: on(m, tis.findTaskInstanceById),
      find: on(m, tis.findTaskInstance),
      list: on(m, tis.listTaskInstances),
      count: on(m, tis.countTaskInstances),
      countByState: on(m, tis.countTisByState),
      statesOfRun: on(m, tis.tiStatesOfRun),
      changesSince: on(m, tis.tiChangesSince),
      position: on(m, tis.tiPosition),
      running: on(m, tis.runningTis),
      runningSilentSince: on(m, tis.runningTisSilentSince),
      activeOfExecutor: on(m, tis.activeTisOfExecutor),
      previousRunState: on(m, tis.previousRunTiState),
      takeOverTry: on(m, tis.takeOverTry),
      tries: on(m, tis.listTries),
      tryStartDate: on(m, tis.tryStartDate),
      tryRowState: on(m, tis.tryRowState),
      startTryRowOnce: on(m, tis.startTryRowOnce),
      indexPlaceholder: on(m, mappedTis.indexPlaceholder),
      insertMapped: on(m, mappedTis.insertMappedTis),
    },
    history: { ofTask: on(m, listTaskInstanceHistory), ofRun: on(m, listDagRunHistory) },
    backfills: {
      insert: on(m, backfills.insertBackfill),
      find: on(m, backfills.findBackfill),
      list: on(m, backfills.listBackfills),
      page: on(m, backfills.pageBackfills),
      link: on(m, backfills.linkBackfillRun),
      links: on(m, backfills.backfillLinks),
      ofRuns: on(m, backfills.backfillsOfRuns),
      runningByBackfill: on(m, backfills.runningRunsByBackfill),
    },
    triggers: {
      get: on(m, triggers.getTrigger),
      claim: on(m, triggers.claimTriggers),
      assigned: on(m, triggers.assignedTriggers),
      release: on(m, triggers.releaseTriggers),
      fire: on(m, triggers.fireTrigger),
      failDeferral: on(m, triggers.failDeferral),
      timedOutDeferrals: on(m, triggers.timedOutDeferrals),
      deleteUnused: on(m, triggers.deleteUnusedTriggers),
    },
    xcom: {
      push: on(m, xcom.pushXCom),
      pull: on(m, xcom.pullXCom),
      pullMapped: on(m, xcom.pullMappedXComs),
      clear: on(m, xcom.clearXComs),
      list: on(m, xcom.listXComs),
    },
    queueing: {
      poolSizes: on(m, queueing.readPoolSizes),
      slotUsage: on(m, queueing.readSlotUsage),
      dagTaskLimits: on(m, queueing.readDagTaskLimits),
      candidates: on(m, queueing.selectQueueCandidates),
      commit: on(m, queueing.commitQueued),
      failUnqueueable: on(m, queueing.failUnqueueableTis),
    },
    pools: new PoolStore(m),
    jobs: new JobRegistry(m, clock),
    audit: new AuditLog(m, clock),
    variables: (fernet) => new VariableStore(m, { fernet, ...clock }),
    connections: (fernet) => new ConnectionStore(m, { fernet, ...clock }),
  };
}

export * from './apiTokens.ts';
export * from './auditLog.ts';
export * from './backfills.ts';
export * from './cleanup.ts';
export * from './connections.ts';
export * from './dagAccess.ts';
export * from './dagCallbacks.ts';
export * from './dagRuns.ts';
export * from './dags.ts';
export * from './dagSearch.ts';
export * from './dagWarnings.ts';
export * from './db.ts';
export * from './deploymentKeys.ts';
export * from './dialect.ts';
export * from './gridData.ts';
export * from './importErrors.ts';
export * from './jobs.ts';
export * from './listPage.ts';
export * from './mappedTis.ts';
export * from './migrate.ts';
export * from './notifications.ts';
export * from './pools.ts';
export * from './queueing.ts';
export * from './renderedFields.ts';
export * from './runSearch.ts';
export type * from './schema.ts';
export * from './stateChanges.ts';
export * from './taskInstances.ts';
export * from './tiDependencyFacts.ts';
export * from './transitions/index.ts';
export * from './triggers.ts';
export * from './users.ts';
export * from './variables.ts';
export * from './xcom.ts';
