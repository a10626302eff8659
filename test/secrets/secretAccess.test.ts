/** A DAG's `secretAccess` declaration: validated when the DAG is defined, serialized only when present, matched by glob. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secretAccessAllows } from '../../src/secrets/index.ts';
import { dag } from '../../src/sdk/index.ts';

test('globs per kind; a kind left out is unrestricted; [] allows none; no declaration allows all', () => {
  const access = { variables: ['report_*', 'exact'], connections: [] };
  assert.equal(secretAccessAllows(access, 'variables', 'report_bucket'), true);
  assert.equal(secretAccessAllows(access, 'variables', 'exact'), true);
  assert.equal(secretAccessAllows(access, 'variables', 'exactly'), false);
  assert.equal(secretAccessAllows(access, 'variables', 'x.report_1'), false, 'globs are anchored');
  assert.equal(secretAccessAllows(access, 'connections', 'warehouse'), false);
  assert.equal(secretAccessAllows({ variables: ['a.b'] }, 'variables', 'aXb'), false, 'a dot is literal');
  assert.equal(secretAccessAllows({ variables: [] }, 'connections', 'warehouse'), true);
  assert.equal(secretAccessAllows(undefined, 'variables', 'anything'), true);
});

test('dag({ secretAccess }) is validated and serialized only when given', () => {
  const limited = dag({ dagId: 'sa_limited', schedule: null, secretAccess: { variables: ['report_*'] } }, () => {});
  assert.deepEqual(limited.serialize('/dags/sa.ts').secretAccess, { variables: ['report_*'] });
  const open = dag({ dagId: 'sa_open', schedule: null }, () => {});
  assert.equal('secretAccess' in open.serialize('/dags/sa.ts'), false);
  assert.throws(() => dag({ dagId: 'sa_bad', schedule: null, secretAccess: { variables: 'report_*' as unknown as string[] } }, () => {}), /secretAccess\.variables must be a list/);
  assert.throws(() => dag({ dagId: 'sa_bad2', schedule: null, secretAccess: { connections: [''] } }, () => {}), /secretAccess\.connections must be a list/);
});
