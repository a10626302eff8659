/**
 * LocalKubernetesExecutor routing: the kubernetes queue goes to the pod side, everything else to the local
 * side; each side is handed only what it has room for (the rest waits and is handed over on sync); terminate,
 * adoption, start and end reach the right side. The sides here record what they are given; the real pair runs
 * end to end in test/kubernetes/cluster/e2e/executorEndToEnd*.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LocalKubernetesExecutor } from '../../src/executors/localKubernetesExecutor.ts';
import type { Executor, ExecutorEvent, TaskWorkload } from '../../src/executors/types.ts';
import type { TaskInstanceRow } from '../../src/store/schema.ts';

class RecordingExecutor implements Executor {
  readonly name: string;
  slots: number;
  readonly queued: TaskWorkload[] = [];
  readonly terminated: string[] = [];
  readonly events: ExecutorEvent[] = [];
  started = 0;
  ended = 0;
  adoptable = new Set<string>();
  constructor(name: string, slots: number) {
    this.name = name;
    this.slots = slots;
  }
  async start(): Promise<void> {
    this.started++;
  }
  openSlots(): number {
    return this.slots;
  }
  queueWorkloads(workloads: TaskWorkload[]): void {
    if (workloads.length > this.slots) throw new Error(`${this.name} was given ${workloads.length} tries for ${this.slots} slots`);
    this.slots -= workloads.length;
    this.queued.push(...workloads);
  }
  async sync(): Promise<ExecutorEvent[]> {
    return this.events.splice(0);
  }
  async terminate(tiId: string): Promise<void> {
    this.terminated.push(tiId);
  }
  async tryAdopt(tis: TaskInstanceRow[]): Promise<TaskInstanceRow[]> {
    return tis.filter((ti) => !this.adoptable.has(ti.id));
  }
  async end(): Promise<void> {
    this.ended++;
  }
}

const workload = (tiId: string, queue: string): TaskWorkload => ({
  tiId, tryNumber: 1, dagId: 'd', runId: 'r', taskId: tiId, mapIndex: -1, queue, priorityWeight: 1, fileloc: '/dags/d.ts', executionTimeoutMs: null,
});

function pair(localSlots: number, podSlots: number, kubernetesQueue?: string) {
  const local = new RecordingExecutor('local', localSlots);
  const kubernetes = new RecordingExecutor('kubernetes', podSlots);
  const executor = new LocalKubernetesExecutor({ local, kubernetes, ...(kubernetesQueue ? { kubernetesQueue } : {}) });
  return { local, kubernetes, executor };
}

describe('LocalKubernetesExecutor', () => {
  test('routes the kubernetes queue to pods and every other queue to local processes', () => {
    const { local, kubernetes, executor } = pair(10, 10);
    executor.queueWorkloads([workload('a', 'default'), workload('b', 'kubernetes'), workload('c', 'gpu'), workload('d', 'kubernetes')]);
    assert.deepEqual(local.queued.map((w) => w.tiId), ['a', 'c']);
    assert.deepEqual(kubernetes.queued.map((w) => w.tiId), ['b', 'd']);
    assert.equal(executor.executorFor('kubernetes'), kubernetes);
    assert.equal(executor.executorFor('default'), local);
  });

  test('the routed queue is configurable', () => {
    const { local, kubernetes, executor } = pair(10, 10, 'pods');
    executor.queueWorkloads([workload('a', 'kubernetes'), workload('b', 'pods')]);
    assert.deepEqual(local.queued.map((w) => w.tiId), ['a']);
    assert.deepEqual(kubernetes.queued.map((w) => w.tiId), ['b']);
  });

  test('a side without room is not overfilled: its tries wait and are handed over as slots open', async () => {
    const { local, kubernetes, executor } = pair(1, 5);
    assert.equal(executor.openSlots(), 6);
    executor.queueWorkloads([workload('a', 'default'), workload('b', 'default'), workload('c', 'kubernetes')]);
    assert.deepEqual(local.queued.map((w) => w.tiId), ['a']);
    assert.deepEqual(kubernetes.queued.map((w) => w.tiId), ['c']);
    assert.equal(executor.openSlots(), 4, 'the waiting local try takes no pod slot, and local has none left');
    local.slots = 1;
    local.events.push({ kind: 'exited', tiId: 'a', tryNumber: 1, exitCode: 0, signal: null });
    assert.deepEqual(await executor.sync(), [{ kind: 'exited', tiId: 'a', tryNumber: 1, exitCode: 0, signal: null }]);
    assert.deepEqual(local.queued.map((w) => w.tiId), ['a', 'b']);
  });

  test('terminating a waiting try drops it and reports it ended; a running one reaches the sides', async () => {
    const { local, kubernetes, executor } = pair(0, 5);
    executor.queueWorkloads([workload('a', 'default'), workload('b', 'kubernetes')]);
    await executor.terminate('a', 1, 'timed out');
    const events = await executor.sync();
    assert.equal(events.length, 1);
    assert.equal(events[0]?.kind, 'exited');
    assert.match(events[0]?.kind === 'exited' ? events[0].detail ?? '' : '', /before it started: timed out/);
    local.slots = 1;
    await executor.sync();
    assert.deepEqual(local.queued, [], 'the terminated try is never started');
    await executor.terminate('b', 1, 'cleared');
    assert.deepEqual(kubernetes.terminated, ['b']);
  });

  test('adoption splits by queue and returns what neither side adopted', async () => {
    const { local, kubernetes, executor } = pair(5, 5);
    local.adoptable.add('l1');
    kubernetes.adoptable.add('k1');
    const ti = (id: string, queue: string) => ({ id, queue }) as TaskInstanceRow;
    const left = await executor.tryAdopt([ti('l1', 'default'), ti('l2', 'default'), ti('k1', 'kubernetes'), ti('k2', 'kubernetes')]);
    assert.deepEqual(left.map((t) => t.id).sort(), ['k2', 'l2']);
  });

  test('start and end reach both sides', async () => {
    const { local, kubernetes, executor } = pair(1, 1);
    await executor.start();
    await executor.end();
    assert.deepEqual([local.started, kubernetes.started, local.ended, kubernetes.ended], [1, 1, 1, 1]);
  });
});
