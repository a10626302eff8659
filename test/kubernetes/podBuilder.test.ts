// Pod building: golden manifests per parameter group and for template precedence, the merge rules (explicit
// false/0/''/[]/null override a template), names and label values made valid, and invalid specs failing with
// the path of the offending field. Set UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { V1Pod } from '@kubernetes/client-node';
import {
  POD_LABELS,
  buildPod,
  dns1123Label,
  isLabelValue,
  labelValue,
  mergeValues,
  podName,
  renderPodYaml,
  taskInstanceSelector,
} from '../../src/kubernetes/index.ts';
import type { BuildPodContext, PodOptions } from '../../src/kubernetes/index.ts';
import { InvalidArgument } from '../../src/core/errors.ts';
import { goldenCases, identity, TEMPLATE_FILE } from './goldenCases.ts';

const goldenDir = join(import.meta.dirname, 'golden');
const fixedSuffix = (): string => 'x7k2m9q4';

function build(options: PodOptions, context: Partial<BuildPodContext> = {}): V1Pod {
  return buildPod(options, { identity, randomSuffix: fixedSuffix, defaultNamespace: 'etl', ...context });
}

function buildError(options: PodOptions, context: Partial<BuildPodContext> = {}): string {
  try {
    build(options, context);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected the build to fail');
}

const base = (pod: V1Pod) => pod.spec?.containers.find((c) => c.name === 'base');

void describe('pod builder golden manifests', () => {
  for (const c of goldenCases) {
    void test(c.name, () => {
      const yaml = renderPodYaml(build(c.options, c.context));
      const file = join(goldenDir, `${c.name}.yaml`);
      if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(file)) {
        if (process.env['UPDATE_GOLDEN'] !== '1') assert.fail(`no golden file ${file}: run with UPDATE_GOLDEN=1 and review it`);
        writeFileSync(file, yaml);
      }
      assert.equal(yaml, readFileSync(file, 'utf8'));
    });
  }

  void test('the YAML round-trips to the same object and keys are in a stable order', () => {
    const pod = build(goldenCases.find((c) => c.name === 'scheduling')!.options);
    const yaml = renderPodYaml(pod);
    assert.deepEqual(parseYaml(yaml), JSON.parse(JSON.stringify(pod)));
    assert.match(yaml, /^apiVersion: v1\nkind: Pod\nmetadata:\n {2}name: /);
    const reverse = (v: unknown): unknown => Array.isArray(v) ? v.map(reverse)
      : typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverse(x)])) : v;
    const reordered = reverse(pod) as V1Pod;
    assert.equal(renderPodYaml(reordered), yaml);
  });
});

void describe('template precedence: arguments > fullPodSpec > template > defaults', () => {
  const pod = build(goldenCases.find((c) => c.name === 'template-precedence')!.options);

  void test('the argument wins over fullPodSpec, which wins over the template', () => {
    assert.equal(base(pod)?.image, 'registry.example.com/etl/load:3.1');
    assert.deepEqual(base(pod)?.args, ['from-full-spec'], 'fullPodSpec args stay when the arguments give none');
    assert.deepEqual(base(pod)?.command, ['load']);
    assert.equal(pod.metadata?.labels?.['tier'], 'critical');
    assert.equal(pod.metadata?.labels?.['owner'], 'ana');
    assert.equal(pod.metadata?.labels?.['team'], 'data', 'template labels merge in');
  });

  void test('objects merge key by key; the template base container keeps its other fields', () => {
    assert.deepEqual(pod.spec?.nodeSelector, { pool: 'batch', zone: 'a' });
    assert.deepEqual(base(pod)?.resources, { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } });
    assert.equal(base(pod)?.imagePullPolicy, 'IfNotPresent');
    assert.deepEqual(base(pod)?.env, [{ name: 'FROM_TEMPLATE', value: 'yes' }]);
  });

  void test('the template name is used (with a suffix), the sidecar kept after the base container', () => {
    assert.equal(pod.metadata?.name, 'from-template-x7k2m9q4');
    assert.deepEqual(pod.spec?.containers.map((c) => c.name), ['base', 'log-shipper']);
    assert.equal(pod.spec?.restartPolicy, 'Never');
  });
});

void describe('explicit values override a template (unlike Airflow)', () => {
  const pod = build(goldenCases.find((c) => c.name === 'explicit-empty-override')!.options);

  void test('false and 0 are values', () => {
    assert.equal(pod.spec?.hostNetwork, false);
    assert.equal(pod.spec?.automountServiceAccountToken, false);
    assert.equal(pod.spec?.securityContext?.runAsUser, 0);
    assert.equal(pod.spec?.securityContext?.runAsNonRoot, false);
    assert.equal(pod.spec?.securityContext?.fsGroup, 2000, 'other keys of the object stay');
  });

  void test('[] empties a list, null removes a value or a key', () => {
    assert.deepEqual(pod.spec?.tolerations, []);
    assert.deepEqual(base(pod)?.env, []);
    assert.equal(pod.spec?.activeDeadlineSeconds, undefined);
    assert.equal(pod.spec?.nodeSelector, undefined);
    assert.equal(pod.metadata?.labels?.['tier'], undefined);
    assert.equal(pod.metadata?.labels?.['team'], 'data');
    assert.deepEqual(base(pod)?.resources, { requests: { cpu: '250m' } });
  });

  void test('containers: [] drops the template sidecars but never the base container', () => {
    assert.deepEqual(pod.spec?.containers.map((c) => c.name), ['base']);
  });

  void test('undefined leaves the template alone', () => {
    const untouched = build({ podTemplateFile: TEMPLATE_FILE, hostNetwork: undefined });
    assert.equal(untouched.spec?.hostNetwork, true);
    assert.equal(untouched.spec?.activeDeadlineSeconds, 600);
  });

  void test("'' is a value too", () => {
    const pod2 = build({ image: 'busybox', podTemplateDict: { spec: { containers: [{ name: 'base', workingDir: '/srv' }] } }, workingDir: '' });
    assert.equal(base(pod2)?.workingDir, '');
  });
});

void describe('merge rules', () => {
  void test('containers merge by name, other lists replace', () => {
    const merged = mergeValues(
      { spec: { containers: [{ name: 'base', image: 'a', env: [{ name: 'X', value: '1' }] }, { name: 'side', image: 's' }], volumes: [{ name: 'v1' }] } },
      { spec: { containers: [{ name: 'base', env: [{ name: 'Y', value: '2' }] }, { name: 'new', image: 'n' }], volumes: [{ name: 'v2' }] } },
    );
    assert.deepEqual(merged, {
      spec: {
        containers: [{ name: 'base', image: 'a', env: [{ name: 'Y', value: '2' }] }, { name: 'side', image: 's' }, { name: 'new', image: 'n' }],
        volumes: [{ name: 'v2' }],
      },
    });
  });

  void test('init containers merge by name as containers do: the template\'s are kept, a same-named one is changed', () => {
    const template = {
      spec: {
        initContainers: [
          { name: 'fetch', image: 'busybox:1.36', command: ['sh', '-c', 'fetch'], resources: { limits: { memory: '64Mi' } } },
          { name: 'migrate', image: 'migrate:1' },
        ],
        containers: [{ name: 'base', image: 'app:1' }],
      },
    };
    const pod = build({
      podTemplateDict: template,
      initContainers: [{ name: 'fetch', image: 'busybox:1.37' }, { name: 'warm', image: 'warm:1' }],
    });
    assert.deepEqual(pod.spec?.initContainers, [
      { name: 'fetch', image: 'busybox:1.37', command: ['sh', '-c', 'fetch'], resources: { limits: { memory: '64Mi' } } },
      { name: 'migrate', image: 'migrate:1' },
      { name: 'warm', image: 'warm:1' },
    ]);
    // fullPodSpec over a template follows the same rule; null still removes them all.
    const full = build({ podTemplateDict: template, fullPodSpec: { spec: { containers: [], initContainers: [{ name: 'migrate', args: ['up'] }] } } });
    assert.deepEqual(full.spec?.initContainers?.map((c) => [c.name, c.image, c.args]), [['fetch', 'busybox:1.36', undefined], ['migrate', 'migrate:1', ['up']]]);
    assert.equal(build({ podTemplateDict: template, initContainers: null }).spec?.initContainers, undefined);
    assert.match(buildError({ image: 'x', fullPodSpec: { spec: { containers: [], initContainers: [{ image: 'y' } as never] } } }), /spec\.initContainers\[0\]: a container needs a name/);
  });

  void test('a layer container without a name is refused', () => {
    assert.match(buildError({ image: 'x', fullPodSpec: { spec: { containers: [{ image: 'y' } as never] } } }), /spec\.containers\[0\]: a container needs a name/);
  });
});

void describe('names and labels', () => {
  void test('pod names are DNS-1123 labels of at most 63 characters', () => {
    const cases = ['Load_Customers.v2', 'UPPER', '__x__', 'données', '日本語のタスク', 'a'.repeat(200), '-a-', ''];
    for (const text of cases) {
      for (const name of [podName(text, { suffix: fixedSuffix }), podName(text, { randomSuffix: false })]) {
        assert.ok(name.length <= 63, `${name} is longer than 63`);
        assert.match(name, /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, `${JSON.stringify(text)} → ${name}`);
      }
    }
    assert.equal(podName('Load_Customers.v2', { suffix: fixedSuffix }), 'load-customers-v2-x7k2m9q4');
    assert.equal(dns1123Label('données'), 'donnees');
    assert.equal(dns1123Label('日本語のタスク'), 'pod');
  });

  void test('long names are cut with a stable hash, so two long ids stay distinct', () => {
    const a = dns1123Label(`${'x'.repeat(70)}-a`);
    const b = dns1123Label(`${'x'.repeat(70)}-b`);
    assert.equal(a.length, 63);
    assert.notEqual(a, b);
    assert.equal(a, dns1123Label(`${'x'.repeat(70)}-a`));
  });

  void test('random suffixes differ between builds unless disabled', () => {
    const one = buildPod({ image: 'x' }, { identity }).metadata?.name;
    const two = buildPod({ image: 'x' }, { identity }).metadata?.name;
    assert.match(one ?? '', /^load-[a-z0-9]{8}$/);
    assert.notEqual(one, two);
    assert.equal(buildPod({ image: 'x', randomNameSuffix: false }, { identity }).metadata?.name, 'load');
  });

  void test('label values: valid ones unchanged, others cleaned and hash-suffixed (stable, distinct)', () => {
    assert.equal(labelValue('manual__2026-11-23'), 'manual__2026-11-23');
    assert.equal(labelValue(''), '');
    const inputs = ['scheduled__2026-11-23T00:00:00+00:00', 'Données Clients', '_leading', 'y'.repeat(64), 'y'.repeat(63) + 'z', '+++', 'ü'];
    const outputs = inputs.map(labelValue);
    for (const [i, v] of outputs.entries()) {
      assert.ok(isLabelValue(v), `${JSON.stringify(inputs[i])} → ${JSON.stringify(v)} is not a label value`);
      assert.ok(v.length <= 63);
      assert.equal(labelValue(inputs[i]!), v, 'stable');
    }
    assert.equal(new Set(outputs).size, outputs.length, 'distinct inputs give distinct values');
    assert.match(outputs[0]!, /^scheduled__2026-11-23T00_00_00_00_00-[0-9a-f]{8}$/);
  });

  void test('identity labels and annotations: dag, task, run, try, map index; exact ids in annotations', () => {
    const mapped = build({ image: 'x' }, { identity: { ...identity, runId: 'r:1', mapIndex: 0 } });
    assert.equal(mapped.metadata?.labels?.[POD_LABELS.mapIndex], '0');
    assert.equal(mapped.metadata?.labels?.[POD_LABELS.tryNumber], '1');
    assert.equal(mapped.metadata?.annotations?.[POD_LABELS.runId], 'r:1');
    assert.notEqual(mapped.metadata?.labels?.[POD_LABELS.runId], 'r:1');
    const plain = build({ image: 'x' });
    assert.equal(plain.metadata?.labels?.[POD_LABELS.mapIndex], undefined);
    assert.equal(taskInstanceSelector(identity), 'capstan.dev/dag-id=etl,capstan.dev/task-id=load,capstan.dev/run-id=manual__2026-11-23,capstan.dev/kind=pod-operator,!capstan.dev/map-index');
    assert.match(taskInstanceSelector({ ...identity, mapIndex: 4 }), /capstan\.dev\/map-index=4$/);
  });

  void test('identity labels cannot be overridden by user labels or templates', () => {
    const pod = build({ image: 'x', labels: { [POD_LABELS.dagId]: 'spoofed' } });
    assert.equal(pod.metadata?.labels?.[POD_LABELS.dagId], 'etl');
  });
});

void describe('namespace, mutation hook, attachments', () => {
  void test('namespace: argument > template > connection default', () => {
    assert.equal(build({ image: 'x', namespace: 'arg' }).metadata?.namespace, 'arg');
    assert.equal(build({ image: 'x', podTemplateDict: { metadata: { namespace: 'tpl' } } }).metadata?.namespace, 'tpl');
    assert.equal(build({ image: 'x' }).metadata?.namespace, 'etl');
    assert.equal(buildPod({ image: 'x' }, { identity }).metadata?.namespace, 'default');
  });

  void test('the pod mutation hook has the last word, and its result is still checked', () => {
    const pod = build({ image: 'x' }, { podMutationHook: (p) => ({ ...p, spec: { ...p.spec!, priorityClassName: 'from-hook' } }) });
    assert.equal(pod.spec?.priorityClassName, 'from-hook');
    assert.match(buildError({ image: 'x' }, {
      podMutationHook: (p) => {
        p.spec!.containers[0]!.resources = { limits: { cpu: 'lots' } };
        return p;
      },
    }), /spec\.containers\[0\]\.resources\.limits\.cpu: 'lots' is not a quantity/);
  });

  void test('configmaps, secrets and downward-API env add to the template instead of replacing', () => {
    const pod = build({ podTemplateFile: TEMPLATE_FILE, configmaps: ['cm'], downwardApiEnv: { IP: 'status.podIP' } });
    assert.deepEqual(base(pod)?.env?.map((e) => e.name), ['FROM_TEMPLATE', 'IP']);
    assert.deepEqual(base(pod)?.envFrom, [{ configMapRef: { name: 'cm' } }]);
  });
});

void describe('invalid specs fail with the field path', () => {
  const cases: [string, PodOptions, RegExp][] = [
    ['bad memory', { image: 'x', containerResources: { limits: { memory: '1GG' } } }, /^containerResources\.limits\.memory: '1GG' is not a quantity/],
    ['bad cpu', { image: 'x', containerResources: { requests: { cpu: 'fast' } } }, /containerResources\.requests\.cpu: 'fast' is not a quantity/],
    ['fractional gpu', { image: 'x', containerResources: { limits: { 'nvidia.com/gpu': '0.5' } } }, /containerResources\.limits\.nvidia\.com\/gpu: .*whole units/],
    ['gpu request ≠ limit', { image: 'x', containerResources: { requests: { 'nvidia.com/gpu': 1 }, limits: { 'nvidia.com/gpu': 2 } } }, /containerResources\.requests\.nvidia\.com\/gpu: 1 differs from limits/],
    ['unknown resources section', { image: 'x', containerResources: { limit: { cpu: '1' } } as never }, /containerResources\.limit: unknown field/],
    ['no image', {}, /spec\.containers\[0\]\.image: container 'base' has no image/],
    ['pull policy', { image: 'x', imagePullPolicy: 'Sometimes' as never }, /imagePullPolicy: 'Sometimes' is not one of/],
    ['label value', { image: 'x', labels: { team: 'data team' } }, /labels\.team: 'data team' is not a valid label value/],
    ['label key', { image: 'x', labels: { 'bad key': 'v' } }, /labels\.bad key: 'bad key' is not a valid key/],
    ['deadline', { image: 'x', activeDeadlineSeconds: 0 }, /activeDeadlineSeconds: 0 is not an integer ≥ 1/],
    ['grace', { image: 'x', terminationGracePeriodSeconds: 1.5 }, /terminationGracePeriodSeconds: 1\.5 is not an integer ≥ 0/],
    ['port', { image: 'x', ports: [{ containerPort: 0 }] }, /ports\[0\]\.containerPort: 0/],
    ['env value', { image: 'x', env: { N: 3 as never } }, /env\.N: 3 is not a string/],
    ['env as a string', { image: 'x', env: 'FOO=bar' as never }, /^env: must be a list of env vars or a record of name → value, not a string/],
    ['env as a number', { image: 'x', env: 3 as never }, /^env: must be a list of env vars or a record of name → value/],
    ['imagePullSecrets not names', { image: 'x', imagePullSecrets: 5 as never }, /^imagePullSecrets: must be a list of secret names or references, or a comma-separated string/],
    ['imagePullSecrets entry', { image: 'x', imagePullSecrets: [{}] as never }, /^imagePullSecrets\[0\]: \{\} is not a secret name or \{ name \}/],
    ['mount without volume', { image: 'x', volumeMounts: [{ name: 'data', mountPath: '/d' }] }, /spec\.containers\[0\]\.volumeMounts\[0\]\.name: no volume named 'data'/],
    ['sidecar named base', { image: 'x', containers: [{ name: 'base', image: 'y' }] }, /containers\[0\]\.name: 'base' is the task's own container/],
    ['duplicate container', { image: 'x', initContainers: [{ name: 'a', image: 'i' }], containers: [{ name: 'a', image: 'y' }] }, /spec\.containers\[1\]\.name: 'a' is used by two containers/],
    ['emptyDir size', { image: 'x', volumes: [{ name: 'v', emptyDir: { sizeLimit: 'big' } }] }, /spec\.volumes\[0\]\.emptyDir\.sizeLimit: 'big' is not a quantity/],
    ['both templates', { image: 'x', podTemplateFile: TEMPLATE_FILE, podTemplateDict: {} }, /podTemplateDict: give podTemplateFile or podTemplateDict, not both/],
    ['template kind', { image: 'x', podTemplateDict: { kind: 'Job' } }, /podTemplateDict\.kind: is 'Job', expected 'Pod'/],
    ['template file missing', { image: 'x', podTemplateFile: '/nonexistent/pod.yaml' }, /podTemplateFile: cannot read \/nonexistent\/pod\.yaml/],
  ];
  for (const [what, options, pattern] of cases) {
    void test(what, () => assert.match(buildError(options), pattern));
  }

  void test('env and imagePullSecrets of the wrong shape are argument errors, not a crash or variables named 0, 1, …', () => {
    assert.throws(() => build({ image: 'x', env: 'FOO=bar' as never }), (err: unknown) => err instanceof InvalidArgument && /^env:/.test(err.message));
    assert.throws(() => build({ image: 'x', imagePullSecrets: 5 as never }), (err: unknown) => err instanceof InvalidArgument && /^imagePullSecrets:/.test(err.message));
  });

  void test("imagePullSecrets as a comma-separated string, as Airflow's image_pull_secrets accepts", () => {
    assert.deepEqual(build({ image: 'x', imagePullSecrets: 'registry-a, registry-b,' }).spec?.imagePullSecrets, [{ name: 'registry-a' }, { name: 'registry-b' }]);
    assert.deepEqual(build({ image: 'x', imagePullSecrets: ['a', { name: 'b' }] }).spec?.imagePullSecrets, [{ name: 'a' }, { name: 'b' }]);
  });

  void test('a template that is not YAML names the file', () => {
    assert.match(buildError({ image: 'x', podTemplateFile: 't.yaml' }, { readFile: () => 'a: [unclosed' }), /podTemplateFile: t\.yaml is not YAML/);
    assert.match(buildError({ podTemplateFile: 't.yaml' }, { readFile: () => 'spec:\n  containers:\n    - name: base\n      resources: {limits: {memory: 2XB}}\n      image: x\n' }), /spec\.containers\[0\]\.resources\.limits\.memory: '2XB' is not a quantity/);
  });
});
