/**
 * API v2 DAG warnings through the generated client: the DAG processor's authoring warnings of pod tasks, listed
 * across DAGs, filtered by DAG and warning type, paged, checked (a bad warningType is a 400 naming it), and hidden
 * outside a custom role's DAGs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiV2Client, type ApiV2Client } from '../../../src/api/public/v2/client/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const podDag = (dagId: string, tags: string[], podArgs: string) => `
import { dag, KubernetesPodOperator } from 'capstan';
export default dag({ dagId: '${dagId}', schedule: null, tags: ${JSON.stringify(tags)} }, () => {
  new KubernetesPodOperator({ taskId: 'pod', ${podArgs} });
});
`;

describe('API v2 DAG warnings', () => {
  let t: TestEngine;
  let api: ApiV2Client;
  before(async () => {
    t = await startTestEngine({
      triggerer: false,
      dags: {
        'careless.ts': podDag('careless', ['team-a'], "image: 'busybox'"),
        'half.ts': podDag('half', ['team-b'], "image: 'busybox:latest'"),
        'careful.ts': podDag('careful', ['team-a'], "image: 'busybox:1.36', containerResources: { requests: { cpu: '50m' } }"),
      },
    });
    api = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
  });
  after(async () => {
    await t.stop();
  });

  test('listed, filtered, paged and checked; a custom role sees only its DAGs', async () => {
    const all = await api.call('get', '/dagWarnings', {});
    assert.equal(all.status, 200);
    assert.deepEqual(all.data?.dagWarnings.map((w) => [w.dagId, w.taskId, w.warningType]), [
      ['careless', 'pod', 'latest-image-without-pull-policy'],
      ['careless', 'pod', 'pod-without-resource-requests'],
      ['half', 'pod', 'latest-image-without-pull-policy'],
      ['half', 'pod', 'pod-without-resource-requests'],
    ]);
    assert.equal(all.data?.totalEntries, 4);
    assert.match(all.data?.dagWarnings[0]?.message ?? '', /imagePullPolicy/);
    const typed = await api.call('get', '/dagWarnings', { query: { warningType: 'pod-without-resource-requests', limit: 1, offset: 1 } });
    assert.deepEqual([typed.data?.dagWarnings.map((w) => w.dagId), typed.data?.totalEntries], [['half'], 2]);
    assert.deepEqual((await api.call('get', '/dagWarnings', { query: { dagId: 'careful' } })).data, { dagWarnings: [], totalEntries: 0 });
    const bad = await api.call('get', '/dagWarnings', { query: { warningType: 'Not A Code' } });
    assert.equal(bad.status, 400);
    assert.equal((bad.error as { error?: { field?: string } } | undefined)?.error?.field, 'warningType');

    await t.engine.auth.createRole({ name: 'team-a', baseRole: 'Viewer', dagTags: ['team-a'] });
    const alice = await t.engine.auth.createUser({ username: 'warn_alice', password: 'alice-password', role: 'team-a' });
    const aapi = apiV2Client({ baseUrl: t.api.url, token: (await t.engine.auth.createApiToken(await t.engine.auth.principalFor(alice), { name: 'a' })).token });
    assert.deepEqual((await aapi.call('get', '/dagWarnings', {})).data?.dagWarnings.map((w) => w.dagId), ['careless', 'careless']);
    assert.deepEqual((await aapi.call('get', '/dagWarnings', { query: { dagId: 'half' } })).data?.totalEntries, 0);
  });
});
