// Worker pods carry an explicit environment: the try's token, the worker flag, the template's own env and
// the executor's extra env (the mutation hook) — never the scheduler's secrets, whatever its environment holds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildWorkerPod, TASK_TOKEN_ENV } from '../../../src/executors/kubernetes/index.ts';

const SECRETS = {
  CAPSTAN__API__SECRET_KEY: 'pod-probe-secret-key-31d',
  CAPSTAN__CORE__FERNET_KEY: 'pod-probe-fernet-key-8e0',
  CAPSTAN__DATABASE__URL: 'postgresql://capstan:pod-probe-db-password@db/capstan',
};
const saved: Record<string, string | undefined> = {};
before(() => {
  for (const [k, v] of Object.entries(SECRETS)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});
after(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

void test('a worker pod built while the scheduler env holds secrets carries none of them', () => {
  const pod = buildWorkerPod({
    workload: { tiId: 'ti-1', tryNumber: 1, dagId: 'etl', runId: 'manual__1', taskId: 'load', mapIndex: -1 },
    executorId: 'job-1',
    executionApiUrl: 'http://capstan-api:8080',
    token: 'token-of-try-1',
    image: 'capstan/worker:1.0',
    namespace: 'default',
    watched: { kind: 'list', namespaces: ['default'] },
    env: { CAPSTAN__KUBERNETES__POD_MUTATION_HOOK: '/hooks.ts#mutate' },
    randomSuffix: () => 'abc12345',
  });
  const text = JSON.stringify(pod);
  for (const [name, value] of Object.entries(SECRETS)) {
    assert.ok(!text.includes(name), `${name} is in the worker pod`);
    assert.ok(!text.includes(value), `the value of ${name} is in the worker pod`);
  }
  const base = pod.spec?.containers.find((c) => c.name === 'base');
  assert.deepEqual(base?.env?.map((e) => e.name).sort(), ['CAPSTAN_WORKER_POD', 'CAPSTAN__KUBERNETES__POD_MUTATION_HOOK', TASK_TOKEN_ENV].sort());
});
