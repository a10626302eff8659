/**
 * A user trigger's classpath names its module without the per-try instance a reused task process imports it
 * under, so the triggerer loads each trigger module once however many tries deferred.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { triggerClasspath } from '../../src/triggers/classpath.ts';

void test('the module URL loses capstanInstance and keeps everything else', () => {
  assert.equal(triggerClasspath('file:///dags/lib/queue.ts?capstanInstance=7', 'QueueTrigger'), 'file:///dags/lib/queue.ts#QueueTrigger');
  assert.equal(triggerClasspath('file:///dags/lib/queue.ts?v=2&capstanInstance=7', 'QueueTrigger'), 'file:///dags/lib/queue.ts?v=2#QueueTrigger');
  assert.equal(triggerClasspath('/dags/lib/queue.ts', 'QueueTrigger'), 'file:///dags/lib/queue.ts#QueueTrigger');
  assert.equal(triggerClasspath('file:///dags/lib/queue.ts', 'QueueTrigger'), 'file:///dags/lib/queue.ts#QueueTrigger');
});
