/**
 * API v2 try history against a real engine (LocalExecutor, real task processes): a task fails, is cleared
 * through the API and succeeds on its rerun; the tries list keeps both tries and the state history lists
 * every move of both, with actors, the failure kind and the clear, paged and filtered by try.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiV2Client, type ApiV2Client } from '../../../src/api/public/v2/client/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const marker = join(mkdtempSync(join(tmpdir(), 'capstan-tries-')), 'second-try');
const FLAKY = `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'flaky_once', schedule: null }, () => {
  new BashOperator({ taskId: 'flaky', bashCommand: 'if [ -f ${marker} ]; then echo ok; else touch ${marker}; echo boom; exit 3; fi' });
});
`;

describe('API v2 try history', () => {
  let t: TestEngine;
  let api: ApiV2Client;
  const path = { dagId: 'flaky_once', dagRunId: 'r1', taskId: 'flaky' };
  before(async () => {
    t = await startTestEngine({ triggerer: false, dags: { 'flaky.ts': FLAKY } });
    api = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
    await t.trigger('flaky_once', { runId: 'r1' });
    assert.equal((await t.waitForRun('flaky_once', 'r1')).state, 'failed');
    const cleared = await api.call('post', '/dags/{dagId}/clearTaskInstances', { path: { dagId: 'flaky_once' }, body: { dryRun: false, dagRunId: 'r1' } });
    assert.equal(cleared.status, 200, JSON.stringify(cleared.error));
    assert.equal((await t.waitForRun('flaky_once', 'r1')).state, 'success', JSON.stringify(await t.taskStates('flaky_once', 'r1')));
  });
  after(async () => {
    await t.stop();
  });

  test('tries: both tries after a clear, the failed one with its failure kind and reason, paged', async () => {
    const { status, data, error } = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries', { path });
    assert.equal(status, 200, JSON.stringify(error));
    assert.equal(data?.totalEntries, 2);
    const [first, second] = data?.taskInstances ?? [];
    assert.deepEqual([first?.tryNumber, first?.state, first?.failureKind], [1, 'failed', 'exception']);
    assert.match(first?.failureReason ?? '', /\b3\b/);
    assert.deepEqual([second?.tryNumber, second?.state, second?.failureKind, second?.failureReason], [2, 'success', null, null]);
    const page = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries', { path, query: { limit: 1, offset: 1 } });
    assert.deepEqual([page.data?.taskInstances.map((x) => x.tryNumber), page.data?.totalEntries], [[2], 2]);
  });

  test('state history: every move of both tries, oldest first, with actors, the failure kind and the clear', async () => {
    const { status, data, error } = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/stateHistory', { path });
    assert.equal(status, 200, JSON.stringify(error));
    const moves = data?.stateMoves ?? [];
    assert.equal(data?.totalEntries, moves.length);
    const line = (m: (typeof moves)[number]) => `${m.tryNumber}:${m.fromState}>${m.toState}`;
    const lines = moves.map(line);
    // Try 1 runs and fails; the clear moves it back to none; try 2 runs and succeeds.
    const failed = lines.indexOf('1:running>failed');
    const clear = lines.findIndex((l, i) => i > failed && l.endsWith('failed>none'));
    const succeeded = lines.indexOf('2:running>success');
    assert.ok(failed >= 0 && clear > failed && succeeded > clear, lines.join(' '));
    assert.ok(lines.includes('1:queued>running') && lines.includes('2:queued>running'), lines.join(' '));
    assert.equal(moves[failed]?.failureKind, 'exception');
    assert.match(moves[clear]?.actor ?? '', /^admin\b/);
    const ats = moves.map((m) => Date.parse(m.at ?? ''));
    assert.deepEqual([...ats].sort((a, b) => a - b), ats);

    const newest = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/stateHistory', { path, query: { orderBy: '-at', limit: 1 } });
    assert.deepEqual([newest.data?.stateMoves.map(line), newest.data?.totalEntries], [['2:running>success'], moves.length]);
    const second = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/stateHistory', { path, query: { tryNumber: 2 } });
    assert.ok((second.data?.stateMoves.length ?? 0) >= 2);
    assert.ok(second.data?.stateMoves.every((m) => m.tryNumber === 2));
    const page = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/stateHistory', { path, query: { limit: 2, offset: 2 } });
    assert.deepEqual(page.data?.stateMoves.map(line), lines.slice(2, 4));
  });

  test('state history: 404 for an unknown task, 400 naming a bad parameter', async () => {
    const missing = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/stateHistory', { path: { ...path, taskId: 'nope' } });
    assert.equal(missing.status, 404);
    const bad = await t.apiFetch('/api/v2/dags/flaky_once/dagRuns/r1/taskInstances/flaky/stateHistory?tryNumber=0');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { field?: string } }).error.field, 'tryNumber');
  });
});
