/**
 * Parse-time authoring warnings of pod tasks, from serialized fields: a `:latest` or untagged image with no pull
 * policy, and a pod with no resource requests; inline templates count, template files and templated images are
 * left alone, and each check can be turned off.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject, SerializedTask } from '../../src/core/serialized.ts';
import { isLatestImage, POD_WARNING_CODES, podTaskWarnings } from '../../src/kubernetes/index.ts';

const ALL = { latestImage: true, missingResourceRequests: true };
const REQUESTS = { containerResources: { requests: { cpu: '100m', memory: '128Mi' } } };

function task(operator: string, fields: JsonObject): SerializedTask {
  return {
    taskId: 't', operator, upstream: [], downstream: [], triggerRule: 'all_success',
    retry: { retries: 0, retryDelayMs: 0, retryExponentialBackoff: false, maxRetryDelayMs: null },
    executionTimeoutMs: null, pool: 'default_pool', poolSlots: 1, priorityWeight: 1, dependsOnPast: false,
    queue: 'default', owner: 'capstan', doc: null, fields, callbacks: [],
  };
}
const codes = (t: SerializedTask, checks = ALL) => podTaskWarnings(t, checks).map((w) => w.code);

void test('which images resolve to :latest', () => {
  for (const image of ['busybox', 'busybox:latest', 'registry:5000/team/etl', 'registry:5000/team/etl:latest']) assert.ok(isLatestImage(image), image);
  for (const image of ['busybox:1.36', 'registry:5000/team/etl:2026.12', 'busybox@sha256:abc', 'etl:latest@sha256:abc']) assert.ok(!isLatestImage(image), image);
});

void test('a KubernetesPodOperator with an untagged image and no requests gets both warnings, naming the fix', () => {
  const warnings = podTaskWarnings(task('KubernetesPodOperator', { pod: { image: 'busybox' }, run: {} }), ALL);
  assert.deepEqual(warnings.map((w) => [w.code, w.taskId]), [[POD_WARNING_CODES.latestImage, 't'], [POD_WARNING_CODES.missingResourceRequests, 't']]);
  assert.match(warnings[0]?.message ?? '', /'busybox'.*imagePullPolicy/);
  assert.match(warnings[1]?.message ?? '', /containerResources\.requests/);
});

void test('a pinned tag, an explicit pull policy or requests silence their warning', () => {
  assert.deepEqual(codes(task('KubernetesPodOperator', { pod: { image: 'busybox:1.36', ...REQUESTS } })), []);
  assert.deepEqual(codes(task('KubernetesPodOperator', { pod: { image: 'busybox:latest', imagePullPolicy: 'Always', ...REQUESTS } })), []);
  assert.deepEqual(codes(task('KubernetesPodOperator', { pod: { image: 'busybox:1.36', containerResources: { limits: { cpu: '1' } } } })), [POD_WARNING_CODES.missingResourceRequests], 'limits alone are not requests');
  assert.deepEqual(codes(task('KubernetesPodOperator', { pod: { image: 'busybox:1.36', containerResources: { requests: {} } } })), [POD_WARNING_CODES.missingResourceRequests]);
});

void test('inline templates are read; template files and templated images are not judged', () => {
  const fullPodSpec = { spec: { containers: [{ name: 'base', image: 'etl:3', imagePullPolicy: 'IfNotPresent', resources: { requests: { cpu: '1' } } }] } };
  assert.deepEqual(codes(task('KubernetesPodOperator', { pod: { fullPodSpec } })), []);
  assert.deepEqual(codes(task('KubernetesPodOperator', { pod: { podTemplateDict: { spec: { containers: [{ name: 'base', image: 'etl' }] } } } })), [POD_WARNING_CODES.latestImage, POD_WARNING_CODES.missingResourceRequests]);
  assert.deepEqual(codes(task('KubernetesPodOperator', { pod: { podTemplateFile: '/templates/pod.yaml' } })), []);
  assert.deepEqual(codes(task('KubernetesPodOperator', { pod: { image: '{{ params.image }}', ...REQUESTS } })), []);
});

void test('Job operators are checked too; other operators and switched-off checks are not', () => {
  assert.deepEqual(codes(task('KubernetesJobOperator', { job: { image: 'etl:latest' }, run: {} })), [POD_WARNING_CODES.latestImage, POD_WARNING_CODES.missingResourceRequests]);
  assert.deepEqual(codes(task('BashOperator', { bashCommand: 'echo' })), []);
  assert.deepEqual(codes(task('KubernetesPodOperator', { pod: { image: 'etl' } }), { latestImage: false, missingResourceRequests: true }), [POD_WARNING_CODES.missingResourceRequests]);
  assert.deepEqual(codes(task('KubernetesPodOperator', { pod: { image: 'etl' } }), { latestImage: false, missingResourceRequests: false }), []);
});
