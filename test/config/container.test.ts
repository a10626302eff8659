/**
 * `api.host` inside a container: 0.0.0.0 when CAPSTAN_IN_CONTAINER (the Capstan image) or KUBERNETES_SERVICE_HOST
 * (every pod) says so and nothing sets it, because a loopback bind there is reachable by no Service or port
 * mapping; 127.0.0.1 everywhere else. The image test (test/image) checks the real bind in a container.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { configSources, describeConfig, loadConfig } from '../../src/config/index.ts';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Load with a private home and only `env` as the environment. */
function load(env: Record<string, string>) {
  const home = mkdtempSync(join(tmpdir(), 'capstan-container-'));
  roots.push(home);
  return loadConfig({ env: { CAPSTAN_HOME: home, ...env }, homeOverride: join(home, 'user') });
}

void describe('api.host in a container', () => {
  void it('binds every interface when the image says it runs in a container; task processes still use loopback', () => {
    const config = load({ CAPSTAN_IN_CONTAINER: '1' });
    assert.equal(config.api.host, '0.0.0.0');
    assert.equal(config.api.executionApiUrl, 'http://127.0.0.1:8080');
    assert.equal(configSources(config)?.get('api.host'), 'default in a container (CAPSTAN_IN_CONTAINER)');
    const row = describeConfig(config).find((r) => r.section === 'api' && r.key === 'host');
    assert.equal(row?.source, 'default in a container (CAPSTAN_IN_CONTAINER)');
  });

  void it('binds every interface in any Kubernetes pod (KUBERNETES_SERVICE_HOST)', () => {
    const config = load({ KUBERNETES_SERVICE_HOST: '10.96.0.1' });
    assert.equal(config.api.host, '0.0.0.0');
    assert.equal(configSources(config)?.get('api.host'), 'default in a container (KUBERNETES_SERVICE_HOST)');
  });

  void it('a given api.host wins, and CAPSTAN_IN_CONTAINER=0 keeps loopback even in a pod', () => {
    assert.equal(load({ CAPSTAN_IN_CONTAINER: '1', CAPSTAN__API__HOST: '127.0.0.1' }).api.host, '127.0.0.1');
    assert.equal(load({ KUBERNETES_SERVICE_HOST: '10.96.0.1', CAPSTAN_IN_CONTAINER: '0' }).api.host, '127.0.0.1');
  });

  void it('outside a container the default stays loopback', () => {
    const config = load({});
    assert.equal(config.api.host, '127.0.0.1');
    assert.equal(configSources(config)?.get('api.host'), 'default');
  });
});
