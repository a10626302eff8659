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
import type { Fernet } from '../crypto/index.ts';
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

/** A group of queries: the name a {@link Store} caller uses → the module function, which takes the open database first. */
type QueryTable = Record<string, (m: MetadataDb, ...args: never[]) => unknown>;

/** Every function of a {@link QueryTable} with the open database already given. */
export type BoundQueries<T extends QueryTable> = { [K in keyof T]: Bound<T[K]> };

/**
 * The groups of {@link Store} that are module functions: each table names the functions a caller holding a
 * `Store` may call. A new entry here is all it takes: the group's type and {@link createStore}'s wiring
 * both follow from it.
 */
const queryTables = {
  /** DAGs and their serialized form. */
  dags: {
    get: dags.getDag,
    getSerialized: dags.getSerializedDag,
    serializedHash: dags.serializedDagHash,
    list: dags.listDags,
    setPaused: dags.setPaused,
    /** PostgreSQL: hold the rows until the transaction ends (call on `transaction`'s handle). */
    lockRows: dags.lockDagRows,
  },
  /** DAG runs. */
  runs: {
    create: dagRuns.createDagRun,
    get: dagRuns.getDagRun,
    getById: dagRuns.getDagRunById,
    find: dagRuns.findDagRun,
    findByLogicalDate: dagRuns.findDagRunByLogicalDate,
    list: dagRuns.listDagRuns,
    count: dagRuns.countDagRuns,
    countByDag: dagRuns.countRunsByDag,
    queuedToStart: dagRuns.queuedRunsToStart,
    running: dagRuns.runningRuns,
    previousSuccessful: dagRuns.previousSuccessfulRun,
    setNote: dagRuns.setRunNote,
    delete: dagRuns.deleteDagRun,
    pendingCallbacks: dagCallbacks.pendingDagCallbacks,
    claimCallback: dagCallbacks.claimDagCallback,
    finishCallback: dagCallbacks.finishDagCallback,
  },
  /** Task instances and their try rows (reads and non-state columns; states move through ./transitions/). */
  taskInstances: {
    get: tis.getTaskInstance,
    findById: tis.findTaskInstanceById,
    find: tis.findTaskInstance,
    list: tis.listTaskInstances,
    count: tis.countTaskInstances,
    countByState: tis.countTisByState,
    statesOfRun: tis.tiStatesOfRun,
    changesSince: tis.tiChangesSince,
    position: tis.tiPosition,
    running: tis.runningTis,
    runningSilentSince: tis.runningTisSilentSince,
    activeOfExecutor: tis.activeTisOfExecutor,
    previousRunState: tis.previousRunTiState,
    takeOverTry: tis.takeOverTry,
    tries: tis.listTries,
    tryStartDate: tis.tryStartDate,
    tryRowState: tis.tryRowState,
    startTryRowOnce: tis.startTryRowOnce,
    setNote: tis.setTiNote,
    indexPlaceholder: mappedTis.indexPlaceholder,
    insertMapped: mappedTis.insertMappedTis,
  },
  /** Every state move of a task instance or run (oldest first), kept after clears and retries. */
  history: { ofTask: listTaskInstanceHistory, ofRun: listDagRunHistory },
  /** Backfill rows and their date → run links. */
  backfills: {
    insert: backfills.insertBackfill,
    find: backfills.findBackfill,
    list: backfills.listBackfills,
    page: backfills.pageBackfills,
    link: backfills.linkBackfillRun,
    links: backfills.backfillLinks,
    ofRuns: backfills.backfillsOfRuns,
    runningByBackfill: backfills.runningRunsByBackfill,
  },
  /** Deferred tasks' triggers. */
  triggers: {
    get: triggers.getTrigger,
    claim: triggers.claimTriggers,
    assigned: triggers.assignedTriggers,
    release: triggers.releaseTriggers,
    fire: triggers.fireTrigger,
    failDeferral: triggers.failDeferral,
    timedOutDeferrals: triggers.timedOutDeferrals,
    deleteUnused: triggers.deleteUnusedTriggers,
  },
  /** XCom values. */
  xcom: {
    push: xcom.pushXCom,
    pull: xcom.pullXCom,
    pullMapped: xcom.pullMappedXComs,
    clear: xcom.clearXComs,
    list: xcom.listXComs,
  },
  /** The reads and the commit of the scheduler's critical section (call on `transaction`'s handle). */
  queueing: {
    poolSizes: queueing.readPoolSizes,
    slotUsage: queueing.readSlotUsage,
    dagTaskLimits: queueing.readDagTaskLimits,
    candidates: queueing.selectQueueCandidates,
    commit: queueing.commitQueued,
    failUnqueueable: queueing.failUnqueueableTis,
  },
} satisfies Record<string, QueryTable>;

type QueryTables = typeof queryTables;
/** DAGs and their serialized form. */
export type DagQueries = BoundQueries<QueryTables['dags']>;
/** DAG runs. */
export type RunQueries = BoundQueries<QueryTables['runs']>;
/** Task instances and their try rows (reads and non-state columns; states move through ./transitions/). */
export type TaskInstanceQueries = BoundQueries<QueryTables['taskInstances']>;
/** Every state move of a task instance or run (oldest first). */
export type HistoryQueries = BoundQueries<QueryTables['history']>;
/** Backfill rows and their date → run links. */
export type BackfillQueries = BoundQueries<QueryTables['backfills']>;
/** Deferred tasks' triggers. */
export type TriggerQueries = BoundQueries<QueryTables['triggers']>;
/** XCom values. */
export type XComQueries = BoundQueries<QueryTables['xcom']>;
/** The reads and the commit of the scheduler's critical section (call on `transaction`'s handle). */
export type QueueingQueries = BoundQueries<QueryTables['queueing']>;

/** Every group of {@link queryTables}, bound to one open database. */
type BoundGroups = { readonly [G in keyof QueryTables]: BoundQueries<QueryTables[G]> };

/**
 * One open metadata database, grouped by what it holds. Each group's functions are the module functions
 * its table in {@link queryTables} names, with the database given; `db` is the handle those module
 * functions (and the transition verbs, as `db.db`) take.
 */
export interface Store extends BoundGroups {
  readonly db: MetadataDb;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  /** Run `fn` in one transaction, with a store whose every query runs inside it. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
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

/** Each function of `table` with `m` given as its first argument. */
function bindQueries<T extends QueryTable>(m: MetadataDb, table: T): BoundQueries<T> {
  const bound: Record<string, (...args: never[]) => unknown> = {};
  for (const [name, f] of Object.entries(table)) bound[name] = (...args) => f(m, ...args);
  // Each entry is `Bound<T[name]>` by construction; TypeScript cannot follow a conditional type through a loop.
  return bound as BoundQueries<T>;
}

/** The {@link Store} of an open database. Cheap: it only binds functions; no query runs. */
export function createStore(m: MetadataDb, options: StoreOptions = {}): Store {
  const now = options.now;
  const clock = now ? { now } : {};
  return {
    db: m,
    ping: () => pingDatabase(m),
    transaction: (fn) => inTransaction(m, (tx) => fn(createStore(tx, options))),
    dags: bindQueries(m, queryTables.dags),
    runs: bindQueries(m, queryTables.runs),
    taskInstances: bindQueries(m, queryTables.taskInstances),
    history: bindQueries(m, queryTables.history),
    backfills: bindQueries(m, queryTables.backfills),
    triggers: bindQueries(m, queryTables.triggers),
    xcom: bindQueries(m, queryTables.xcom),
    queueing: bindQueries(m, queryTables.queueing),
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
export * from './taskInstanceHistoryPage.ts';
export * from './taskInstances.ts';
export * from './tiDependencyFacts.ts';
export * from './transitions/index.ts';
export * from './triggers.ts';
export * from './users.ts';
export * from './variables.ts';
export * from './xcom.ts';
