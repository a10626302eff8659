// onFinishAction decisions, the reattach selector and the choice among found pods (pure parts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { finishPlan } from '../../../src/kubernetes/lifecycle/cleanup.ts';
import { choosePod, taskPodSelector } from '../../../src/kubernetes/lifecycle/reattach.ts';
import { EventDeduper } from '../../../src/kubernetes/lifecycle/podEvents.ts';

const running: V1Pod = { status: { phase: 'Running' } };
const failedPod: V1Pod = { status: { phase: 'Failed' } };

void describe('finishPlan', () => {
  const failed = { kind: 'failed', exitCode: 1, reason: 'Error', terminationMessage: undefined } as const;
  test('each action', () => {
    assert.deepEqual(finishPlan('delete_pod', failedPod, failed), { delete: true, markChecked: false });
    assert.deepEqual(finishPlan('delete_succeeded_pod', failedPod, { kind: 'succeeded' }), { delete: true, markChecked: false });
    assert.deepEqual(finishPlan('delete_succeeded_pod', failedPod, failed), { delete: false, markChecked: true });
    assert.deepEqual(finishPlan('keep_pod', failedPod, { kind: 'succeeded' }), { delete: false, markChecked: true });
    assert.deepEqual(finishPlan('delete_active_pod', running, { kind: 'succeeded' }), { delete: true, markChecked: false });
    assert.deepEqual(finishPlan('delete_active_pod', failedPod, failed), { delete: false, markChecked: true });
    assert.deepEqual(finishPlan('delete_pod', undefined, { kind: 'deleted' }), { delete: false, markChecked: false });
  });
});

void describe('reattach', () => {
  const labels = { 'capstan.dev/dag-id': 'd', 'capstan.dev/task-id': 't', 'capstan.dev/run-id': 'r', 'capstan.dev/map-index': '-1', 'capstan.dev/try-number': '2' };
  test('the selector names the task instance (not the try) and excludes checked pods', () => {
    assert.equal(taskPodSelector(labels),
      'capstan.dev/dag-id=d,capstan.dev/task-id=t,capstan.dev/run-id=r,capstan.dev/map-index=-1,capstan.dev/already-checked!=true');
    assert.throws(() => taskPodSelector({ 'capstan.dev/dag-id': 'd' }), /capstan.dev\/task-id is missing/);
  });
  test('one live pod → reattach; none → create; pods being deleted or checked are ignored; two → ambiguous', () => {
    const pod = (name: string, extra: Partial<NonNullable<V1Pod['metadata']>> = {}): V1Pod => ({ metadata: { name, ...extra } });
    assert.deepEqual(choosePod([]), { kind: 'create' });
    assert.equal(choosePod([pod('a')]).kind, 'reattach');
    assert.deepEqual(choosePod([pod('a', { deletionTimestamp: new Date() }), pod('b', { labels: { 'capstan.dev/already-checked': 'true' } })]), { kind: 'create' });
    assert.deepEqual(choosePod([pod('a'), pod('b')]), { kind: 'ambiguous', names: ['a', 'b'] });
  });
});

void describe('EventDeduper', () => {
  test('an event is delivered once per occurrence; a bumped count is delivered again', () => {
    const d = new EventDeduper();
    const e = { metadata: { uid: 'u1' }, reason: 'BackOff', message: 'Back-off pulling image', type: 'Warning', count: 1, involvedObject: {} };
    assert.equal(d.admit(e)?.reason, 'BackOff');
    assert.equal(d.admit(e), undefined);
    assert.equal(d.admit({ ...e, count: 2 })?.count, 2);
    assert.equal(d.admit({ ...e, count: 2 }), undefined);
  });
});
