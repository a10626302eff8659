/**
 * /api/v2/importErrors with the typed client, from real broken DAG files parsed by the DAG processor: file,
 * line and message; Viewer may read; filtered by file and ordered; a role limited to some DAGs sees only
 * the errors of files that define one of its DAGs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiV2Client } from '../../../../src/api/public/v2/client/index.ts';
import { startTestEngine, type TestEngine } from '../../../support/engine.ts';
import { roleClients, type RoleClients } from './support.ts';

const GOOD = `import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'fine', schedule: null }, () => { new BashOperator({ taskId: 't', bashCommand: 'true' }); });
`;

describe('API v2 import errors', () => {
  let t: TestEngine;
  let as: RoleClients;
  before(async () => {
    t = await startTestEngine({
      dags: {
        'a_throws.ts': `import { dag } from 'capstan';\n\nthrow new Error('the config service is down');\n`,
        'b_syntax.ts': `const a: number = 1;\nconst b = ;\n`,
        'c_good.ts': GOOD,
      },
      triggerer: false,
    });
    as = await roleClients(t);
  });
  after(() => t.stop());

  test('each broken file is listed with its line and message; Viewer may read', async () => {
    const r = await as.Viewer.call('get', '/importErrors', {});
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.data?.importErrors.map((e) => [e.filename.replace(t.dagsFolder, ''), e.line]),
      [
        ['/a_throws.ts', 3],
        ['/b_syntax.ts', 2],
      ],
    );
    assert.match(r.data?.importErrors[0]?.stackTrace ?? '', /the config service is down/);
    const filtered = await as.Viewer.call('get', '/importErrors', { query: { filenamePattern: 'SYNTAX', orderBy: '-timestamp' } });
    assert.deepEqual(filtered.data?.importErrors.map((e) => e.line), [2]);
    assert.equal((await as.Viewer.call('get', '/importErrors', { query: { orderBy: 'line' as never } })).status, 400);
  });

  test('fixing a file clears its error; a role limited to some DAGs sees errors of its files only', async () => {
    t.writeDag('b_syntax.ts', GOOD.replace("'fine'", "'fixed'"));
    await t.processor.processOnce();
    assert.deepEqual((await as.Viewer.call('get', '/importErrors', {})).data?.importErrors.map((e) => e.line), [3]);
    // Break the file that defines 'fixed' again: it keeps its DAG, so its error belongs to that DAG's viewers.
    t.writeDag('b_syntax.ts', `${GOOD.replace("'fine'", "'fixed'")}\nthrow new Error('broken again');\n`);
    await t.processor.processOnce();
    await t.engine.auth.createRole({ name: 'fixed_team', baseRole: 'Viewer', dagIds: ['fixed'] });
    const user = await t.engine.auth.createUser({ username: 'fixer', password: 'fixer-password-12', role: 'fixed_team' });
    const { token } = await t.engine.auth.createApiToken(await t.engine.auth.principalFor(user), { name: 't' });
    const seen = await apiV2Client({ baseUrl: t.api.url, token }).call('get', '/importErrors', {});
    assert.deepEqual(
      seen.data?.importErrors.map((e) => [e.filename.replace(t.dagsFolder, ''), e.line]),
      [['/b_syntax.ts', 4]],
    );
    assert.equal((await as.Viewer.call('get', '/importErrors', {})).data?.totalEntries, 2);
  });
});
