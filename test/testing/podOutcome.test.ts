/**
 * `simulatePodOutcome` from capstan/testing: a pod task judged for simulated pod ends with the operator's own
 * judgement — success with the sidecar's XCom, skipOnExitCode, a failed exit code (the task's fault), OOM kill,
 * image pull failure and eviction (the platform's), each with its failure kind and retry policy — and the real
 * manifest (a bad option fails the simulation as it would fail the task).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dag, KubernetesPodOperator } from 'capstan';
import { simulatePodOutcome } from 'capstan/testing';

const etl = dag({ dagId: 'etl_pods', schedule: null }, () => {
  new KubernetesPodOperator({ taskId: 'extract', image: 'etl:1.2', cmds: ['extract'], doXcomPush: true, containerResources: { requests: { memory: '256Mi' }, limits: { memory: '512Mi' } } });
  new KubernetesPodOperator({ taskId: 'maybe', image: 'etl:1.2', skipOnExitCode: [0, 99] });
  new KubernetesPodOperator({ taskId: 'bad', image: 'etl:1.2', containerResources: { requests: { memory: 'lots' } } });
});

void test('success returns what the XCom sidecar read; the manifest is the one the task creates', async () => {
  const r = await simulatePodOutcome(etl, 'extract', 'succeeded', { xcom: { rows: 42 } });
  assert.equal(r.state, 'success');
  assert.deepEqual(r.returnValue, { rows: 42 });
  assert.deepEqual(r.pod.spec?.containers.map((c) => c.name), ['base']);
  assert.deepEqual(r.pod.spec?.initContainers?.map((c) => [c.name, c.restartPolicy]), [['capstan-xcom', 'Always']], 'the XCom reader runs as a native sidecar');
  assert.equal(r.pod.spec?.containers[0]?.image, 'etl:1.2');
  assert.equal(r.pod.metadata?.labels?.['capstan.dev/task-id'], 'extract');
});

void test('skipOnExitCode turns listed exit codes (0 included) into a skip', async () => {
  assert.equal((await simulatePodOutcome(etl, 'maybe', { exitCode: 99 })).state, 'skipped');
  const zero = await simulatePodOutcome(etl, 'maybe', 'succeeded');
  assert.equal(zero.state, 'skipped');
  assert.match(zero.message ?? '', /exited with 0, which skipOnExitCode maps to skipped/);
  const other = await simulatePodOutcome(etl, 'maybe', { exitCode: 3, terminationMessage: 'no input' });
  assert.deepEqual([other.state, other.failure?.kind, other.platformFailure, other.retryPolicy], ['failed', 'exitCode', false, 'retry']);
  assert.match(other.message ?? '', /base container exited with code 3.*termination message: no input/s);
});

void test('OOM kill, image pull failure and eviction fail with their platform failure kinds', async () => {
  const oom = await simulatePodOutcome(etl, 'extract', { oomKilled: true });
  assert.deepEqual([oom.state, oom.failure?.kind, oom.platformFailure], ['failed', 'oomKilled', true]);
  assert.match(oom.message ?? '', /OOMKilled .*exceeded its memory limit/);
  const pull = await simulatePodOutcome(etl, 'extract', { imagePullFailed: 'manifest for etl:1.2 not found' });
  assert.deepEqual([pull.failure?.kind, pull.platformFailure], ['imagePullFailed', true]);
  assert.match(pull.message ?? '', /manifest for etl:1\.2 not found/);
  const evicted = await simulatePodOutcome(etl, 'extract', { evicted: 'The node was low on resource: memory.' });
  assert.deepEqual([evicted.failure?.kind, evicted.platformFailure, evicted.retryPolicy], ['evicted', true, 'retry']);
});

void test('a task whose pod cannot be built, or that is not a pod task, fails the simulation with the option named', async () => {
  await assert.rejects(simulatePodOutcome(etl, 'bad', 'succeeded'), /memory.*lots|lots.*quantity/i);
  const other = dag({ dagId: 'not_pods', schedule: null }, () => {});
  await assert.rejects(simulatePodOutcome(other, 'missing', 'succeeded'), /missing/);
});
