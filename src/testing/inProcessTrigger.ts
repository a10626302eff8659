/**
 * Running a deferred task's trigger inside this process (`dags test`, the test kit), as Airflow's
 * `dag.test()` does: the trigger stored with the deferral is rebuilt from its classpath and kwargs, run on
 * the runner's clock until its first event or its deadline, and the task instance is resumed exactly as
 * the triggerer and the scheduler would resume it — `fireTrigger` with the event, or `failDeferral` when
 * the trigger failed, ended without an event, or the deferral timed out. The next try of the run loop
 * then continues the same try in the deferral's method.
 */
import type { Clock, JsonObject, JsonValue } from '../core/index.ts';
import { errorMessage } from '../core/index.ts';
import type { TaskContext } from '../sdk/taskContext.ts';
import type { MetadataDb } from '../store/index.ts';
import { failDeferral, fireTrigger, getTaskInstance, getTrigger } from '../store/index.ts';
import { loadTrigger } from '../triggerer/index.ts';
import type { SerializedTrigger, TriggerEnv } from '../triggers/index.ts';

/** How a trigger run in this process ended: its first event, or why there is none. */
export type TriggerWaitResult = { kind: 'event'; payload: JsonValue } | { kind: 'failed'; error: string } | { kind: 'timed_out'; error: string };

/**
 * Rebuild `trigger` and run it on `clock` until its first event, or until `deadlineAt` (epoch ms; null:
 * none) passes. The trigger logs into `ctx`'s log and resolves connections through it.
 */
export async function awaitTriggerEvent(trigger: SerializedTrigger, deadlineAt: number | null, ctx: TaskContext, clock: Clock, triggerId: number, signal?: AbortSignal): Promise<TriggerWaitResult> {
  const abort = new AbortController();
  const stop = () => abort.abort();
  signal?.addEventListener('abort', stop, { once: true });
  const log = (level: 'debug' | 'info' | 'warn' | 'error') => (m: string) => ctx.log[level](`trigger: ${m}`);
  const env: TriggerEnv = {
    clock,
    log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    triggerId,
    getConnection: (connId) => ctx.getConnection(connId),
  };
  // The deferral's deadline guards the trigger (it does not wait itself), like an execution timeout.
  const deadline = deadlineAt === null ? new Promise<never>(() => undefined) : clock.sleep(Math.max(0, deadlineAt - clock.now()), abort.signal, { deadline: true }).then(() => 'timeout' as const);
  const work = (async (): Promise<TriggerWaitResult> => {
    try {
      const t = await loadTrigger(trigger);
      ctx.log.info(`running trigger ${trigger.classpath} in this process`);
      for await (const event of t.run(abort.signal, env)) return { kind: 'event', payload: event.payload };
      return { kind: 'failed', error: 'the trigger ended without an event' };
    } catch (err) {
      return { kind: 'failed', error: `the trigger failed: ${errorMessage(err)}` };
    }
  })();
  try {
    const first = await Promise.race([work, deadline]);
    if (first !== 'timeout') return first;
    const at = new Date(deadlineAt ?? clock.now()).toISOString();
    return { kind: 'timed_out', error: `trigger timeout: the task was deferred past its deadline ${at} (defer timeout or executionTimeout)` };
  } finally {
    abort.abort();
    signal?.removeEventListener('abort', stop);
  }
}

/**
 * Run the trigger task instance `tiId` is deferred on and resume the task instance in the store (see the
 * module comment). `ctx` is the context of the try that deferred.
 */
export async function runTriggerInProcess(db: MetadataDb, tiId: string, ctx: TaskContext, clock: Clock, signal?: AbortSignal): Promise<TriggerWaitResult> {
  const ti = await getTaskInstance(db, tiId);
  const row = ti.trigger_id === null ? undefined : await getTrigger(db, ti.trigger_id);
  const result: TriggerWaitResult = row
    ? await awaitTriggerEvent({ classpath: row.classpath, kwargs: JSON.parse(row.kwargs) as JsonObject }, ti.trigger_timeout_at, ctx, clock, row.id, signal)
    : { kind: 'failed', error: 'the deferred task has no trigger' };
  if (result.kind === 'event' && row) {
    await fireTrigger(db, row.id, result.payload, clock.now());
    ctx.log.info('trigger fired; the task resumes');
  } else if (result.kind !== 'event') {
    await failDeferral(db, { tiId }, { kind: result.kind === 'timed_out' ? 'timeout' : 'error', error: result.error }, clock.now());
  }
  return result;
}
