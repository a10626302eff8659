import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isJobAlive, JobRegistry } from '../../src/store/jobs.ts';
import { forEachDialect } from '../support/dialects.ts';

void test('isJobAlive: running with a heartbeat inside the threshold', () => {
  assert.equal(isJobAlive({ state: 'running', latestHeartbeat: 70 }, 30, 100), true);
  assert.equal(isJobAlive({ state: 'running', latestHeartbeat: 69 }, 30, 100), false);
  assert.equal(isJobAlive({ state: 'success', latestHeartbeat: 100 }, 30, 100), false);
});

forEachDialect('jobs', (t) => {
  let clock = 1_000;
  const jobs = () => new JobRegistry(t.db, { now: () => clock, hostname: 'node-a', pid: 42 });

  void test('register records a running job stamped with host, pid and time', async () => {
    const id = await jobs().register('scheduler');
    assert.deepEqual(await jobs().get(id), { id, jobType: 'scheduler', hostname: 'node-a', pid: 42, state: 'running', startDate: 1_000, endDate: null, latestHeartbeat: 1_000 });
    assert.notEqual(await jobs().register('scheduler'), id);
  });

  void test('heartbeats keep a job alive; a silent one falls out of listAlive', async () => {
    clock = 10_000;
    const a = await jobs().register('triggerer');
    const b = await jobs().register('triggerer');
    await jobs().register('dag_processor');
    clock = 20_000;
    assert.equal(await jobs().heartbeat(a), true);
    clock = 25_000;
    assert.deepEqual((await jobs().listAlive('triggerer', 10_000)).map((j) => j.id), [a]);
    assert.equal(await jobs().isAlive(a, 10_000), true);
    assert.equal(await jobs().isAlive(b, 10_000), false);
    assert.equal(await jobs().isAlive(b, 15_000), true);
    assert.deepEqual((await jobs().listAlive('triggerer', 15_000, 25_000)).map((j) => j.id), [a, b]);
    assert.equal(await jobs().isAlive('unknown', 10_000), false);
  });

  void test('end stops a job: it is no longer alive and refuses heartbeats', async () => {
    clock = 30_000;
    const id = await jobs().register('api_server');
    clock = 31_000;
    assert.equal(await jobs().end(id, 'success'), true);
    assert.equal(await jobs().end(id, 'failed'), false);
    const job = await jobs().get(id);
    assert.deepEqual([job?.state, job?.endDate], ['success', 31_000]);
    assert.equal(await jobs().heartbeat(id), false);
    assert.equal((await jobs().get(id))?.latestHeartbeat, 30_000);
    assert.equal(await jobs().isAlive(id, 60_000), false);
    assert.deepEqual(await jobs().listAlive('api_server', 60_000), []);
    assert.equal(await jobs().heartbeat('unknown'), false);
  });
});
