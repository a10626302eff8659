/**
 * Dynamic task mapping in the SDK, without an engine: the serialized form of mapped tasks (pinned by a
 * golden file), the parse-time errors, the pure expansion rules of core/mapping.ts, and `unmap` building
 * the operator of one map index.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { expansionLength, mappedArguments, MappingError, type SerializedMapping } from '../../src/core/mapping.ts';
import type { JsonValue } from '../../src/core/serialized.ts';
import { KubernetesPodOperator } from '../../src/kubernetes/operators/podOperator.ts';
import { setAuthoringDefaults } from '../../src/sdk/authoring.ts';
import { BashOperator, dag, MappedOperator, task, type TaskContext } from '../../src/sdk/index.ts';

const GOLDEN = new URL('./golden/serialized_mapped_dag_v1.json', import.meta.url);

function mappedDag() {
  setAuthoringDefaults({ retries: 0, retryDelayMs: 300_000, catchup: false, maxActiveRuns: 16, maxActiveTasks: 16 });
  const files = task({ taskId: 'files' }, () => ['a.csv', 'b.csv']);
  const load = task({ taskId: 'load', retries: 2 }, (p: { file: string; table: string }) => `${p.table}:${p.file}`);
  const count = task({ taskId: 'count' }, (n: number) => n);
  const report = task({ taskId: 'report' }, (loaded: string[]) => loaded.length);
  return dag({ dagId: 'mapped_golden', schedule: null }, () => {
    const names = files();
    report(load.partial({ table: 'raw' }).expand({ file: names }));
    count.expand([1, 2, 3]);
    BashOperator.partial({ taskId: 'bash', env: { MODE: 'x' }, pool: 'p', retries: 1 }).expand({ bashCommand: ['echo 1', 'echo 2'], appendEnv: [true, false] });
    BashOperator.partial({ taskId: 'bash_kwargs' }).expandKwargs([{ bashCommand: 'echo a' }, { bashCommand: 'echo b', env: { B: '1' } }]);
    KubernetesPodOperator.partial({ taskId: 'pods', image: 'busybox:1.36', cmds: ['sh', '-c'] }).expand({ arguments: [['echo one'], ['echo two']] });
  });
}

test('the serialized form of mapped tasks matches the golden file', () => {
  const actual = JSON.parse(JSON.stringify(mappedDag().serialize('/dags/mapped.ts'))) as unknown;
  if (process.env.CAPSTAN_UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, JSON.stringify(actual, null, 2) + '\n');
  const expected = JSON.parse(readFileSync(GOLDEN, 'utf8')) as unknown;
  assert.deepEqual(actual, expected, 'the serialized mapping changed; if deliberate, regenerate with CAPSTAN_UPDATE_GOLDEN=1 and review');
});

test('mapping wires upstream outputs as dependencies and keeps the operator kind', () => {
  const d = mappedDag();
  const load = d.getTask('load');
  assert.ok(load instanceof MappedOperator);
  assert.deepEqual([...load.upstreamTaskIds], ['files']);
  assert.deepEqual([...d.getTask('report').upstreamTaskIds], ['load']);
  const s = d.serialize('/x.ts').tasks;
  assert.deepEqual(
    Object.fromEntries(s.map((t) => [t.taskId, t.operator])),
    { files: 'TaskFlow', load: 'TaskFlow', report: 'TaskFlow', count: 'TaskFlow', bash: 'BashOperator', bash_kwargs: 'BashOperator', pods: 'KubernetesPodOperator' },
  );
  assert.equal(s.find((t) => t.taskId === 'bash')?.pool, 'p', 'BaseOperator options set in partial apply to every index');
  assert.equal(s.find((t) => t.taskId === 'files')?.mapping, undefined, 'unmapped tasks carry no mapping');
});

test('bad mapping is refused at parse time with the field and the fix', () => {
  const cases: Array<[() => void, RegExp]> = [
    [() => BashOperator.partial({ taskId: 't' }).expand({ retries: [1, 2] } as never), /'retries' cannot be mapped.*|set 'retries' in partial/],
    [() => BashOperator.partial({ taskId: 't', bashCommand: 'x' }).expand({ bashCommand: ['a'] }), /'bashCommand' is given both to partial\(\) and to expand\(\)/],
    [() => BashOperator.partial({ taskId: 't' }).expand({ bashCommand: 'echo' as never }), /expand 'bashCommand': expected a list or an object.*got a string/],
    [() => BashOperator.partial({ taskId: 't' }).expandKwargs(['echo'] as never), /expandKwargs: element 0 is not an object of options/],
    [() => BashOperator.partial({ taskId: 't' }).expandKwargs([{ pool: 'x' }]), /element 0 sets 'pool', which cannot be mapped/],
    [() => BashOperator.partial({ taskId: 't' }).expand({}), /expand\(\) needs at least one input/],
    [() => task({ taskId: 'f' }, (p: { a: number }) => p.a).partial([1] as never), /partial\(\) takes an object of named parameters/],
  ];
  for (const [i, [fn, message]] of cases.entries()) {
    assert.throws(() => dag({ dagId: `bad_${i}` }, fn), (err: Error) => err.name === 'DagDefinitionError' && message.test(err.message), `case ${i}`);
  }
});

test('expansion rules: cross product with the last input fastest, dicts as [key, value] pairs, expandKwargs objects', () => {
  const cross: SerializedMapping = {
    kind: 'expand',
    inputs: [
      { name: 'a', source: { kind: 'literal', value: [1, 2] } },
      { name: 'b', source: { kind: 'xcom', taskId: 'up', key: 'return_value' } },
    ],
  };
  const values: JsonValue[] = [[1, 2], { x: 'X', y: 'Y', z: 'Z' }];
  assert.equal(expansionLength(cross, values), 6);
  assert.deepEqual(
    Array.from({ length: 6 }, (_, i) => mappedArguments(cross, values, i)),
    [
      { a: 1, b: ['x', 'X'] }, { a: 1, b: ['y', 'Y'] }, { a: 1, b: ['z', 'Z'] },
      { a: 2, b: ['x', 'X'] }, { a: 2, b: ['y', 'Y'] }, { a: 2, b: ['z', 'Z'] },
    ],
  );
  assert.equal(expansionLength(cross, [[1, 2], []]), 0, 'an empty input empties the product');
  assert.throws(() => mappedArguments(cross, values, 6), /map index 6 is out of range: the mapped input now expands to 6/);
  assert.throws(() => expansionLength(cross, [[1], 'abc']), (e: Error) => e instanceof MappingError && /XCom 'return_value' of task 'up'.*a string, not a list or an object/.test(e.message));
  assert.throws(() => expansionLength(cross, [[1], undefined]), /nothing was pushed/);
  const kwargs: SerializedMapping = { kind: 'expandKwargs', source: { kind: 'literal', value: [{ x: 1 }, { x: 2 }] } };
  assert.equal(expansionLength(kwargs, [[{ x: 1 }, { x: 2 }]]), 2);
  assert.deepEqual(mappedArguments(kwargs, [[{ x: 1 }, { x: 2 }]], 1), { x: 2 });
  assert.throws(() => expansionLength(kwargs, [[{ x: 1 }, 3]]), /element 1 of .* is not an object of arguments/);
});

test('unmap builds the operator of one map index: partial options plus that index’s values, under the mapped task id', async () => {
  const d = mappedDag();
  const bash = d.getTask('bash') as MappedOperator;
  const ctx = (mapIndex: number) => ({ mapIndex, xcomPull: async () => null }) as unknown as TaskContext;
  const op = (await bash.unmap(ctx(3))) as BashOperator;
  assert.ok(op instanceof BashOperator);
  assert.equal(op.taskId, 'bash');
  assert.equal(op.dag, d);
  assert.equal(op.pool, 'p');
  assert.equal(op.retry.retries, 1);
  assert.deepEqual([op.bashCommand, op.env, op.appendEnv], ['echo 2', { MODE: 'x' }, false]);
  assert.equal(d.tasks.get('bash'), bash, 'the per-index operator does not replace the mapped task in its DAG');
  const load = d.getTask('load') as MappedOperator;
  const pulled: string[] = [];
  const loadCtx = { mapIndex: 1, xcomPull: async (taskId: string) => (pulled.push(taskId), ['a.csv', 'b.csv']) } as unknown as TaskContext;
  const perIndex = await load.unmap(loadCtx);
  assert.deepEqual(pulled, ['files']);
  assert.deepEqual((perIndex as unknown as { args: unknown[] }).args, [{ table: 'raw', file: 'b.csv' }]);
  await assert.rejects(bash.unmap(ctx(4)), /map index 4 is out of range/);
});

test('typed: a mapped TaskFlow task’s output is the array of its result type (checked by tsc over this file)', () => {
  const d = dag({ dagId: 'typed_mapping' }, () => {
    const nums = task({ taskId: 'nums' }, () => [1, 2]);
    const toStr = task({ taskId: 'to_str' }, (n: number) => String(n));
    const join = task({ taskId: 'join' }, (xs: string[]) => xs.join(','));
    const count = task({ taskId: 'count' }, (xs: number[]) => xs.length);
    const scale = task({ taskId: 'scale' }, (p: { x: number; factor: number }) => p.x * p.factor);
    join(toStr.expand(nums()));
    count(scale.partial({ factor: 2 }).expand({ x: nums() }));
    // @ts-expect-error the mapped output is string[], not number[]
    count(toStr.expand(nums()));
    // @ts-expect-error a number parameter cannot be mapped over strings
    toStr.expand(['a']);
    // @ts-expect-error 'factor' is a number
    scale.partial({ factor: 'two' }).expand({ x: [1] });
    // @ts-expect-error BashOperator has no option 'bashComand'
    BashOperator.partial({ taskId: 'b' }).expand({ bashComand: ['echo'] });
  });
  assert.deepEqual([...d.getTask('join').upstreamTaskIds], ['to_str']);
});
