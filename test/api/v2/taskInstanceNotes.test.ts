/**
 * API v2 task-instance notes through the generated client against a real engine (LocalExecutor, real task
 * processes, SQLite): a note set by PATCH …/taskInstances/{taskId}/note is on the instance's view (get and
 * list) with who set it and when, on one map index only, audited as `task_instance.note`, kept when the
 * instance is cleared and runs a second try, and removed with null. A bad body is a 400 naming `note`; a
 * Viewer gets 403; an unknown task 404.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiV2Client, type ApiV2Client } from '../../../src/api/public/v2/client/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { waitFor } from '../../support/processes.ts';

const NOTES_DAG = `
import { dag, BashOperator, task } from 'capstan';
const nums = task({ taskId: 'nums' }, () => [1, 2]);
const show = task({ taskId: 'show' }, (p: { x: number }) => p.x);
export default dag({ dagId: 'ti_notes', schedule: null }, () => {
  new BashOperator({ taskId: 'work', bashCommand: 'echo working' });
  show.expand({ x: nums() });
});
`;

describe('API v2 task-instance notes', () => {
  let t: TestEngine;
  let api: ApiV2Client;
  const path = { dagId: 'ti_notes', dagRunId: 'n1', taskId: 'work' };
  const NOTE_ROUTE = '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/note' as const;
  const TI_ROUTE = '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}' as const;
  before(async () => {
    t = await startTestEngine({ triggerer: false, dags: { 'notes.ts': NOTES_DAG } });
    api = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
    await t.trigger('ti_notes', { runId: 'n1' });
    await t.waitForRun('ti_notes', 'n1');
  });
  after(async () => {
    await t.stop();
  });

  test('set: on the get and list views with who and when, audited; one map index only', async () => {
    assert.equal((await api.call('get', TI_ROUTE, { path })).data?.note, null);
    const before = Date.now();
    const set = await api.call('patch', NOTE_ROUTE, { path, body: { note: 'upstream API was slow; **rerun** if late' } });
    assert.equal(set.status, 200, JSON.stringify(set.error));
    assert.equal(set.data?.note, 'upstream API was slow; **rerun** if late');
    assert.match(set.data?.noteUpdatedBy ?? '', /^admin\b/);
    assert.ok(Date.parse(set.data?.noteUpdatedAt ?? '') >= before - 1000, `noteUpdatedAt ${set.data?.noteUpdatedAt}`);

    const got = await api.call('get', TI_ROUTE, { path });
    assert.deepEqual([got.data?.note, got.data?.noteUpdatedBy, got.data?.noteUpdatedAt], [set.data?.note, set.data?.noteUpdatedBy, set.data?.noteUpdatedAt]);
    const listed = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances', { path: { dagId: 'ti_notes', dagRunId: 'n1' } });
    assert.deepEqual(
      listed.data?.taskInstances.filter((x) => x.note !== null).map((x) => x.taskId),
      ['work'],
    );

    const mapped = await api.call('patch', NOTE_ROUTE, { path: { ...path, taskId: 'show' }, query: { mapIndex: 1 }, body: { note: 'second value' } });
    assert.equal(mapped.status, 200, JSON.stringify(mapped.error));
    assert.deepEqual([mapped.data?.mapIndex, mapped.data?.note], [1, 'second value']);
    const indexes = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/listMapped', { path: { ...path, taskId: 'show' } });
    assert.deepEqual(indexes.data?.taskInstances.map((x) => [x.mapIndex, x.note]), [[0, null], [1, 'second value']]);

    const audit = await api.call('get', '/eventLogs', { query: { event: 'task_instance.note' } });
    const entries = audit.data?.eventLogs ?? [];
    assert.equal(entries.length, 2);
    const first = entries.find((e) => e.taskId === 'work');
    assert.deepEqual([first?.dagId, first?.dagRunId, first?.owner], ['ti_notes', 'n1', set.data?.noteUpdatedBy]);
    assert.match(JSON.stringify(first?.extra), /upstream API was slow/);
  });

  test('the note stays when the instance is cleared and runs its next try; null removes it', async () => {
    await api.call('patch', NOTE_ROUTE, { path, body: { note: 'kept across tries' } });
    const cleared = await api.call('post', '/dags/{dagId}/clearTaskInstances', { path: { dagId: 'ti_notes' }, body: { dryRun: false, dagRunId: 'n1', taskIds: ['work'] } });
    assert.deepEqual(cleared.data?.taskInstances.map((x) => x.taskId), ['work']);
    await waitFor(async () => (await api.call('get', TI_ROUTE, { path })).data?.tryNumber === 2, 'the cleared task starts its second try', 30_000);
    await t.waitForRun('ti_notes', 'n1');
    const rerun = await api.call('get', TI_ROUTE, { path });
    assert.deepEqual([rerun.data?.tryNumber, rerun.data?.state, rerun.data?.note], [2, 'success', 'kept across tries']);

    const removed = await api.call('patch', NOTE_ROUTE, { path, body: { note: null } });
    assert.deepEqual([removed.data?.note, removed.data?.noteUpdatedBy, removed.data?.noteUpdatedAt], [null, null, null]);
    assert.equal((await api.call('get', TI_ROUTE, { path })).data?.note, null);
  });

  test('a bad body is a 400 naming note; an unknown task is a 404; a Viewer may read but not set', async () => {
    const tooLong = await api.call('patch', NOTE_ROUTE, { path, body: { note: 'x'.repeat(1001) } });
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.error?.error.field, 'note');
    const missing = await api.call('patch', NOTE_ROUTE, { path, body: {} as { note: string } });
    assert.equal(missing.status, 400);
    assert.equal(missing.error?.error.field, 'note');
    const wrongType = await api.call('patch', NOTE_ROUTE, { path, body: { note: 42 } as unknown as { note: string } });
    assert.equal(wrongType.error?.error.field, 'note');
    const atLimit = await api.call('patch', NOTE_ROUTE, { path, body: { note: 'y'.repeat(1000) } });
    assert.equal(atLimit.status, 200);

    const unknown = await api.call('patch', NOTE_ROUTE, { path: { ...path, taskId: 'nope' }, body: { note: 'x' } });
    assert.equal(unknown.status, 404);
    const noIndex = await api.call('patch', NOTE_ROUTE, { path: { ...path, taskId: 'show' }, query: { mapIndex: 7 }, body: { note: 'x' } });
    assert.equal(noIndex.status, 404);

    const viewer = await t.engine.auth.createUser({ username: 'ti_note_viewer', password: 'viewer-password', role: 'Viewer' });
    const v = apiV2Client({ baseUrl: t.api.url, token: (await t.engine.auth.createApiToken(await t.engine.auth.principalFor(viewer), { name: 'v' })).token });
    assert.equal((await v.call('get', TI_ROUTE, { path })).data?.note, 'y'.repeat(1000));
    const refused = await v.call('patch', NOTE_ROUTE, { path, body: { note: 'mine' } });
    assert.equal(refused.status, 403);
    assert.equal((await api.call('get', TI_ROUTE, { path })).data?.note, 'y'.repeat(1000));
  });
});
