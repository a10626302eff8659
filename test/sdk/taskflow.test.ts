/**
 * TaskFlow authoring: repeated calls get unique ids, outputs wire dependencies and values, literal
 * arguments must be JSON, and at run time arguments resolve from upstream XComs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DagDefinitionError } from '../../src/core/errors.ts';
import type { JsonValue } from '../../src/core/serialized.ts';
import { SecretMasker, SecretsLookup } from '../../src/secrets/index.ts';
import { BashOperator, dag, getCurrentContext, task, XComArg } from '../../src/sdk/index.ts';
import { createInProcessContext, MemoryXComs, type TaskLogLine } from '../../src/testing/index.ts';

const double = task({ taskId: 'double' }, (n: number) => n * 2);

describe('TaskFlow', () => {
  test('repeated calls in one DAG get id__1, id__2', () => {
    const d = dag({ dagId: 'repeat' }, () => {
      double(1);
      double(2);
      double(3);
    });
    assert.deepEqual([...d.tasks.keys()], ['double', 'double__1', 'double__2']);
  });

  test('without a taskId the function name is used; an anonymous function needs one', () => {
    const d = dag({ dagId: 'named' }, () => {
      task(function tidy() {
        return 1;
      })();
    });
    assert.deepEqual([...d.tasks.keys()], ['tidy']);
    assert.throws(() => task(() => 1), /anonymous function needs options.taskId/);
  });

  test('passing an output wires the dependency and serializes a reference', () => {
    const produce = task({ taskId: 'produce' }, () => ({ n: 1 }));
    const consume = task({ taskId: 'consume' }, (v: { n: number }, label: string) => `${label}${v.n}`);
    let out: XComArg<string> | undefined;
    const d = dag({ dagId: 'wired' }, () => {
      const p = produce();
      out = consume(p, 'x');
      out.before(new BashOperator({ taskId: 'after', bashCommand: 'true' }));
    });
    assert.ok(out instanceof XComArg);
    assert.equal(out.operator.taskId, 'consume');
    assert.equal(out.key, 'return_value');
    const s = d.serialize('/f.ts');
    const consumeTask = s.tasks.find((t) => t.taskId === 'consume');
    assert.deepEqual(consumeTask?.upstream, ['produce']);
    assert.deepEqual(consumeTask?.downstream, ['after']);
    assert.deepEqual(consumeTask?.fields, { args: [{ __xcomArg: { taskId: 'produce', key: 'return_value' } }, 'x'] });
  });

  test('pull(key) refers to another key of the same task', () => {
    const pusher = task({ taskId: 'pusher' }, () => 1);
    const reader = task({ taskId: 'reader' }, (v: string) => v);
    const d = dag({ dagId: 'keys' }, () => {
      reader(pusher().pull<string>('name'));
    });
    assert.deepEqual(d.serialize('/f.ts').tasks.find((t) => t.taskId === 'reader')?.fields, { args: [{ __xcomArg: { taskId: 'pusher', key: 'name' } }] });
  });

  test('non-JSON literal arguments are rejected with the task and argument', () => {
    const any = task({ taskId: 'takes_any' }, (v: unknown) => String(v));
    const bad: Array<[string, unknown]> = [
      ['a function', () => 1],
      ['a Date', new Date(0)],
      ['a Map', new Map()],
      ['a class instance', new (class Thing {})()],
      ['NaN', Number.NaN],
      ['undefined', undefined],
      ['a nested function', { ok: 1, nested: [() => 1] }],
    ];
    for (const [what, value] of bad) {
      assert.throws(
        () => dag({ dagId: 'literals' }, () => any(value)),
        (err: unknown) => err instanceof DagDefinitionError && /task 'takes_any' in DAG 'literals': argument 1 is not JSON-serializable/.test(err.message),
        what,
      );
    }
    assert.doesNotThrow(() => dag({ dagId: 'json_literals' }, () => any({ a: [1, 'two', null, true, { b: 2.5 }] })));
  });

  test('at run time arguments resolve from upstream XComs and the return value is the result', async () => {
    const produce = task({ taskId: 'produce' }, () => ({ rows: [1, 2, 3] }));
    const total = task({ taskId: 'total' }, (b: { rows: number[] }, offset: number) => {
      getCurrentContext().log.info(`summing ${b.rows.length} rows`);
      return b.rows.reduce((a, c) => a + c, offset);
    });
    const d = dag({ dagId: 'runtime' }, () => {
      total(produce(), 10);
    });
    const xcoms = new MemoryXComs();
    await xcoms.push('produce', -1, 'return_value', { rows: [1, 2, 3] } as JsonValue);
    const lines: TaskLogLine[] = [];
    const ctx = createInProcessContext(
      { dagId: 'runtime', taskId: 'total', runId: 'r', runType: 'manual', mapIndex: -1, tryNumber: 1, maxTries: 1, logicalDate: null, dataIntervalStart: null, dataIntervalEnd: null, params: {}, conf: {} },
      { xcom: xcoms, secrets: new SecretsLookup({ env: {} }), masker: new SecretMasker(), onLog: (l) => lines.push(l), signal: new AbortController().signal },
    );
    assert.equal(await d.getTask('total').execute(ctx), 16);
    assert.deepEqual(lines.map((l) => l.message), ['summing 3 rows']);
  });
});
