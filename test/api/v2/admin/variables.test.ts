/**
 * /api/v2/variables with the typed client: Op-only CRUD, secret-named keys (the same rule that encrypts
 * them) answered as ***, secret-named fields of JSON values masked, *** sent back keeping the stored value,
 * 409 on a taken key, lists paged and filtered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestEngine, type TestEngine } from '../../../support/engine.ts';
import { roleClients, type RoleClients } from './support.ts';

describe('API v2 variables', () => {
  let t: TestEngine;
  let as: RoleClients;
  before(async () => {
    t = await startTestEngine({ triggerer: false });
    as = await roleClients(t);
  });
  after(() => t.stop());

  test('Viewer and User may not touch variables; Op may', async () => {
    for (const role of ['Viewer', 'User'] as const) {
      assert.equal((await as[role].call('get', '/variables', {})).status, 403);
      assert.equal((await as[role].call('post', '/variables', { body: { key: 'k', value: 'v' } })).status, 403);
    }
    const created = await as.Op.call('post', '/variables', { body: { key: 's3_bucket', value: 'exports', description: 'where exports go' } });
    assert.equal(created.status, 201);
    assert.deepEqual([created.data?.key, created.data?.value, created.data?.description, created.data?.isEncrypted], ['s3_bucket', 'exports', 'where exports go', false]);
    const dup = await as.Op.call('post', '/variables', { body: { key: 's3_bucket', value: 'other' } });
    assert.deepEqual([dup.status, dup.error?.error.code], [409, 'conflict']);
    assert.equal(await t.engine.secrets.getVariable('s3_bucket'), 'exports');
  });

  test('a secret-named key is answered as *** and stored encrypted; JSON values have secret fields masked', async () => {
    const secret = await as.Op.call('post', '/variables', { body: { key: 'slack_api_key', value: 'xoxb-123456789' } });
    assert.deepEqual([secret.data?.value, secret.data?.isEncrypted], ['***', true]);
    const json = await as.Op.call('post', '/variables', { body: { key: 'service_cfg', value: JSON.stringify({ url: 'https://x', password: 'hunter22', nested: { token: 'plain' } }) } });
    assert.deepEqual(JSON.parse(json.data?.value ?? 'null'), { url: 'https://x', password: '***', nested: { token: 'plain' } });
    const text = await (await t.apiFetch('/api/v2/variables')).text();
    for (const s of ['xoxb-123456789', 'hunter22']) assert.ok(!text.includes(s), `${s} leaked`);
    assert.equal(await t.engine.secrets.getVariable('slack_api_key'), 'xoxb-123456789');
    const row = await t.engine.db.db.selectFrom('variable').select('value').where('key', '=', 'slack_api_key').executeTakeFirstOrThrow();
    assert.ok(!row.value.includes('xoxb'), 'encrypted at rest');
  });

  test('patch: *** keeps a secret value, a new value replaces it, description alone keeps the value', async () => {
    const kept = await as.Op.call('patch', '/variables/{variableKey}', { path: { variableKey: 'slack_api_key' }, body: { value: '***', description: 'bot token' } });
    assert.deepEqual([kept.status, kept.data?.description], [200, 'bot token']);
    assert.equal(await t.engine.secrets.getVariable('slack_api_key'), 'xoxb-123456789');
    await as.Op.call('patch', '/variables/{variableKey}', { path: { variableKey: 'slack_api_key' }, body: { value: 'xoxb-new-0000' } });
    assert.equal(await t.engine.secrets.getVariable('slack_api_key'), 'xoxb-new-0000');
    await as.Op.call('patch', '/variables/{variableKey}', { path: { variableKey: 's3_bucket' }, body: { description: null } });
    const got = await as.Op.call('get', '/variables/{variableKey}', { path: { variableKey: 's3_bucket' } });
    assert.deepEqual([got.data?.value, got.data?.description], ['exports', null]);
    const bad = await as.Op.call('patch', '/variables/{variableKey}', { path: { variableKey: 's3_bucket' }, body: { value: 3 as never } });
    assert.deepEqual([bad.status, bad.error?.error.field], [400, 'value']);
    assert.equal((await as.Op.call('patch', '/variables/{variableKey}', { path: { variableKey: 'missing' }, body: { value: 'x' } })).status, 404);
  });

  test('keys with dots and slashes work in the path; list pages, orders and filters; delete', async () => {
    const key = 'team.etl/bucket';
    assert.equal((await as.Op.call('post', '/variables', { body: { key, value: 'v1' } })).status, 201);
    assert.equal((await as.Op.call('get', '/variables/{variableKey}', { path: { variableKey: key } })).data?.value, 'v1');
    const page = await as.Op.call('get', '/variables', { query: { orderBy: '-key', limit: 2 } });
    assert.deepEqual([page.data?.variables.map((v) => v.key), page.data?.totalEntries], [['team.etl/bucket', 'slack_api_key'], 4]);
    assert.deepEqual((await as.Op.call('get', '/variables', { query: { variableKeyPattern: 'ETL/' } })).data?.variables.map((v) => v.key), [key]);
    assert.equal((await as.Op.call('delete', '/variables/{variableKey}', { path: { variableKey: key } })).status, 200);
    assert.equal((await as.Op.call('get', '/variables/{variableKey}', { path: { variableKey: key } })).status, 404);
    const audit = await t.engine.db.db.selectFrom('audit_log').select('event').where('event', 'like', 'variable.%').execute();
    assert.deepEqual([...new Set(audit.map((a) => a.event))].sort(), ['variable.create', 'variable.delete', 'variable.patch']);
  });
});

