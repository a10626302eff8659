/**
 * Retries with exponential backoff, an execution timeout, pool slots, priorities and a per-DAG task
 * limit: `flaky` fails on its first try and succeeds on the second; the ten `shard_*` tasks share two
 * running slots (`maxActiveTasks: 2`), the higher `priorityWeight` ones first.
 */
import { BashOperator, dag, EmptyOperator, getCurrentContext, task } from 'capstan';

/** Fails on its first try: the retry runs after 1 s, and a third try would wait 2 s (capped at 10 s). */
const flaky = task({ taskId: 'flaky', retries: 3, retryDelay: '1s', retryExponentialBackoff: true, maxRetryDelay: '10s' }, () => {
  const ctx = getCurrentContext();
  if (ctx.tryNumber === 1) throw new Error('simulated transient failure on the first try');
  return `succeeded on try ${ctx.tryNumber} of ${ctx.maxTries}`;
});

export default dag(
  {
    dagId: 'example_retries_and_limits',
    schedule: null,
    tags: ['example', 'retries', 'pools'],
    maxActiveTasks: 2,
    defaultArgs: { executionTimeout: '2m' },
  },
  () => {
    const first = new BashOperator({
      taskId: 'first_try_fails',
      bashCommand: 'if [ "$CAPSTAN_CTX_TRY_NUMBER" -lt 2 ]; then echo "transient error" >&2; exit 1; fi; echo recovered',
      retries: 2,
      retryDelay: '1s',
      retryExponentialBackoff: true,
    });
    const join = new EmptyOperator({ taskId: 'join' });
    for (let i = 0; i < 10; i++) {
      const shard = new BashOperator({ taskId: `shard_${i}`, bashCommand: `echo "shard ${i}"; sleep 0.2`, priorityWeight: 10 - i, poolSlots: 1 });
      first.before(shard).before(join);
    }
    join.before(flaky());
  },
);
