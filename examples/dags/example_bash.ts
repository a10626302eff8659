/**
 * BashOperator basics: a command per task, environment, a fan-out, a skip exit code, and retries.
 */
import { BashOperator, chain, dag } from 'capstan';

export default dag(
  {
    dagId: 'example_bash',
    description: 'Bash commands in a fan-out and fan-in',
    schedule: '@daily',
    startDate: '2026-01-01',
    catchup: false,
    tags: ['example', 'bash'],
    defaultArgs: { retries: 1, retryDelay: '2s' },
  },
  () => {
    const start = new BashOperator({ taskId: 'start', bashCommand: 'echo "run $CAPSTAN_CTX_RUN_ID starting"' });
    const greet = new BashOperator({ taskId: 'greet', bashCommand: 'echo "hello $WHO"', env: { WHO: 'capstan' }, appendEnv: true });
    const count = new BashOperator({ taskId: 'count', bashCommand: 'for i in 1 2 3; do echo "line $i"; done' });
    const maybeSkip = new BashOperator({ taskId: 'maybe_skip', bashCommand: 'echo "nothing to do today"; exit 99' });
    const finish = new BashOperator({ taskId: 'finish', bashCommand: 'echo done', triggerRule: 'none_failed' });
    chain(start, [greet, count, maybeSkip], finish);
  },
);
