/**
 * API v2 DAG runs, task instances, logs, live streams and views through the generated client against a real
 * engine (LocalExecutor, real task processes): trigger with conf checked against params (400 naming
 * `conf.n`), idempotent retry by run id, filters across DAGs with `~`, patch/delete/clear with dry runs,
 * mapped instances, try history, "why is it not running", rendered fields, byte-range logs with tokens and
 * tail, a followed log and the state stream over SSE, the grid in full and incrementally, and the graph.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiV2Client, type ApiV2Client } from '../../../src/api/public/v2/client/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { waitFor } from '../../support/processes.ts';
import { openSse } from '../../support/sse.ts';

const FLOW = `
import { dag, BashOperator, task } from 'capstan';
const nums = task({ taskId: 'nums' }, () => [1, 2, 3]);
const double = task({ taskId: 'double' }, (p: { x: number }) => p.x * 2);
export default dag({ dagId: 'v2_flow', schedule: null, params: { n: { type: 'integer', minimum: 0 } } }, () => {
  const extract = new BashOperator({ taskId: 'extract', bashCommand: 'for i in 1 2 3; do echo "line $i é"; done' });
  const load = new BashOperator({ taskId: 'load.users', bashCommand: 'echo "n={{ params.n }}"' });
  extract.before(load);
  double.expand({ x: nums() });
});
`;

const SLOW = `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'v2_slow', schedule: null }, () => {
  const wait = new BashOperator({ taskId: 'wait', bashCommand: 'echo started; sleep 3; echo finished' });
  const next = new BashOperator({ taskId: 'after', bashCommand: 'echo after' });
  wait.before(next);
});
`;

describe('API v2 DAG runs and task instances', () => {
  let t: TestEngine;
  let api: ApiV2Client;
  const auth = () => ({ authorization: `Bearer ${t.adminToken}` });
  before(async () => {
    t = await startTestEngine({ triggerer: false, dags: { 'flow.ts': FLOW, 'slow.ts': SLOW } });
    api = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
  });
  after(async () => {
    await t.stop();
  });

  test('trigger: conf checked against params with the field named; a retry with the same run id answers the same run', async () => {
    const missing = await api.call('post', '/dags/{dagId}/dagRuns', { path: { dagId: 'v2_flow' }, body: {} });
    assert.equal(missing.status, 400);
    assert.equal(missing.error?.error.field, 'conf.n');
    const bad = await api.call('post', '/dags/{dagId}/dagRuns', { path: { dagId: 'v2_flow' }, body: { conf: { n: -1 } } });
    assert.equal(bad.error?.error.field, 'conf.n');
    const badId = await api.call('post', '/dags/{dagId}/dagRuns', { path: { dagId: 'v2_flow' }, body: { dagRunId: 'r$(id)', conf: { n: 1 } } });
    assert.equal(badId.error?.error.field, 'dagRunId');
    const body = { dagRunId: 'r1', conf: { n: 7 }, note: 'first', logicalDate: '2026-03-01T00:00:00Z' };
    const first = await api.call('post', '/dags/{dagId}/dagRuns', { path: { dagId: 'v2_flow' }, body });
    assert.equal(first.status, 201, JSON.stringify(first.error));
    assert.deepEqual([first.data?.dagRunId, first.data?.runType, first.data?.note, first.data?.logicalDate], ['r1', 'manual', 'first', '2026-03-01T00:00:00.000Z']);
    const retry = await api.call('post', '/dags/{dagId}/dagRuns', { path: { dagId: 'v2_flow' }, body });
    assert.equal(retry.status, 200);
    assert.equal(retry.data?.dagRunId, 'r1');
    const clash = await api.call('post', '/dags/{dagId}/dagRuns', { path: { dagId: 'v2_flow' }, body: { ...body, conf: { n: 8 } } });
    assert.equal(clash.status, 409);
    const run = await t.waitForRun('v2_flow', 'r1');
    assert.equal(run.state, 'success', JSON.stringify(await t.taskStates('v2_flow', 'r1')));
  });

  test('runs: per DAG and across DAGs with ~, state and date filters, orderBy', async () => {
    const other = await t.trigger('v2_slow', { runId: 's1' });
    await t.waitForRun('v2_slow', other.run_id);
    const across = await api.call('get', '/dags/{dagId}/dagRuns', { path: { dagId: '~' }, query: { orderBy: 'dagId' } });
    assert.deepEqual(across.data?.dagRuns.map((r) => `${r.dagId}/${r.dagRunId}`), ['v2_flow/r1', 'v2_slow/s1']);
    assert.equal(across.data?.totalEntries, 2);
    const one = await api.call('get', '/dags/{dagId}/dagRuns', { path: { dagId: 'v2_flow' }, query: { state: ['success'], logicalDateGte: '2026-02-01T00:00:00Z', logicalDateLte: '2026-03-02T00:00:00Z' } });
    assert.deepEqual(one.data?.dagRuns.map((r) => r.dagRunId), ['r1']);
    const none = await api.call('get', '/dags/{dagId}/dagRuns', { path: { dagId: 'v2_flow' }, query: { state: ['failed'] } });
    assert.equal(none.data?.totalEntries, 0);
    assert.equal((await api.call('get', '/dags/{dagId}/dagRuns', { path: { dagId: 'nope' } })).status, 404);
  });

  test('task instances: per run, across runs, filters; mapped indexes; one instance; tries; rendered fields', async () => {
    const tis = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances', { path: { dagId: 'v2_flow', dagRunId: 'r1' }, query: { orderBy: 'taskId', limit: 100 } });
    assert.deepEqual(
      tis.data?.taskInstances.map((x) => `${x.taskId}[${x.mapIndex}]=${x.state}`),
      ['double[0]=success', 'double[1]=success', 'double[2]=success', 'extract[-1]=success', 'load.users[-1]=success', 'nums[-1]=success'],
    );
    const bash = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances', { path: { dagId: '~', dagRunId: '~' }, query: { operator: ['BashOperator'], orderBy: 'taskId' } });
    assert.deepEqual(bash.data?.taskInstances.map((x) => `${x.dagId}.${x.taskId}`), ['v2_slow.after', 'v2_flow.extract', 'v2_flow.load.users', 'v2_slow.wait'].sort((a, b) => a.split('.').slice(1).join('.').localeCompare(b.split('.').slice(1).join('.'))));
    const mapped = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/listMapped', { path: { dagId: 'v2_flow', dagRunId: 'r1', taskId: 'double' } });
    assert.deepEqual(mapped.data?.taskInstances.map((x) => x.mapIndex), [0, 1, 2]);
    const idx = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}', { path: { dagId: 'v2_flow', dagRunId: 'r1', taskId: 'double' }, query: { mapIndex: 2 } });
    assert.deepEqual([idx.data?.mapIndex, idx.data?.state, idx.data?.logicalDate], [2, 'success', '2026-03-01T00:00:00.000Z']);
    const tries = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries', { path: { dagId: 'v2_flow', dagRunId: 'r1', taskId: 'extract' } });
    assert.deepEqual(tries.data?.taskInstances.map((x) => [x.tryNumber, x.state, x.executor]), [[1, 'success', 'LocalExecutor']]);
    const rendered = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/renderedFields', { path: { dagId: 'v2_flow', dagRunId: 'r1', taskId: 'load.users' } });
    assert.equal(rendered.data?.renderedFields['bashCommand'], 'echo "n=7"');
    const batch = await api.call('post', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/list', { path: { dagId: '~', dagRunId: '~' }, body: { dagIds: ['v2_flow'], taskIds: ['extract', 'nums'], orderBy: 'taskId' } });
    assert.deepEqual(batch.data?.taskInstances.map((x) => x.taskId), ['extract', 'nums']);
  });

  test('logs: byte ranges with continuation tokens, tail from a whole line, UTF-8 kept whole', async () => {
    const path = { dagId: 'v2_flow', dagRunId: 'r1', taskId: 'extract', tryNumber: 1 };
    const whole = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}', { path });
    assert.equal(whole.status, 200, JSON.stringify(whole.error));
    assert.match(whole.data?.content ?? '', /line 1 é[\s\S]*line 3 é/);
    assert.equal(whole.data?.ended, true);
    assert.equal(whole.data?.continuationToken, null);
    // Read it again 7 bytes at a time with tokens: the pieces make the whole.
    let text = '';
    let token: string | undefined;
    for (let i = 0; i < 10_000; i++) {
      const part = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}', { path, query: { maxBytes: 7, ...(token ? { token } : {}) } });
      assert.equal(part.status, 200);
      text += part.data?.content ?? '';
      if (part.data?.continuationToken === null || part.data === undefined) break;
      token = part.data.continuationToken;
    }
    assert.equal(text, whole.data?.content);
    const tail = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}', { path, query: { tailBytes: 40 } });
    assert.ok(tail.data && tail.data.fromByte > 0 && whole.data?.content.endsWith(tail.data.content), JSON.stringify(tail.data));
    const range = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}', { path, query: { fromByte: 0, toByte: tail.data.fromByte } });
    assert.equal((range.data?.content ?? '') + tail.data.content, whole.data?.content);
    const badToken = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}', { path, query: { token: 'nope' } });
    assert.equal(badToken.error?.error.field, 'token');
    assert.equal((await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}', { path: { ...path, tryNumber: 2 } })).status, 404);
  });

  test('live: the state stream and a followed log of a running try; "why not running" names the running upstream', async () => {
    const events = await openSse(`${t.api.url}/api/v2/dags/v2_slow/events`, auth());
    assert.equal(events.status, 200);
    assert.match(events.contentType ?? '', /text\/event-stream/);
    await events.next((e) => e.event === 'ready');
    const run = await api.call('post', '/dags/{dagId}/dagRuns', { path: { dagId: 'v2_slow' }, body: { dagRunId: 'live1' } });
    assert.equal(run.status, 201);
    await events.next((e) => e.event === 'taskInstance' && JSON.parse(e.data).taskId === 'wait' && JSON.parse(e.data).state === 'running');
    const deps = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/dependencies', { path: { dagId: 'v2_slow', dagRunId: 'live1', taskId: 'after' } });
    assert.equal(deps.data?.state, 'none');
    assert.deepEqual(deps.data?.dependencies.map((x) => x.code), ['upstream']);
    assert.match(deps.data?.dependencies[0]?.message ?? '', /upstream 'wait' is running/);
    const running = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/dependencies', { path: { dagId: 'v2_slow', dagRunId: 'live1', taskId: 'wait' } });
    assert.deepEqual(running.data?.dependencies.map((x) => x.code), ['running']);
    const log = await openSse(`${t.api.url}/api/v2/dags/v2_slow/dagRuns/live1/taskInstances/wait/logs/1/stream`, auth());
    assert.equal(log.status, 200);
    await log.next((e) => e.event === 'log' && e.data.includes('started'));
    await log.next((e) => e.event === 'end');
    const followed = log.events.filter((e) => e.event === 'log').map((e) => (JSON.parse(e.data) as { content: string }).content).join('');
    assert.match(followed, /started[\s\S]*finished/);
    await log.ended;
    await events.next((e) => e.event === 'dagRun' && JSON.parse(e.data).dagRunId === 'live1' && JSON.parse(e.data).state === 'success', 30_000);
    // Notes reach open pages the same way: the run's and the task instance's, then the task note removed.
    const path = { dagId: 'v2_slow', dagRunId: 'live1' };
    assert.equal((await api.call('patch', '/dags/{dagId}/dagRuns/{dagRunId}', { path, body: { note: 'run looked at' } })).status, 200);
    await events.next((e) => e.event === 'dagRun' && JSON.parse(e.data).dagRunId === 'live1' && JSON.parse(e.data).note === 'run looked at' && JSON.parse(e.data).state === 'success');
    const tiNote = (note: string | null) => api.call('patch', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/note', { path: { ...path, taskId: 'wait' }, body: { note } });
    assert.equal((await tiNote('slow on purpose')).status, 200);
    await events.next((e) => e.event === 'taskInstance' && JSON.parse(e.data).taskId === 'wait' && JSON.parse(e.data).note === 'slow on purpose' && JSON.parse(e.data).state === 'success');
    const seen = events.events.length;
    assert.equal((await tiNote(null)).status, 200);
    await events.next((e) => events.events.indexOf(e) >= seen && e.event === 'taskInstance' && JSON.parse(e.data).taskId === 'wait' && JSON.parse(e.data).note === null);
    events.close();
  });

  test('grid: full answer with mapped summaries, then only what changed; graph with groups and one run’s states', async () => {
    const full = await api.call('get', '/dags/{dagId}/grid', { path: { dagId: 'v2_flow' } });
    assert.equal(full.status, 200);
    const tasks = full.data?.tasks?.map((x) => x.taskId) ?? [];
    assert.deepEqual([...tasks].sort(), ['double', 'extract', 'load.users', 'nums']);
    assert.deepEqual(full.data?.states?.['r1'], tasks.map(() => 'success'));
    assert.deepEqual(full.data?.mapped?.['r1']?.['double'], { total: 3, states: { success: 3 } });
    const cursor = full.data?.cursor ?? 0;
    const same = await api.call('get', '/dags/{dagId}/grid', { path: { dagId: 'v2_flow' }, headers: { 'if-none-match': full.response.headers.get('etag') ?? '' } });
    assert.equal(same.status, 304);
    const r2 = await api.call('post', '/dags/{dagId}/dagRuns', { path: { dagId: 'v2_flow' }, body: { dagRunId: 'r2', conf: { n: 1 } } });
    assert.equal(r2.status, 201);
    await t.waitForRun('v2_flow', 'r2');
    const inc = await api.call('get', '/dags/{dagId}/grid', { path: { dagId: 'v2_flow' }, query: { changedSince: cursor + 2500 } });
    assert.equal(inc.data?.incremental, true);
    assert.equal(inc.data?.tasks, undefined);
    assert.ok(inc.data?.dagRuns.some((r) => r.dagRunId === 'r2'));
    const r2cells = inc.data?.changes?.filter((x) => x.dagRunId === 'r2') ?? [];
    assert.deepEqual(r2cells.map((x) => `${x.taskId}=${x.state}`).sort(), ['double=success', 'extract=success', 'load.users=success', 'nums=success']);
    assert.deepEqual(r2cells.find((x) => x.taskId === 'double')?.mapped, { total: 3, states: { success: 3 } });
    assert.ok((inc.data?.cursor ?? 0) >= cursor);
    const graph = await api.call('get', '/dags/{dagId}/graph', { path: { dagId: 'v2_flow' }, query: { dagRunId: 'r1' } });
    assert.deepEqual(graph.data?.edges.map((e) => `${e.sourceId}>${e.targetId}`).sort(), ['extract>load.users', 'nums>double']);
    assert.deepEqual(graph.data?.groups, [{ id: 'load', label: 'load', parent: null, children: ['load.users'] }]);
    const load = graph.data?.nodes.find((n) => n.id === 'load.users');
    assert.deepEqual([load?.label, load?.group, load?.state], ['users', 'load', 'success']);
    assert.equal(graph.data?.nodes.find((n) => n.id === 'double')?.isMapped, true);
  });

  test('mark with a dry run, then for real; clear a run with a dry run; patch note and state; delete', async () => {
    const path = { dagId: 'v2_flow', dagRunId: 'r1', taskId: 'extract' };
    const dry = await api.call('patch', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}', { path, body: { newState: 'failed', includeDownstream: true, dryRun: true } });
    assert.equal(dry.status, 200, JSON.stringify(dry.error));
    assert.deepEqual(dry.data?.taskInstances.map((x) => x.taskId).sort(), ['extract', 'load.users']);
    assert.equal((await t.taskStates('v2_flow', 'r1'))['extract'], 'success');
    const real = await api.call('patch', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}', { path, body: { newState: 'failed' } });
    assert.equal(real.data?.dryRun, false);
    assert.equal((await t.taskStates('v2_flow', 'r1'))['extract'], 'failed');
    const clearDry = await api.call('post', '/dags/{dagId}/dagRuns/{dagRunId}/clear', { path: { dagId: 'v2_flow', dagRunId: 'r1' }, body: { onlyFailed: true } });
    assert.equal(clearDry.data?.dryRun, true);
    assert.deepEqual(clearDry.data?.taskInstances.map((x) => x.taskId), ['extract']);
    const cleared = await api.call('post', '/dags/{dagId}/clearTaskInstances', { path: { dagId: 'v2_flow' }, body: { dryRun: false, dagRunId: 'r1', taskIds: ['extract'] } });
    assert.deepEqual(cleared.data?.taskInstances.map((x) => x.taskId), ['extract']);
    await waitFor(async () => (await t.taskStates('v2_flow', 'r1'))['extract'] === 'success', 'cleared task reruns', 30_000);
    await t.waitForRun('v2_flow', 'r1');
    const tries = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries', { path });
    assert.deepEqual(tries.data?.taskInstances.map((x) => x.tryNumber), [1, 2]);
    const noted = await api.call('patch', '/dags/{dagId}/dagRuns/{dagRunId}', { path: { dagId: 'v2_flow', dagRunId: 'r1' }, body: { note: 'checked' } });
    assert.equal(noted.data?.note, 'checked');
    const failed = await api.call('patch', '/dags/{dagId}/dagRuns/{dagRunId}', { path: { dagId: 'v2_flow', dagRunId: 'r2' }, body: { state: 'failed' } });
    assert.equal(failed.data?.state, 'failed');
    const del = await api.call('delete', '/dags/{dagId}/dagRuns/{dagRunId}', { path: { dagId: 'v2_flow', dagRunId: 'r2' } });
    assert.equal(del.status, 200);
    assert.equal((await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}', { path: { dagId: 'v2_flow', dagRunId: 'r2' } })).status, 404);
  });

  test('roles: a Viewer reads runs, task instances and logs but may not trigger, mark, clear or delete', async () => {
    const viewer = await t.engine.auth.createUser({ username: 'v2_runs_viewer', password: 'viewer-password', role: 'Viewer' });
    const v = apiV2Client({ baseUrl: t.api.url, token: (await t.engine.auth.createApiToken(await t.engine.auth.principalFor(viewer), { name: 'v' })).token });
    const path = { dagId: 'v2_flow', dagRunId: 'r1' };
    assert.equal((await v.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances', { path })).status, 200);
    assert.equal((await v.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}', { path: { ...path, taskId: 'extract', tryNumber: 1 } })).status, 200);
    assert.equal((await v.call('post', '/dags/{dagId}/dagRuns', { path: { dagId: 'v2_flow' }, body: { conf: { n: 1 } } })).status, 403);
    assert.equal((await v.call('patch', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}', { path: { ...path, taskId: 'extract' }, body: { newState: 'failed' } })).status, 403);
    assert.equal((await v.call('post', '/dags/{dagId}/dagRuns/{dagRunId}/clear', { path, body: { dryRun: false } })).status, 403);
    assert.equal((await v.call('delete', '/dags/{dagId}/dagRuns/{dagRunId}', { path })).status, 403);
  });
});
