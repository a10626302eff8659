// Job building: golden manifests (test/kubernetes/jobGolden/<name>.yaml) for the Job parameters, pod parameters
// in the pod template, template precedence (arguments > fullJobSpec > jobTemplateFile), selectors and mapped
// identities; invalid Jobs fail with the path of the offending field; the pure readings of a Job (its end,
// selector, XCom order). Set UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Job } from '@kubernetes/client-node';
import { buildJob, collectXcom, jobEnd, selectorString } from '../../src/kubernetes/job/index.ts';
import type { JobOptions } from '../../src/kubernetes/job/index.ts';
import { renderPodYaml, Secret } from '../../src/kubernetes/index.ts';
import type { BuildPodContext } from '../../src/kubernetes/index.ts';
import { identity, TEMPLATE_FILE } from './goldenCases.ts';

const goldenDir = join(import.meta.dirname, 'jobGolden');
export const JOB_TEMPLATE_FILE = join(import.meta.dirname, 'jobFixtures', 'job-template.yaml');

function build(options: JobOptions, context: Partial<BuildPodContext> = {}): V1Job {
  return buildJob(options, { identity, randomSuffix: () => 'x7k2m9q4', defaultNamespace: 'etl', ...context });
}

function buildError(options: JobOptions): string {
  try {
    build(options);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected the build to fail');
}

/** The Jobs pinned by golden files; test/kubernetes/cluster/jobOperator.test.ts sends some to a real API server (dry run). */
export const jobGoldenCases: { name: string; options: JobOptions; context?: Partial<BuildPodContext> }[] = [
  { name: 'minimal', options: { image: 'busybox:1.37' } },
  {
    name: 'job-parameters',
    options: {
      image: 'busybox:1.37',
      cmds: ['sh', '-c', 'echo $JOB_COMPLETION_INDEX'],
      backoffLimit: 2,
      completions: 3,
      completionMode: 'Indexed',
      parallelism: 2,
      activeDeadlineSeconds: 600,
      ttlSecondsAfterFinished: 300,
      suspend: false,
      podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'base', operator: 'In', values: [42] } }] },
    },
  },
  {
    name: 'pod-parameters',
    options: {
      image: 'python:3.13-slim',
      imagePullPolicy: 'IfNotPresent',
      cmds: ['python', '-c'],
      arguments: ['print(1)'],
      env: { STAGE: 'prod' },
      configmaps: ['shared-config'],
      secrets: [Secret.env('DB_PASSWORD', 'db', 'password'), Secret.volume('/etc/tls', 'tls')],
      containerResources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '1Gi', 'nvidia.com/gpu': 1 } },
      nodeSelector: { pool: 'gpu' },
      tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }],
      serviceAccountName: 'trainer',
      labels: { team: 'ml' },
      annotations: { note: 'nightly' },
      initContainers: [{ name: 'fetch', image: 'busybox:1.37', command: ['true'] }],
      containers: [{ name: 'metrics', image: 'prom/statsd-exporter:v0.28.0' }],
      terminationGracePeriodSeconds: 30,
    },
  },
  {
    name: 'template-precedence',
    options: {
      jobTemplateFile: JOB_TEMPLATE_FILE,
      fullJobSpec: {
        metadata: { labels: { tier: 'full' } },
        spec: { backoffLimit: 3, parallelism: 2, template: { spec: { containers: [{ name: 'base', env: [{ name: 'MODE', value: 'full' }] }], nodeSelector: { pool: 'full' } } } },
      },
      parallelism: 0,
      completions: 2,
      image: 'registry.example.com/shards:2.0',
      labels: { tier: 'argument' },
    },
  },
  {
    name: 'pod-template-under-job-template',
    options: { podTemplateFile: TEMPLATE_FILE, jobTemplateFile: JOB_TEMPLATE_FILE, name: 'explicit-name', namespace: 'explicit-ns', randomNameSuffix: false },
  },
  {
    name: 'manual-selector',
    options: { image: 'busybox:1.37', labels: { shard: 'a' }, selector: { matchLabels: { shard: 'a' } }, manualSelector: true },
  },
  {
    name: 'mapped',
    options: { image: 'busybox:1.37' },
    context: { identity: { ...identity, mapIndex: 3, taskId: 'a-very-long-task-id-that-will-need-to-be-shortened-for-names' } },
  },
];

void describe('job builder golden manifests', () => {
  for (const c of jobGoldenCases) {
    void test(c.name, () => {
      const yaml = renderPodYaml(build(c.options, c.context) as unknown as Record<string, unknown>);
      const file = join(goldenDir, `${c.name}.yaml`);
      if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(file)) {
        if (process.env['UPDATE_GOLDEN'] !== '1') assert.fail(`no golden file ${file}: run with UPDATE_GOLDEN=1 and review it`);
        writeFileSync(file, yaml);
      }
      assert.equal(yaml, readFileSync(file, 'utf8'));
    });
  }
});

void describe('job builder rules', () => {
  test('precedence: arguments > fullJobSpec > template, for the Job and for its pod template', () => {
    const job = build(jobGoldenCases.find((c) => c.name === 'template-precedence')!.options);
    assert.equal(job.spec?.backoffLimit, 3); // fullJobSpec over the template
    assert.equal(job.spec?.parallelism, 0); // an explicit 0 argument overrides fullJobSpec's 2
    assert.equal(job.spec?.completions, 2);
    assert.equal(job.spec?.ttlSecondsAfterFinished, 3600); // only in the template: kept
    assert.equal(job.metadata?.name, 'nightly-shards-x7k2m9q4');
    assert.equal(job.metadata?.namespace, 'batch-jobs');
    assert.equal(job.metadata?.labels?.['tier'], 'argument');
    assert.equal(job.metadata?.labels?.['team'], 'data');
    const pod = job.spec?.template;
    const base = pod?.spec?.containers.find((c) => c.name === 'base');
    assert.equal(base?.image, 'registry.example.com/shards:2.0');
    assert.deepEqual(base?.env, [{ name: 'MODE', value: 'full' }]);
    assert.deepEqual(base?.resources?.limits, { memory: '1Gi' });
    assert.deepEqual(pod?.spec?.nodeSelector, { pool: 'full' });
    assert.equal(pod?.spec?.serviceAccountName, 'shard-runner');
    assert.equal(pod?.metadata?.labels?.['app'], 'shards');
  });

  test('identity labels on the Job and on its pods; restartPolicy Never; pods get no name of their own', () => {
    const job = build({ image: 'busybox:1.37' });
    for (const labels of [job.metadata?.labels, job.spec?.template.metadata?.labels]) {
      assert.equal(labels?.['capstan.dev/dag-id'], 'etl');
      assert.equal(labels?.['capstan.dev/task-id'], 'load');
      assert.equal(labels?.['capstan.dev/try-number'], '1');
    }
    assert.equal(job.spec?.template.spec?.restartPolicy, 'Never');
    // Each retry is a new pod (its log and XCom kept apart), so a template's OnFailure becomes Never.
    const fromTemplate = build({ image: 'x', jobTemplateDict: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [] } } } } });
    assert.equal(fromTemplate.spec?.template.spec?.restartPolicy, 'Never');
    assert.equal(job.spec?.template.metadata?.name, undefined);
    assert.equal(job.spec?.activeDeadlineSeconds, undefined);
  });

  test('activeDeadlineSeconds is the Job\'s, not the pod\'s', () => {
    const job = build({ image: 'busybox:1.37', activeDeadlineSeconds: 60 });
    assert.equal(job.spec?.activeDeadlineSeconds, 60);
    assert.equal(job.spec?.template.spec?.activeDeadlineSeconds, undefined);
  });

  test('invalid Jobs fail with the field path', () => {
    assert.match(buildError({ image: 'x', completions: -1 }), /^completions: -1 is not an integer ≥ 0/);
    assert.match(buildError({ image: 'x', backoffLimit: 1.5 }), /^backoffLimit: 1.5 is not an integer/);
    assert.match(buildError({ image: 'x', completionMode: 'Sometimes' as 'Indexed' }), /^completionMode: 'Sometimes' is not one of/);
    assert.match(buildError({ image: 'x', completionMode: 'Indexed' }), /^spec.completions: an Indexed Job needs completions/);
    assert.match(buildError({ image: 'x', selector: { matchLabels: { a: 'b' } } }), /^spec.selector: a selector is given but manualSelector is not true/);
    assert.match(buildError({ image: 'x', manualSelector: true, selector: { matchLabels: { a: 'b' } } }), /^spec.selector.matchLabels.a: the pod template has no label a=b/);
    assert.match(buildError({ image: 'x', jobTemplateDict: { kind: 'Pod' } }), /^jobTemplateDict.kind: is 'Pod', expected 'Job'/);
    assert.match(buildError({ image: 'x', jobTemplateFile: '/nonexistent/job.yaml' }), /^jobTemplateFile: cannot read \/nonexistent\/job.yaml/);
    assert.match(buildError({ image: 'x', fullJobSpec: { spec: { template: 'nope' } } }), /^fullJobSpec.spec.template: must be a pod template object/);
    assert.match(buildError({ containerResources: { limits: { memory: '1GG' } }, image: 'x' }), /^containerResources.limits.memory/);
    assert.match(buildError({}), /^spec.containers\[0\].image: container 'base' has no image/);
    assert.match(buildError({ image: 'x', env: 'FOO=bar' as never }), /^env: must be a list of env vars or a record of name → value, not a string/);
    assert.match(buildError({ image: 'x', imagePullSecrets: 5 as never }), /^imagePullSecrets: must be a list of secret names or references, or a comma-separated string/);
  });

  test("imagePullSecrets as a comma-separated string reaches the Job's pod template", () => {
    assert.deepEqual(build({ image: 'x', imagePullSecrets: 'registry-a,registry-b' }).spec?.template.spec?.imagePullSecrets, [{ name: 'registry-a' }, { name: 'registry-b' }]);
  });
});

void describe('job readings', () => {
  const cond = (type: string, status = 'True', reason?: string, message?: string) => ({ type, status, ...(reason ? { reason } : {}), ...(message ? { message } : {}) });
  test('jobEnd: failure conditions first, then success; nothing while running', () => {
    assert.equal(jobEnd({ status: { active: 1 } }), undefined);
    assert.deepEqual(jobEnd({ status: { conditions: [cond('Complete')] } }), { kind: 'complete', condition: 'Complete' });
    assert.deepEqual(jobEnd({ status: { conditions: [cond('SuccessCriteriaMet')] } }), { kind: 'complete', condition: 'SuccessCriteriaMet' });
    assert.deepEqual(jobEnd({ status: { conditions: [cond('FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')] } }),
      { kind: 'failed', condition: 'FailureTarget', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    assert.equal(jobEnd({ status: { conditions: [cond('Complete', 'False')] } }), undefined);
    assert.deepEqual(jobEnd(undefined, true), { kind: 'deleted' });
  });

  test('selectorString renders matchLabels and expressions', () => {
    assert.equal(selectorString({ matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } }), 'batch.kubernetes.io/controller-uid=u1');
    assert.equal(selectorString({ matchLabels: { a: 'b' }, matchExpressions: [{ key: 'c', operator: 'In', values: ['x', 'y'] }, { key: 'd', operator: 'DoesNotExist' }] }),
      'a=b,c in (x,y),!d');
    assert.throws(() => selectorString({}), /empty spec.selector/);
  });

  test('collectXcom: single value for one completion; index order for Indexed; finishing order otherwise', () => {
    assert.equal(collectXcom({ spec: { completions: 1, template: {} } }, [{ pod: 'p', index: undefined, finishedAt: 1, value: 7 }]), 7);
    assert.equal(collectXcom({ spec: { completions: 1, template: {} } }, []), null);
    const indexed: V1Job = { spec: { completions: 3, completionMode: 'Indexed', template: {} } };
    assert.deepEqual(collectXcom(indexed, [
      { pod: 'c', index: 2, finishedAt: 1, value: 'two' },
      { pod: 'a', index: 0, finishedAt: 3, value: 'zero' },
      { pod: 'b', index: 1, finishedAt: 2, value: 'one' },
    ]), ['zero', 'one', 'two']);
    assert.deepEqual(collectXcom({ spec: { completions: 2, template: {} } }, [
      { pod: 'b', index: undefined, finishedAt: 5, value: 'late' },
      { pod: 'a', index: undefined, finishedAt: 1, value: 'early' },
    ]), ['early', 'late']);
  });
});
