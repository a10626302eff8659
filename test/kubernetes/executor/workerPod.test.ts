// The KubernetesExecutor's worker pod: golden manifests (test/kubernetes/executor/golden/<name>.yaml) for the
// built-in template, the config template, a per-task template, podOverride precedence, mapped identities and
// the mutation hook; the executor-owned fields (command, token, labels) cannot be overridden; bad input fails
// naming the field. Plus the pure pod verdicts and the namespace settings. UPDATE_GOLDEN=1 rewrites the files.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import {
  buildWorkerPod,
  describeEnd,
  executorIdLabel,
  podOwner,
  isRelaunchable,
  judgePod,
  TASK_TOKEN_ENV,
  watchedNamespaces,
  WORKER_LABELS,
  workerCommand,
} from '../../../src/executors/kubernetes/index.ts';
import type { WorkerPodInput } from '../../../src/executors/kubernetes/index.ts';
import { isLabelValue, loadPodMutationHook, renderPodYaml } from '../../../src/kubernetes/index.ts';
import type { JsonObject } from '../../../src/core/serialized.ts';

const goldenDir = join(import.meta.dirname, 'golden');
const CONFIG_TEMPLATE = join(import.meta.dirname, 'fixtures', 'worker-template.yaml');
const TASK_TEMPLATE = join(import.meta.dirname, 'fixtures', 'task-template.yaml');

const workload = { tiId: '0193a6f0-ti', tryNumber: 2, dagId: 'etl', runId: 'scheduled__2026-11-23T00:00:00+00:00', taskId: 'load_orders', mapIndex: -1 };

function input(over: Partial<WorkerPodInput> = {}): WorkerPodInput {
  return {
    workload,
    executorId: 'job-1234',
    executionApiUrl: 'http://capstan-api.capstan:8080',
    token: 'token-of-try-2',
    namespace: 'capstan',
    watched: { kind: 'list', namespaces: ['capstan', 'gpu-jobs'] },
    multiNamespaceMode: true,
    randomSuffix: () => 'w0rk3r00',
    ...over,
  };
}

function golden(name: string, pod: V1Pod): void {
  const file = join(goldenDir, `${name}.yaml`);
  const yaml = renderPodYaml(pod);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, yaml);
  assert.equal(yaml, readFileSync(file, 'utf8'), `golden ${name}.yaml differs (UPDATE_GOLDEN=1 after a deliberate change)`);
}

function baseOf(pod: V1Pod) {
  const base = pod.spec?.containers.find((c) => c.name === 'base');
  assert.ok(base, 'base container');
  return base;
}

const configTemplate = parseYaml(readFileSync(CONFIG_TEMPLATE, 'utf8')) as Record<string, unknown>;

void describe('worker pod', () => {
  void test('minimal: the built-in template, the configured image, the worker command and token', () => {
    const pod = buildWorkerPod(input({ image: 'capstan/worker:1.0' }));
    golden('minimal', pod);
    assert.deepEqual(baseOf(pod).command, workerCommand(workload.tiId, 'http://capstan-api.capstan:8080'));
    assert.deepEqual(baseOf(pod).command?.slice(0, 5), ['capstan', 'tasks', 'run', '--ti-id', workload.tiId]);
    assert.equal(baseOf(pod).env?.find((e) => e.name === TASK_TOKEN_ENV)?.value, 'token-of-try-2');
    assert.equal(pod.metadata?.labels?.[WORKER_LABELS.executorId], 'job-1234');
    assert.equal(pod.metadata?.labels?.['capstan.dev/kind'], 'worker');
    assert.equal(pod.metadata?.annotations?.['capstan.dev/ti-id'], workload.tiId);
    assert.equal(pod.metadata?.annotations?.['capstan.dev/run-id'], workload.runId, 'the exact run id is annotated');
    assert.match(pod.metadata?.name ?? '', /^etl-load-orders-w0rk3r00$/);
    assert.equal(pod.spec?.restartPolicy, 'Never');
    assert.equal(JSON.stringify(pod).includes('postgres'), false);
  });

  void test('config template: kept under the dynamic pod; its args and token are replaced; the image option wins', () => {
    const pod = buildWorkerPod(input({ baseTemplate: configTemplate, image: 'capstan/worker:1.0' }));
    golden('config-template', pod);
    const base = baseOf(pod);
    assert.equal(base.image, 'capstan/worker:1.0');
    assert.equal(base.args, undefined);
    assert.deepEqual(base.env?.filter((e) => e.name === TASK_TOKEN_ENV).map((e) => e.value), ['token-of-try-2']);
    assert.equal(pod.spec?.serviceAccountName, 'capstan-worker');
    assert.equal(pod.metadata?.labels?.['team'], 'data');
    assert.equal(pod.metadata?.namespace, 'capstan');
  });

  void test('podOverride > dynamic > template, containers by name, explicit false/0 override, null deletes', () => {
    const executorConfig: JsonObject = {
      podOverride: {
        metadata: { labels: { tier: 'heavy', team: null } },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsUser: 0 },
          containers: [
            { name: 'base', image: 'capstan/worker:override', resources: { limits: { memory: '8Gi' } }, command: ['sh'], args: ['-c', 'evil'] },
            { name: 'proxy', image: 'envoyproxy/envoy:v1.31' },
          ],
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'etl', effect: 'NoSchedule' }],
        },
      },
    };
    const pod = buildWorkerPod(input({ baseTemplate: configTemplate, image: 'capstan/worker:1.0', executorConfig }));
    golden('pod-override', pod);
    const base = baseOf(pod);
    assert.equal(base.image, 'capstan/worker:override', 'podOverride image beats workerContainerImage');
    assert.deepEqual(base.resources, { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '8Gi' } });
    assert.deepEqual(base.command, workerCommand(workload.tiId, 'http://capstan-api.capstan:8080'), 'the worker command cannot be overridden');
    assert.equal(base.args, undefined);
    assert.equal(pod.spec?.automountServiceAccountToken, false);
    assert.equal(pod.spec?.securityContext?.runAsUser, 0);
    assert.deepEqual(pod.spec?.containers.map((c) => c.name), ['base', 'proxy']);
    assert.equal(pod.metadata?.labels?.['team'], undefined);
    assert.equal(pod.metadata?.labels?.['tier'], 'heavy');
  });

  void test("one namespace (no multi-namespace mode): the executor's namespace wins over a template's, as in Airflow", () => {
    const single = { namespace: 'capstan', watched: { kind: 'list', namespaces: ['capstan'] } as const, multiNamespaceMode: false };
    const pod = buildWorkerPod(input({ ...single, baseTemplate: configTemplate, executorConfig: { podTemplateFile: TASK_TEMPLATE } }));
    assert.equal(pod.metadata?.namespace, 'capstan', 'the task template says gpu-jobs');
    assert.equal(baseOf(pod).image, 'capstan/worker:gpu', 'the rest of the task template applies');
    const fromConfig = buildWorkerPod(input({ ...single, baseTemplate: { ...configTemplate, metadata: { namespace: 'elsewhere' } }, image: 'x' }));
    assert.equal(fromConfig.metadata?.namespace, 'capstan');
    // A podOverride is the task's explicit choice: it must be a watched namespace.
    assert.throws(() => buildWorkerPod(input({ ...single, image: 'x', executorConfig: { podOverride: { metadata: { namespace: 'gpu-jobs' } } } })), /namespace 'gpu-jobs' is not watched/);
  });

  void test('a long scheduler job id becomes a valid, stable executor-id label; the exact id is an annotation', () => {
    const executorId = `scheduler-${'x'.repeat(80)}:job/42`;
    const pod = buildWorkerPod(input({ image: 'x', executorId }));
    const label = pod.metadata?.labels?.[WORKER_LABELS.executorId] ?? '';
    assert.ok(isLabelValue(label) && label.length <= 63, label);
    assert.equal(label, executorIdLabel(executorId));
    assert.equal(label, buildWorkerPod(input({ image: 'x', executorId })).metadata?.labels?.[WORKER_LABELS.executorId], 'stable');
    assert.equal(pod.metadata?.annotations?.[WORKER_LABELS.executorId], executorId);
    assert.equal(podOwner(pod), executorId);
    assert.equal(executorIdLabel('job-1234'), 'job-1234', 'a valid id is its own label');
  });

  void test('multi-namespace mode: a per-task podTemplateFile replaces the config template (and brings its namespace)', () => {
    const pod = buildWorkerPod(input({ baseTemplate: configTemplate, executorConfig: { podTemplateFile: TASK_TEMPLATE } }));
    golden('task-template', pod);
    assert.equal(pod.metadata?.namespace, 'gpu-jobs');
    assert.equal(baseOf(pod).image, 'capstan/worker:gpu');
    assert.equal(pod.spec?.serviceAccountName, undefined, 'the config template is not used');
  });

  void test("podOverride init containers merge with the template's by name", () => {
    const template = { ...configTemplate, spec: { ...(configTemplate['spec'] as object), initContainers: [{ name: 'git-sync', image: 'git-sync:4', args: ['--one-time'] }] } };
    const executorConfig: JsonObject = { podOverride: { spec: { initContainers: [{ name: 'git-sync', image: 'git-sync:4.1' }, { name: 'warm-cache', image: 'warm:1' }] } } };
    const pod = buildWorkerPod(input({ baseTemplate: template, executorConfig }));
    assert.deepEqual(pod.spec?.initContainers, [
      { name: 'git-sync', image: 'git-sync:4.1', args: ['--one-time'] },
      { name: 'warm-cache', image: 'warm:1' },
    ]);
  });

  void test('mapped task and try labels; identity labels cannot be overridden', () => {
    const executorConfig: JsonObject = { podOverride: { metadata: { labels: { 'capstan.dev/try-number': '9', 'capstan.dev/executor-id': 'someone-else' } } } };
    const pod = buildWorkerPod(input({ image: 'capstan/worker:1.0', workload: { ...workload, mapIndex: 7 }, executorConfig }));
    golden('mapped', pod);
    assert.equal(pod.metadata?.labels?.['capstan.dev/map-index'], '7');
    assert.equal(pod.metadata?.labels?.['capstan.dev/try-number'], '2');
    assert.equal(pod.metadata?.labels?.[WORKER_LABELS.executorId], 'job-1234');
    assert.match(pod.metadata?.labels?.['capstan.dev/run-id'] ?? '', /^scheduled__2026-11-23T00_00_00_00_00-[0-9a-f]{8}$/);
  });

  void test('the pod mutation hook from config has the last word', async () => {
    const hook = await loadPodMutationHook(`${join(import.meta.dirname, 'fixtures', 'hook.ts')}#addToleration`);
    assert.ok(hook);
    const pod = buildWorkerPod(input({ image: 'capstan/worker:1.0', podMutationHook: hook }));
    golden('mutation-hook', pod);
    assert.deepEqual(pod.spec?.tolerations, [{ key: 'capstan', operator: 'Exists', effect: 'NoSchedule' }]);
    assert.equal(pod.metadata?.labels?.['hooked'], 'true');
    const withEnv = buildWorkerPod(input({ baseTemplate: configTemplate, env: { CAPSTAN__KUBERNETES__POD_MUTATION_HOOK: '/hooks.ts#m', CAPSTAN__CORE__DAGS_FOLDER: '/dags' } }));
    const env = Object.fromEntries((baseOf(withEnv).env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env['CAPSTAN__KUBERNETES__POD_MUTATION_HOOK'], '/hooks.ts#m');
    assert.equal(env['CAPSTAN__CORE__DAGS_FOLDER'], '/dags', 'the executor env wins over the template');
    assert.equal(baseOf(withEnv).env?.filter((e) => e.name === 'CAPSTAN__CORE__DAGS_FOLDER').length, 1);
  });

  void test('bad input fails naming what to fix', async () => {
    assert.throws(() => buildWorkerPod(input()), /spec\.containers\[0\]\.image: container 'base' has no image/);
    assert.throws(
      () => buildWorkerPod(input({ image: 'x', executorConfig: { podOverride: { metadata: { namespace: 'elsewhere' } } } })),
      /namespace 'elsewhere' is not watched .*it watches: capstan, gpu-jobs/,
    );
    assert.throws(() => buildWorkerPod(input({ image: 'x', executorConfig: { podTemplateFile: '/nonexistent/t.yaml' } })), /podTemplateFile: cannot read \/nonexistent\/t\.yaml/);
    assert.throws(
      () => buildWorkerPod(input({ image: 'x', executorConfig: { podOverride: { spec: { containers: [{ image: 'y' }] } } } })),
      /executorConfig\.podOverride: spec\.containers\[0\]: a container needs a name/,
    );
    assert.throws(
      () => buildWorkerPod(input({ image: 'x', executorConfig: { podOverride: { spec: { containers: [{ name: 'base', resources: { limits: { memory: '1GG' } } }] } } } })),
      /spec\.containers\[0\]\.resources\.limits\.memory/,
    );
    await assert.rejects(loadPodMutationHook('/nonexistent/hook.ts#x'), /kubernetes\.podMutationHook: cannot import/);
    await assert.rejects(loadPodMutationHook(`${join(import.meta.dirname, 'fixtures', 'hook.ts')}#missing`), /has no function export 'missing'/);
    const broken = await loadPodMutationHook(`${join(import.meta.dirname, 'fixtures', 'hook.ts')}#broken`);
    assert.throws(() => buildWorkerPod(input({ image: 'x', podMutationHook: broken })), /pod mutation hook .*#broken threw: hook says no/);
  });
});

void describe('watched namespaces', () => {
  const base = { namespace: 'capstan', multiNamespaceMode: false, multiNamespaceModeNamespaceList: '' };
  void test('one namespace, a list, or all', () => {
    assert.deepEqual(watchedNamespaces(base), { kind: 'list', namespaces: ['capstan'] });
    assert.deepEqual(watchedNamespaces({ ...base, multiNamespaceMode: true, multiNamespaceModeNamespaceList: ' a, b ,a' }), { kind: 'list', namespaces: ['capstan', 'a', 'b'] });
    assert.deepEqual(watchedNamespaces({ ...base, multiNamespaceMode: true }), { kind: 'all' });
    assert.throws(() => watchedNamespaces({ ...base, multiNamespaceMode: true, multiNamespaceModeNamespaceList: 'Bad_NS' }), /multiNamespaceModeNamespaceList: 'Bad_NS'/);
  });
});

function podWith(status: V1Pod['status']): V1Pod {
  return { metadata: { name: 'p' }, spec: { containers: [{ name: 'base', image: 'x' }] }, status };
}

void describe('pod verdicts', () => {
  void test('pending, running, fatal waiting, ended', () => {
    assert.deepEqual(judgePod(podWith({ phase: 'Pending' }), { deleted: false }), { kind: 'wait', started: false });
    assert.deepEqual(judgePod(podWith({ phase: 'Running', containerStatuses: [{ name: 'base', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] }), { deleted: false }), { kind: 'wait', started: true });
    const pull = judgePod(podWith({ phase: 'Pending', containerStatuses: [{ name: 'base', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "x"' } } }] }), { deleted: false });
    assert.deepEqual(pull, { kind: 'fatalWaiting', container: 'base', reason: 'ImagePullBackOff', message: 'Back-off pulling image "x"' });
    const rateLimited = judgePod(podWith({ phase: 'Pending', containerStatuses: [{ name: 'base', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ErrImagePull', message: 'pull QPS exceeded' } } }] }), { deleted: false });
    assert.equal(rateLimited.kind, 'wait');
    const oom = judgePod(podWith({ phase: 'Failed', containerStatuses: [{ name: 'base', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] }), { deleted: false });
    assert.equal(oom.kind === 'ended' && oom.end.kind, 'oomKilled');
    assert.equal(oom.kind === 'ended' && oom.exitCode, 137);
    const ok = judgePod(podWith({ phase: 'Succeeded', containerStatuses: [{ name: 'base', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0 } } }] }), { deleted: false });
    assert.equal(ok.kind === 'ended' && ok.exitCode, 0);
    assert.match(ok.kind === 'ended' ? describeEnd(ok.end, 'p') : '', /succeeded, but its task never reported an outcome through the Execution API/);
    const gone = judgePod(podWith({ phase: 'Pending' }), { deleted: true });
    assert.equal(gone.kind === 'ended' && gone.end.kind, 'deleted');
  });

  void test('only cluster-caused ends are relaunched', () => {
    assert.equal(isRelaunchable({ kind: 'evicted', message: '' }), true);
    assert.equal(isRelaunchable({ kind: 'nodeLost', message: '' }), true);
    assert.equal(isRelaunchable({ kind: 'deleted' }), true);
    assert.equal(isRelaunchable({ kind: 'failed', exitCode: undefined, reason: 'Preempting', terminationMessage: undefined }), true);
    assert.equal(isRelaunchable({ kind: 'failed', exitCode: 1, reason: 'Error', terminationMessage: undefined }), false);
    assert.equal(isRelaunchable({ kind: 'oomKilled', exitCode: 137, terminationMessage: undefined }), false);
    assert.equal(isRelaunchable({ kind: 'succeeded' }), false);
  });
});
