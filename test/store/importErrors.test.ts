import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImportErrorStore } from '../../src/store/importErrors.ts';
import { forEachDialect } from '../support/dialects.ts';

forEachDialect('import errors', (t) => {
  const errors = () => new ImportErrorStore(t.db);

  void test('record stores one error per file; recording again replaces it', async () => {
    await errors().record('/dags/b.ts', 'SyntaxError: x', 10);
    await errors().record('/dags/a.ts', 'TypeError: y', 20);
    await errors().record('/dags/b.ts', 'ReferenceError: z', 30);
    const all = (await errors().list()).map((e) => ({ ...e }));
    assert.deepEqual(all, [
      { fileloc: '/dags/a.ts', message: 'TypeError: y', timestamp: 20, line: null },
      { fileloc: '/dags/b.ts', message: 'ReferenceError: z', timestamp: 30, line: null },
    ]);
    assert.deepEqual((await errors().list({ fileloc: '/dags/b.ts' })).map((e) => e.message), ['ReferenceError: z']);
  });

  void test('clear removes one file and reports whether there was an error', async () => {
    assert.equal(await errors().clear('/dags/a.ts'), true);
    assert.equal(await errors().clear('/dags/a.ts'), false);
    assert.deepEqual((await errors().list()).map((e) => e.fileloc), ['/dags/b.ts']);
  });

  void test('clearAllExcept keeps only the listed files; an empty list clears all', async () => {
    await errors().record('/dags/c.ts', 'e', 1);
    await errors().record('/dags/d.ts', 'e', 1);
    assert.equal(await errors().clearAllExcept(['/dags/c.ts', '/dags/gone.ts']), 2);
    assert.deepEqual((await errors().list()).map((e) => e.fileloc), ['/dags/c.ts']);
    assert.equal(await errors().clearAllExcept([]), 1);
    assert.deepEqual(await errors().list(), []);
  });
});
