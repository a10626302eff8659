// executorConfig on any operator (checked at parse time, serialized for the scheduler) and the pod mutation
// hook reaching the KubernetesPodOperator in a task process through CAPSTAN__KUBERNETES__POD_MUTATION_HOOK.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BashOperator, dag, KubernetesPodOperator } from '../../../src/index.ts';
import { POD_MUTATION_HOOK_ENV } from '../../../src/kubernetes/index.ts';

void describe('executorConfig', () => {
  void test('is serialized with the task, only when set', () => {
    const d = dag({ dagId: 'ec', schedule: null }, () => {
      new BashOperator({ taskId: 'plain', bashCommand: 'true' });
      new BashOperator({
        taskId: 'big',
        bashCommand: 'true',
        executorConfig: { podOverride: { spec: { containers: [{ name: 'base', resources: { limits: { memory: '8Gi' } } }] } }, podTemplateFile: '/t.yaml' },
      });
    });
    const tasks = Object.fromEntries(d.serialize('/dags/ec.ts').tasks.map((t) => [t.taskId, t]));
    assert.equal('executorConfig' in (tasks['plain'] ?? {}), false);
    assert.deepEqual(tasks['big']?.executorConfig, { podOverride: { spec: { containers: [{ name: 'base', resources: { limits: { memory: '8Gi' } } }] } }, podTemplateFile: '/t.yaml' });
  });

  void test('bad executorConfig fails at parse time naming the field', () => {
    const build = (executorConfig: unknown) => () => dag({ dagId: 'bad', schedule: null }, () => {
      new BashOperator({ taskId: 't', bashCommand: 'true', executorConfig: executorConfig as never });
    });
    assert.throws(build({ pod_override: {} }), /task 't' in DAG 'bad': executorConfig\.pod_override is not a known setting/);
    assert.throws(build({ podOverride: [] }), /executorConfig\.podOverride must be a Pod object/);
    assert.throws(build({ podTemplateFile: '' }), /executorConfig\.podTemplateFile must be a non-empty path/);
    assert.throws(build('x'), /executorConfig must be an object/);
  });

  void test('the KubernetesPodOperator applies the hook named in its process environment', async () => {
    let op: KubernetesPodOperator | undefined;
    dag({ dagId: 'kpo', schedule: null }, () => {
      op = new KubernetesPodOperator({ taskId: 'p', image: 'busybox:1.37', executorConfig: { podOverride: { metadata: { labels: { a: 'b' } } } } });
    });
    assert.ok(op);
    assert.deepEqual(op.executorConfig, { podOverride: { metadata: { labels: { a: 'b' } } } });
    assert.equal('executorConfig' in op.podOptions, false, 'executorConfig is a task option, not a pod option');
    const identity = { dagId: 'kpo', taskId: 'p', runId: 'manual__1', tryNumber: 1 };
    const before = process.env[POD_MUTATION_HOOK_ENV];
    try {
      process.env[POD_MUTATION_HOOK_ENV] = `${join(import.meta.dirname, 'fixtures', 'hook.ts')}#addToleration`;
      const pod = await op.renderPod(identity);
      assert.deepEqual(pod.spec?.tolerations, [{ key: 'capstan', operator: 'Exists', effect: 'NoSchedule' }]);
      assert.equal(pod.metadata?.labels?.['hooked'], 'true');
      delete process.env[POD_MUTATION_HOOK_ENV];
      assert.equal((await op.renderPod(identity)).spec?.tolerations, undefined);
    } finally {
      if (before === undefined) delete process.env[POD_MUTATION_HOOK_ENV];
      else process.env[POD_MUTATION_HOOK_ENV] = before;
    }
  });
});

void describe('worker pod token lifetime', () => {
  void test('a caller can narrow a try token below the configured lifetime, never widen it', async () => {
    const { TaskTokenIssuer } = await import('../../../src/auth/taskToken.ts');
    const issuer = new TaskTokenIssuer('k'.repeat(32), 24 * 3600_000);
    const now = 1_000_000;
    assert.equal(issuer.verify(issuer.issue('ti', 1, now, 60_000), now).exp, now + 60_000);
    assert.equal(issuer.verify(issuer.issue('ti', 1, now, 48 * 3600_000), now).exp, now + 24 * 3600_000);
    assert.equal(issuer.verify(issuer.issue('ti', 1, now), now).exp, now + 24 * 3600_000);
    assert.throws(() => issuer.verify(issuer.issue('ti', 1, now, 60_000), now + 60_001), /expired/);
  });
});
