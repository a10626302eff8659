// `helm lint` on the chart with every values file; values.schema.json refuses unknown keys at every level and
// stays in step with Capstan's option table; and the capstan.yaml each values file renders is accepted by
// Capstan's own config loader with the environment the pods get.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { configSchema, SCHEMA_FILE } from '../../scripts/chart-config-schema.ts';
import { CHART, containers, find, helm, HELM_MISSING, render, renderError, runHelm, secretData, VALUES_FILES } from './helm.ts';
import type { K8sObject } from './helm.ts';

const skip = !helm && HELM_MISSING;

void describe('chart: helm lint', { skip }, () => {
  for (const file of ['values.yaml', ...VALUES_FILES]) {
    void test(`helm lint --strict with ${file}`, () => {
      const r = runHelm(['lint', CHART, '--strict', '--namespace', 'capstan', '--values', join(CHART, file)]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }
});

void describe('chart: values schema', { skip }, () => {
  void test('unknown keys are refused at the top, in a component, in a nested object and in config', () => {
    assert.match(renderError({ values: { schedular: { replicas: 2 } } }), /additional properties 'schedular' not allowed/i);
    assert.match(renderError({ values: { scheduler: { replica: 2 } } }), /additional properties 'replica' not allowed/i);
    assert.match(renderError({ values: { apiServer: { service: { nodeport: 30007 } } } }), /additional properties 'nodeport' not allowed/i);
    assert.match(renderError({ values: { config: { core: { paralellism: 4 } } } }), /additional properties 'paralellism' not allowed/i);
    assert.match(renderError({ values: { config: { sheduler: {} } } }), /additional properties 'sheduler' not allowed/i);
  });

  void test('wrong types and enum values are refused', () => {
    assert.match(renderError({ values: { scheduler: { replicas: 'two' } } }), /replicas/);
    assert.match(renderError({ values: { dags: { delivery: 'rsync' } } }), /delivery/);
    assert.match(renderError({ values: { config: { core: { executor: 'CeleryExecutor' } } } }), /executor/);
  });

  void test('every object the schema describes closes its keys (additionalProperties: false)', () => {
    const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as unknown;
    const open: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (node === null || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (n['properties'] !== undefined && n['additionalProperties'] !== false) open.push(path);
      for (const [key, child] of Object.entries(n)) walk(child, `${path}/${key}`);
    };
    walk(schema, '#');
    assert.deepEqual(open, []);
  });

  void test("the config schema is the option table's (node scripts/chart-config-schema.ts rewrites it)", () => {
    const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { properties: Record<string, unknown> };
    assert.deepEqual(schema.properties['config'], configSchema());
  });
});

/** The environment a Capstan pod gets: literal values, and Secret references resolved from the rendered Secrets. */
function podEnv(objects: K8sObject[], component: string): Record<string, string> {
  const container = containers(find(objects, 'Deployment', `rel-capstan-${component}`)).find((c) => c.name === component);
  assert.ok(container);
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    const value = ref ? secretData(find(objects, 'Secret', ref.name))[ref.key] : e.value;
    assert.ok(value !== undefined, `${component}: env ${e.name} resolves`);
    env[e.name] = value;
  }
  return env;
}

void describe('chart: the rendered configuration loads in Capstan', { skip }, () => {
  for (const file of ['values.yaml', 'values-dev.yaml', 'values-staging.yaml']) {
    void test(`capstan.yaml and the pod environment of ${file} pass loadConfig`, () => {
      const objects = render({ files: [file], namespace: 'data' });
      const dir = mkdtempSync(join(tmpdir(), 'capstan-chart-config-'));
      try {
        const configFile = join(dir, 'capstan.yaml');
        writeFileSync(configFile, (find(objects, 'ConfigMap', 'rel-capstan-config')['data'] as Record<string, string>)['capstan.yaml'] ?? '');
        for (const component of ['scheduler', 'api-server', 'dag-processor', 'triggerer']) {
          const env: Record<string, string> = { ...podEnv(objects, component), CAPSTAN_CONFIG: configFile, CAPSTAN_HOME: join(dir, 'home') };
          const config = loadConfig({ env, homeOverride: dir });
          assert.equal(config.core.executor, 'KubernetesExecutor');
          assert.equal(config.api.host, '0.0.0.0');
          assert.equal(config.api.port, 8080);
          assert.equal(config.api.executionApiUrl, 'http://rel-capstan-api-server.data.svc:8080');
          assert.equal(config.kubernetesExecutor.namespace, 'data');
          assert.equal(config.kubernetesExecutor.podTemplateFile, '/opt/capstan/config/pod-template.yaml');
          assert.match(config.database.url, /^postgresql:\/\/capstan:[A-Za-z0-9]+@rel-capstan-postgresql\.data\.svc:5432\/capstan$/);
          assert.equal(config.core.fernetKey, env['CAPSTAN__CORE__FERNET_KEY'], 'the key comes from the Secret, none is generated');
          assert.equal(config.logging.baseLogFolder, '/opt/capstan/logs');
          assert.ok(config.core.dagsFolder.startsWith('/opt/capstan/dags'));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  void test('values-prod.yaml takes its database URL and keys from Secrets of yours', () => {
    const objects = render({ files: ['values-prod.yaml'] });
    const env = containers(find(objects, 'Deployment', 'rel-capstan-scheduler'))[0]?.env ?? [];
    assert.deepEqual(env.find((e) => e.name === 'CAPSTAN__DATABASE__URL')?.valueFrom?.secretKeyRef, { name: 'capstan-database', key: 'url' });
    assert.deepEqual(env.find((e) => e.name === 'CAPSTAN__CORE__FERNET_KEY')?.valueFrom?.secretKeyRef, { name: 'capstan-keys', key: 'fernet-key' });
    assert.equal(objects.filter((o) => o.kind === 'StatefulSet').length, 0);
  });
});
