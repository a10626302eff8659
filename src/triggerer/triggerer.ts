/**
 * The triggerer: runs deferred tasks' triggers, many at once on one event loop. Each loop it heartbeats,
 * claims unowned triggers (up to its capacity) and those of dead triggerers, starts the ones it owns,
 * and cancels the ones it no longer owns or whose task left `deferred`. A trigger's first event resumes
 * its task (`deferred → scheduled`, same try) in one guarded update, so an event is written once even if
 * two triggerers ever ran the same trigger. See ARCHITECTURE.md in this folder.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type Clock, errorMessage, systemClock, Wakeup } from '../core/index.ts';
import type { CapstanConfig } from '../config/index.ts';
import type { EngineEvents } from '../services/index.ts';
import { TaskLogAppender } from '../logging/taskLogs.ts';
import type { TaskLogHandler } from '../logging/taskLogs.ts';
import { SecretMasker } from '../secrets/index.ts';
import type { TaskConnection } from '../sdk/taskContext.ts';
import type { MetadataDb } from '../store/index.ts';
import {
  type AssignedTrigger,
  assignedTriggers,
  claimTriggers,
  deleteUnusedTriggers,
  failDeferral,
  fireTrigger,
  isDeferredOn,
  JobRegistry,
  releaseTriggers,
  TiChangeNotifier,
  tiPosition,
} from '../store/index.ts';
import { loadTrigger } from './providerTriggers.ts';
import type { TriggerEnv, TriggerLogger } from '../triggers/index.ts';
import { triggererMetrics, type TriggererMetrics } from './metrics.ts';

/** The `triggerer` config section. */
export type TriggererOptions = Pick<CapstanConfig['triggerer'], 'capacity' | 'loopIntervalMs' | 'heartbeatIntervalMs' | 'healthCheckThresholdMs'>;

/** What a triggerer needs; `clock` and `now` default to the wall clock. */
export interface TriggererDeps {
  db: MetadataDb;
  logger: Logger;
  options: TriggererOptions;
  /** Resolves connections for triggers (`env.getConnection`). */
  getConnection: (connId: string) => Promise<TaskConnection>;
  /** Registry for the trigger metrics; none: not recorded. */
  registry?: Registry;
  /** In-process wake-ups for a scheduler in the same process (standalone). */
  events?: EngineEvents;
  /** The clock triggers wait on. Default the wall clock. */
  clock?: Clock;
  /**
   * The task-log store (`logging.remoteStore`'s handler): triggers write into their deferred try's log through
   * it (`env.taskLog`), masked with `serverSecrets` and every connection the trigger resolved. None: no `taskLog`.
   */
  taskLogs?: TaskLogHandler;
  /** This deployment's own secrets (keys, the database password), masked in what triggers write to task logs. */
  serverSecrets?: readonly string[];
}

interface Running {
  trigger: AssignedTrigger;
  abort: AbortController;
  done: Promise<void>;
}

/** Start with `run(signal)`; see the module comment. */
export class Triggerer {
  readonly #d: TriggererDeps;
  readonly #clock: Clock;
  readonly #jobs: JobRegistry;
  readonly #wakeup = new Wakeup();
  readonly #running = new Map<number, Running>();
  readonly #notifier: TiChangeNotifier;
  readonly #metrics: TriggererMetrics | undefined;
  #jobId: string | undefined;
  #lastHeartbeat = 0;
  #lastCleanup = 0;

  constructor(deps: TriggererDeps) {
    this.#d = deps;
    this.#clock = deps.clock ?? systemClock;
    this.#jobs = new JobRegistry(deps.db, { now: () => this.#clock.now() });
    this.#notifier = new TiChangeNotifier(deps.db);
    this.#metrics = deps.registry ? triggererMetrics(deps.registry) : undefined;
  }

  /** This triggerer's job id once running. */
  get jobId(): string | undefined {
    return this.#jobId;
  }

  /** Ids of the triggers running in this process now. */
  runningTriggerIds(): number[] {
    return [...this.#running.keys()];
  }

  /** Register, then loop until `signal` aborts; on the way out cancel every trigger and hand them back. */
  async run(signal: AbortSignal): Promise<void> {
    const { logger, options } = this.#d;
    this.#jobId = await this.#jobs.register('triggerer');
    this.#lastHeartbeat = this.#clock.now();
    logger.info({ jobId: this.#jobId, capacity: options.capacity }, 'triggerer started');
    try {
      while (!signal.aborted) {
        try {
          if (!(await this.#heartbeat())) {
            logger.error({ jobId: this.#jobId }, 'this triggerer job was ended from outside; stopping');
            break;
          }
          await this.runOnce();
        } catch (err) {
          logger.error({ err }, 'triggerer loop failed; retrying');
        }
        await this.#wakeup.wait(options.loopIntervalMs, signal);
      }
    } finally {
      const running = [...this.#running.values()];
      for (const r of running) r.abort.abort();
      await Promise.allSettled(running.map((r) => r.done));
      // Handing the triggers back lets another triggerer start them now rather than after our heartbeat ages out.
      await releaseTriggers(this.#d.db, this.#jobId).catch((err: unknown) => logger.warn({ err }, 'could not release triggers'));
      await this.#jobs.end(this.#jobId, 'success').catch(() => undefined);
      this.#metrics?.running.set(0);
      logger.info('triggerer stopped');
    }
  }

  /** One pass: claim, start what is ours, cancel what is not (public for tests). */
  async runOnce(): Promise<void> {
    const jobId = this.#jobId;
    if (jobId === undefined) throw new Error('Triggerer.runOnce() before run()');
    const { db, options } = this.#d;
    const now = this.#clock.now();
    const assignedBefore = await assignedTriggers(db, jobId);
    await claimTriggers(db, jobId, { thresholdMs: options.healthCheckThresholdMs, now }, options.capacity - assignedBefore.length);
    const assigned = await assignedTriggers(db, jobId);
    const mine = new Map(assigned.map((t) => [t.id, t]));
    let cancelled = 0;
    for (const [id, r] of this.#running) {
      if (!mine.has(id)) {
        this.#d.logger.info({ triggerId: id, tiId: r.trigger.tiId }, 'cancelling trigger: its task is no longer deferred on it here');
        r.abort.abort();
        cancelled++;
      }
    }
    for (const t of assigned) if (!this.#running.has(t.id)) this.#start(t);
    // Rows of cancelled triggers go at once; others left behind (a task cleared while no triggerer ran)
    // are swept now and then.
    if (cancelled > 0 || now - this.#lastCleanup >= 60_000) {
      this.#lastCleanup = now;
      await deleteUnusedTriggers(db);
    }
    this.#metrics?.running.set(this.#running.size);
    this.#metrics?.capacityLeft.set(Math.max(0, options.capacity - this.#running.size));
  }

  async #heartbeat(): Promise<boolean> {
    const now = this.#clock.now();
    if (this.#jobId === undefined || now - this.#lastHeartbeat < this.#d.options.heartbeatIntervalMs) return true;
    this.#lastHeartbeat = now;
    return this.#jobs.heartbeat(this.#jobId);
  }

  #start(t: AssignedTrigger): void {
    const abort = new AbortController();
    const log = this.#triggerLogger(t);
    const masker = new SecretMasker();
    for (const secret of this.#d.serverSecrets ?? []) masker.add(secret);
    const env: TriggerEnv = {
      clock: this.#clock, log, triggerId: t.id,
      getConnection: async (connId) => {
        const c = await this.#d.getConnection(connId);
        masker.addConnection(c);
        return c;
      },
      isTaskDeferred: () => isDeferredOn(this.#d.db, t.tiId, t.id),
      ...(this.#d.taskLogs ? { taskLog: this.#taskLog(t, this.#d.taskLogs, masker, log) } : {}),
    };
    const done = (async () => {
      try {
        const trigger = await loadTrigger({ classpath: t.classpath, kwargs: t.kwargs });
        log.debug(`running ${t.classpath}`);
        for await (const event of trigger.run(abort.signal, env)) {
          if (abort.signal.aborted) return;
          let runs: number[];
          try {
            runs = await fireTrigger(this.#d.db, t.id, event.payload, this.#clock.now());
          } catch (err) {
            // Not the trigger's fault: it is started again on the next pass and fires again.
            log.error(`could not record the event (${errorMessage(err)}); the trigger will run again`);
            return;
          }
          if (runs.length > 0) {
            this.#metrics?.fired.inc();
            log.info('fired; the task resumes');
            this.#resumed(runs, t);
          }
          return; // only the first event counts: leaving the loop ends the trigger's generator
        }
        if (!abort.signal.aborted) await this.#fail(t, 'the trigger ended without an event');
      } catch (err) {
        if (!abort.signal.aborted) await this.#fail(t, `the trigger failed: ${errorMessage(err)}`);
      }
    })().finally(() => {
      if (this.#running.get(t.id)?.abort === abort) this.#running.delete(t.id);
      this.#metrics?.running.set(this.#running.size);
    });
    this.#running.set(t.id, { trigger: t, abort, done });
  }

  async #fail(t: AssignedTrigger, error: string): Promise<void> {
    this.#metrics?.failed.inc();
    this.#d.logger.warn({ triggerId: t.id, tiId: t.tiId, classpath: t.classpath, error }, 'trigger failed; the task resumes into its failure path');
    try {
      const runs = await failDeferral(this.#d.db, { triggerId: t.id }, { kind: 'error', error }, this.#clock.now());
      this.#resumed(runs, t);
    } catch (err) {
      this.#d.logger.error({ err, triggerId: t.id }, 'could not record the trigger failure; retried when the trigger is started again');
    }
  }

  #resumed(dagRunIds: number[], t: AssignedTrigger): void {
    for (const dagRunId of dagRunIds) {
      this.#notifier.changed(dagRunId);
      this.#d.events?.tiChanged({ dagRunId, tiId: t.tiId, state: 'scheduled' });
    }
  }

  /** The deferred try's log (its try number read when the first line is written). */
  #taskLog(t: AssignedTrigger, handler: TaskLogHandler, masker: SecretMasker, log: TriggerLogger): TaskLogAppender {
    return new TaskLogAppender(handler, async () => {
      const position = await tiPosition(this.#d.db, t.tiId);
      if (position === undefined) throw new Error(`task instance ${t.tiId} is gone`);
      return { dagId: t.dagId, runId: t.runId, taskId: t.taskId, mapIndex: t.mapIndex, tryNumber: position.try_number };
    }, { mask: (text) => masker.mask(text), onError: (err) => log.warn(errorMessage(err)) });
  }

  #triggerLogger(t: AssignedTrigger): TriggerLogger {
    const l = this.#d.logger.child({ triggerId: t.id, dagId: t.dagId, runId: t.runId, taskId: t.taskId, mapIndex: t.mapIndex });
    return { debug: (m) => l.debug(m), info: (m) => l.info(m), warn: (m) => l.warn(m), error: (m) => l.error(m) };
  }
}
