/**
 * Two DAG files declaring the same dagId: the file that defined it first keeps it, the later one is an import
 * error (visible through `capstan dags list-import-errors`) that stores none of its DAGs; editing the later file
 * does not flip the DAG over; once the first file stops defining it, the later file takes it over.
 */
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { forEachCliDialect } from '../cli/capstan.ts';
import { getDag, getSerializedDag } from '../../src/store/dags.ts';

const dagFile = (dagId: string, taskId: string, extra = '') => `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: '${dagId}', schedule: null }, () => { new BashOperator({ taskId: '${taskId}', bashCommand: 'echo ${taskId}' }); });
${extra}
`;

forEachCliDialect('duplicate dagId', (t) => {
  void test('the later file is an import error, and the DAG stays with the first file', async () => {
    const dags = join(t.home, 'dags');
    mkdirSync(dags, { recursive: true });
    writeFileSync(join(t.home, 'capstan.yaml'), 'core:\n  loadExamples: false\nlogging:\n  level: warn\n');
    const first = join(dags, 'a_first.ts');
    writeFileSync(first, dagFile('shared', 'from_first'));
    assert.equal((await t.run(['dag-processor', '--once'])).code, 0);
    // The second file arrives later (and sorts before the first: ownership is not by path order).
    const later = join(dags, '0_later.ts');
    writeFileSync(later, dagFile('shared', 'from_later', "export const other = dag({ dagId: 'later_only', schedule: null }, () => {});"));
    await t.run(['dag-processor', '--once']); // exits 1: the pass recorded an import error

    const errors = await t.run(['-o', 'json', 'dags', 'list-import-errors']);
    const list = JSON.parse(errors.stdout) as Array<{ file: string; error: string }>;
    assert.deepEqual(list.map((e) => e.file), [later]);
    assert.match(list[0]?.error ?? '', new RegExp(`DAG id 'shared' is already defined in ${first.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    const table = await t.run(['dags', 'list-import-errors']);
    assert.match(table.stdout, /already defined in/);
    assert.equal((await getDag(t.db, 'shared')).fileloc, first);
    assert.deepEqual((await getSerializedDag(t.db, 'shared')).tasks.map((x) => x.taskId), ['from_first']);
    await assert.rejects(getDag(t.db, 'later_only'), /not known/, 'the refused file stores none of its DAGs');

    // Editing the later file does not take the DAG over.
    writeFileSync(later, dagFile('shared', 'from_later_edited'));
    utimesSync(later, new Date(), new Date(Date.now() + 5_000));
    await t.run(['dag-processor', '--once']);
    assert.equal((await getDag(t.db, 'shared')).fileloc, first);

    // Once the first file no longer defines it, the later file owns it and its error is gone.
    writeFileSync(first, dagFile('renamed', 'from_first'));
    utimesSync(first, new Date(), new Date(Date.now() + 10_000));
    await t.run(['dag-processor', '--once']);
    await t.run(['dag-processor', '--once']);
    assert.equal((await getDag(t.db, 'shared')).fileloc, later);
    assert.deepEqual((await getSerializedDag(t.db, 'shared')).tasks.map((x) => x.taskId), ['from_later_edited']);
    assert.deepEqual(JSON.parse((await t.run(['-o', 'json', 'dags', 'list-import-errors'])).stdout), []);
  });
});
