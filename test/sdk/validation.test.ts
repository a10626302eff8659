/** A bad DAG fails when it is defined, with the DAG and task it concerns in the message. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BashOperator, chain, dag, EmptyOperator } from '../../src/sdk/index.ts';
import { DagDefinitionError } from '../../src/core/errors.ts';
import type { TriggerRule } from '../../src/core/triggerRules.ts';

function rejects(build: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(build, (err: unknown) => {
    assert.ok(err instanceof DagDefinitionError, `a DagDefinitionError, got ${String(err)}`);
    assert.equal(err.code, 'dag_invalid');
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

describe('DAG validation', () => {
  test('a cycle names the DAG and every task on it', () => {
    rejects(
      () =>
        dag({ dagId: 'cyclic' }, () => {
          const a = new EmptyOperator({ taskId: 'a' });
          const b = new EmptyOperator({ taskId: 'b' });
          const c = new EmptyOperator({ taskId: 'c' });
          new EmptyOperator({ taskId: 'outside_cycle' }).before(a);
          chain(a, b, c, a);
        }),
      /DAG 'cyclic' has a cycle: /,
      /\ba → b → c → a\b|\bb → c → a → b\b|\bc → a → b → c\b/,
    );
  });

  test('a task depending on itself', () => {
    rejects(
      () =>
        dag({ dagId: 'selfish' }, () => {
          const a = new EmptyOperator({ taskId: 'a' });
          a.before(a);
        }),
      /task 'a' in DAG 'selfish' cannot depend on itself/,
    );
  });

  test('a duplicate task id', () => {
    rejects(
      () =>
        dag({ dagId: 'dupes' }, () => {
          new EmptyOperator({ taskId: 'same' });
          new BashOperator({ taskId: 'same', bashCommand: 'true' });
        }),
      /DAG 'dupes': duplicate taskId 'same'/,
    );
  });

  test('an unknown trigger rule', () => {
    rejects(
      () => dag({ dagId: 'rules' }, () => new EmptyOperator({ taskId: 'joiner', triggerRule: 'all_sucess' as TriggerRule })),
      /task 'joiner' in DAG 'rules': unknown triggerRule 'all_sucess'/,
    );
  });

  test('a bad schedule', () => {
    rejects(() => dag({ dagId: 'sched', schedule: '@fortnightly', startDate: '2026-01-01' }), /DAG 'sched'/, /unknown preset '@fortnightly'/);
    rejects(() => dag({ dagId: 'cron', schedule: '0 25 * * *', startDate: '2026-01-01' }), /DAG 'cron'/, /not a valid cron expression/);
  });

  test('a scheduled DAG without a startDate', () => {
    rejects(() => dag({ dagId: 'nostart', schedule: '@daily' }), /DAG 'nostart'/, /a scheduled DAG needs a startDate/);
    assert.doesNotThrow(() => dag({ dagId: 'manual_only', schedule: null }));
  });

  test('a task created outside any DAG', () => {
    rejects(() => new BashOperator({ taskId: 'stray', bashCommand: 'true' }), /task 'stray' is not in a DAG/);
  });

  test('bad poolSlots, retries and task ids', () => {
    rejects(() => dag({ dagId: 'pools' }, () => new EmptyOperator({ taskId: 'heavy', poolSlots: 0 })), /task 'heavy' in DAG 'pools': poolSlots must be a whole number ≥ 1, got 0/);
    rejects(() => dag({ dagId: 'pools2' }, () => new EmptyOperator({ taskId: 'half', poolSlots: 1.5 })), /task 'half' in DAG 'pools2': poolSlots/);
    rejects(() => dag({ dagId: 'retries' }, () => new EmptyOperator({ taskId: 'r', retries: -1 })), /task 'r' in DAG 'retries': retries must be a whole number ≥ 0/);
    rejects(() => dag({ dagId: 'ids' }, () => new EmptyOperator({ taskId: 'has space' })), /task 'has space' in DAG 'ids': taskId must be/);
  });

  test('bad durations name the task and option', () => {
    // A duration error is the core's InvalidArgument; the DAG loader reports it as dag_invalid with the file.
    assert.throws(() => dag({ dagId: 'delays' }, () => new EmptyOperator({ taskId: 'slow', retryDelay: 'soon' })), /task 'slow' in DAG 'delays': retryDelay: 'soon' is not a duration/);
  });

  test('tasks of different DAGs cannot be linked', () => {
    let first: EmptyOperator | undefined;
    dag({ dagId: 'one' }, () => {
      first = new EmptyOperator({ taskId: 'a' });
    });
    rejects(
      () =>
        dag({ dagId: 'two' }, () => {
          new EmptyOperator({ taskId: 'b' }).after(first as EmptyOperator);
        }),
      /cannot link 'a' \(DAG 'one'\) to 'b' \(DAG 'two'\)/,
    );
  });
});

describe('large DAGs', () => {
  test('a 30,000-task chain validates and serializes without exhausting the stack', () => {
    const d = dag({ dagId: 'long_chain', schedule: null }, () => {
      let prev = new EmptyOperator({ taskId: 't0' });
      for (let i = 1; i < 30_000; i++) {
        const t = new EmptyOperator({ taskId: `t${i}` });
        prev.before(t);
        prev = t;
      }
    });
    assert.equal(d.serialize('/x.ts').tasks.length, 30_000);
  });

  test('a cycle closing a long chain is still named', () => {
    assert.throws(
      () =>
        dag({ dagId: 'long_cycle', schedule: null }, () => {
          const first = new EmptyOperator({ taskId: 't0' });
          let prev = first;
          for (let i = 1; i < 5_000; i++) {
            const t = new EmptyOperator({ taskId: `t${i}` });
            prev.before(t);
            prev = t;
          }
          prev.before(first);
        }),
      (err: unknown) => err instanceof DagDefinitionError && /has a cycle: t0 → t1 → .* → t4999 → t0$/.test(err.message),
    );
  });
});
