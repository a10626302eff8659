// SparkApplication building from Airflow's template format: the kubernetes: section mapped onto driver and
// executors, container_resources converted, image/codePath/name/namespace/labels; a golden manifest; inline
// YAML and JSON and templateSpec give the same result; bad templates fail with the field path; the pure
// reading of the application's state. Set UPDATE_GOLDEN=1 to rewrite the golden file after a deliberate change.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { buildSparkApplication, driverPodName, sparkEnd } from '../../src/kubernetes/spark/index.ts';
import type { SparkApplicationOptions } from '../../src/kubernetes/spark/index.ts';
import { renderPodYaml } from '../../src/kubernetes/index.ts';
import { identity } from './goldenCases.ts';

export const SPARK_TEMPLATE = join(import.meta.dirname, 'sparkFixtures', 'spark-pi.yaml');
const golden = join(import.meta.dirname, 'sparkGolden', 'spark-pi.yaml');
const context = { identity, randomSuffix: () => 'x7k2m9q4', defaultNamespace: 'etl' };
const build = (o: SparkApplicationOptions) => buildSparkApplication(o, context);
const options: SparkApplicationOptions = { applicationFile: SPARK_TEMPLATE, image: 'spark:3.5.3', codePath: 'local:///opt/spark/examples/src/main/python/pi.py' };

function buildError(o: SparkApplicationOptions): string {
  try {
    build(o);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected the build to fail');
}

void describe('spark application builder', () => {
  test('golden manifest of the seed-style template', () => {
    const yaml = renderPodYaml(build(options));
    if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(golden)) {
      if (process.env['UPDATE_GOLDEN'] !== '1') assert.fail(`no golden file ${golden}: run with UPDATE_GOLDEN=1 and review it`);
      writeFileSync(golden, yaml);
    }
    assert.equal(yaml, readFileSync(golden, 'utf8'));
  });

  test('kubernetes: section goes to driver and executors; resources converted', () => {
    const app = build(options) as { metadata: { name: string; namespace: string; labels: Record<string, string> }; spec: Record<string, Record<string, unknown>> };
    const { driver, executor } = app.spec as { driver: Record<string, unknown>; executor: Record<string, unknown> };
    for (const role of [driver, executor]) {
      assert.deepEqual(role['env'], [{ name: 'STAGE', value: 'prod' }]);
      assert.deepEqual(role['envFrom'], [{ configMapRef: { name: 'spark-defaults' } }, { configMapRef: { name: 'configmap_1' } }, { secretRef: { name: 'secret_1' } }]);
      assert.deepEqual(role['nodeSelector'], { pool: 'spark' });
      assert.deepEqual(Object.keys(role['affinity'] as object), ['podAntiAffinity']);
      assert.deepEqual(role['configMaps'], [{ name: 'snowflake-default', path: '/mnt/tmp' }]);
      assert.deepEqual(role['volumeMounts'], [{ name: 'config', mountPath: '/airflow' }]);
      assert.equal((role['labels'] as Record<string, string>)['capstan.dev/task-id'], 'load');
      assert.equal(role['container_resources'], undefined);
    }
    assert.deepEqual(app.spec['volumes'], [{ name: 'config', persistentVolumeClaim: { claimName: 'airflow' } }]);
    assert.deepEqual(app.spec['imagePullSecrets'], ['registry-creds']);
    assert.equal(driver['cores'], 1);
    assert.equal(driver['coreLimit'], '1200m');
    assert.equal(driver['memory'], '1000m'); // 1400Mi / 1.4: the operator adds its 40 % overhead back
    assert.equal(driver['gpu'], undefined);
    assert.equal(executor['coreRequest'], '500m');
    assert.equal(executor['memory'], '1462m'); // 2Gi / 1.4
    assert.deepEqual(executor['gpu'], { name: 'nvidia.com/gpu', quantity: 1 });
    assert.equal(app.spec['image'] as unknown, 'spark:3.5.3');
    assert.equal(app.spec['mainApplicationFile'] as unknown, 'local:///opt/spark/examples/src/main/python/pi.py');
    assert.equal(app.metadata.name, 'load-x7k2m9q4');
    assert.equal(app.metadata.namespace, 'ds');
    assert.equal(app.metadata.labels['capstan.dev/kind'], 'spark-operator');
  });

  test('inline YAML, inline JSON and templateSpec build the same application as the file', () => {
    const text = readFileSync(SPARK_TEMPLATE, 'utf8');
    const fromFile = build(options);
    assert.deepEqual(build({ ...options, applicationFile: text }), fromFile);
    assert.deepEqual(build({ ...options, applicationFile: JSON.stringify(parseYaml(text)) }), fromFile);
    assert.deepEqual(build({ ...options, applicationFile: undefined, templateSpec: parseYaml(text) as Record<string, unknown> }), fromFile);
  });

  test('a plain SparkApplication manifest is accepted; the name leaves room for -driver', () => {
    const app = build({ templateSpec: { apiVersion: 'sparkoperator.k8s.io/v1beta2', kind: 'SparkApplication', metadata: { name: 'x'.repeat(80) }, spec: { image: 'spark:3.5.3', mainApplicationFile: 'local:///a.py' } } }) as { metadata: { name: string } };
    assert.ok(app.metadata.name.length <= 56, app.metadata.name);
    assert.ok(`${app.metadata.name}-driver`.length <= 63);
  });

  test("memory in Spark's notation (512m, 1g, 2G, 1gb, 1024k, 1t) as Airflow's template writes it", () => {
    const memoryOf = (limit: string | number): unknown => {
      const app = build({ templateSpec: { spark: { spec: { image: 'i', mainApplicationFile: 'a', driver: { container_resources: { memory: { limit } } } } } } }) as { spec: { driver: Record<string, unknown> } };
      return app.spec.driver['memory'];
    };
    assert.equal(memoryOf('512m'), '365m'); // 512 MiB / 1.4
    assert.equal(memoryOf('512M'), '365m');
    assert.equal(memoryOf('512mb'), '365m');
    assert.equal(memoryOf('1g'), '731m'); // 1024 MiB / 1.4
    assert.equal(memoryOf('1G'), '731m');
    assert.equal(memoryOf('1gb'), '731m');
    assert.equal(memoryOf('1.5g'), '1097m');
    assert.equal(memoryOf('1048576k'), '731m');
    assert.equal(memoryOf('1t'), `${Math.floor(1024 * 1024 / 1.4)}m`);
    assert.equal(memoryOf('1Gi'), '731m', 'Kubernetes binary quantities still work');
    assert.equal(memoryOf('1400Mi'), '1000m');
    assert.match(buildError({ templateSpec: { spark: { spec: { image: 'i', mainApplicationFile: 'a', driver: { container_resources: { memory: { limit: '1x' } } } } } } }),
      /^spark.spec.driver.container_resources.memory.limit: '1x' is not a memory size/);
  });

  test('kubernetes.env_vars as a record becomes a list of {name, value}; image_pull_secrets as "a,b" becomes a list', () => {
    const app = build({ templateSpec: {
      spark: { spec: { image: 'i', mainApplicationFile: 'a' } },
      kubernetes: { env_vars: { STAGE: 'prod', REGION: 'eu' }, image_pull_secrets: 'registry-a, registry-b' },
    } }) as { spec: { driver: Record<string, unknown>; executor: Record<string, unknown>; imagePullSecrets: unknown } };
    for (const role of [app.spec.driver, app.spec.executor]) assert.deepEqual(role['env'], [{ name: 'STAGE', value: 'prod' }, { name: 'REGION', value: 'eu' }]);
    assert.deepEqual(app.spec.imagePullSecrets, ['registry-a', 'registry-b']);
    const camel = build({ templateSpec: { spark: { spec: { image: 'i', mainApplicationFile: 'a' } }, kubernetes: { envVars: { A: '1' }, imagePullSecrets: 'one' } } }) as { spec: { driver: Record<string, unknown>; imagePullSecrets: unknown } };
    assert.deepEqual(camel.spec.driver['env'], [{ name: 'A', value: '1' }]);
    assert.deepEqual(camel.spec.imagePullSecrets, ['one']);
  });

  test('a bare string as kubernetes.env_vars, or a non-string env value, is an argument error naming the option', () => {
    const spark = { spec: { image: 'i', mainApplicationFile: 'a' } };
    assert.match(buildError({ templateSpec: { spark, kubernetes: { env_vars: 'STAGE=prod' } } }), /^kubernetes\.env_vars: must be a list of \{name, value\} or a record of name → value, not a string/);
    assert.match(buildError({ templateSpec: { spark, kubernetes: { env_vars: { N: 3 } } } }), /^kubernetes\.env_vars\.N: 3 is not a string/);
    assert.match(buildError({ templateSpec: { spark, kubernetes: { env_vars: [{ value: 'x' }] } } }), /^kubernetes\.env_vars\[0\]\.name: an env var needs a name/);
    assert.match(buildError({ templateSpec: { spark, kubernetes: { image_pull_secrets: 7 } } }), /^kubernetes\.image_pull_secrets: must be a list of names or a comma-separated string/);
  });

  test('bad templates fail with the field path', () => {
    assert.match(buildError({}), /^applicationFile: give applicationFile/);
    assert.match(buildError({ applicationFile: '/nonexistent/spark.yaml' }), /^applicationFile: cannot read \/nonexistent\/spark.yaml/);
    assert.match(buildError({ templateSpec: { kubernetes: {} } }), /^spark: the template has no spark: section/);
    assert.match(buildError({ templateSpec: { spark: { kind: 'Pod', spec: {} } } }), /^spark.kind: is 'Pod'/);
    assert.match(buildError({ templateSpec: { spark: { spec: { image: 'i' } } } }), /^spark.spec.mainApplicationFile: the application has no main file/);
    assert.match(buildError({ templateSpec: { spark: { spec: { mainApplicationFile: 'a' } } } }), /^spark.spec.image: the application has no image/);
    assert.match(buildError({ ...options, templateSpec: {} }), /^templateSpec: give applicationFile or templateSpec, not both/);
    assert.match(buildError({ templateSpec: { spark: { spec: { image: 'i', mainApplicationFile: 'a', driver: { container_resources: { memory: { limit: 'lots' } } } } } } }),
      /^spark.spec.driver.container_resources.memory.limit: 'lots' is not a memory size/);
    assert.match(buildError({ templateSpec: { spark: { spec: { image: 'i', mainApplicationFile: 'a', dynamicAllocation: { enabled: true, minExecutors: 3, maxExecutors: 1 } } } } }),
      /^spark.spec.dynamicAllocation: minExecutors \(3\) is above maxExecutors \(1\)/);
  });

  test('state readings', () => {
    const app = (state: string, errorMessage?: string) => ({ status: { applicationState: { state, ...(errorMessage ? { errorMessage } : {}) } } });
    assert.equal(sparkEnd(app('RUNNING'), false), undefined);
    assert.equal(sparkEnd(app('SUBMITTED'), false), undefined);
    assert.deepEqual(sparkEnd(app('COMPLETED'), false), { kind: 'completed' });
    assert.deepEqual(sparkEnd(app('FAILED', 'driver OOM'), false), { kind: 'failed', state: 'FAILED', errorMessage: 'driver OOM' });
    assert.deepEqual(sparkEnd(app('SUBMISSION_FAILED', 'bad conf'), false), { kind: 'failed', state: 'SUBMISSION_FAILED', errorMessage: 'bad conf' });
    assert.deepEqual(sparkEnd(undefined, true), { kind: 'deleted' });
    assert.equal(driverPodName(undefined, 'pi'), 'pi-driver');
    assert.equal(driverPodName({ status: { driverInfo: { podName: 'custom' } } }, 'pi'), 'custom');
  });
});
