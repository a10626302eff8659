/**
 * A broken multi-process deployment is refused at start (src/app/deploymentChecks.ts): components whose
 * api.secretKey or core.fernetKey differ from the fingerprint the first component recorded, on both
 * databases, and SQLite inside a Kubernetes pod. Then for real: two `capstan dag-processor` processes with
 * their own CAPSTAN_HOME (so each generates its own keys, as pods without the chart's Secret do) on one
 * PostgreSQL database — the second stops with an error naming the setting and the fix, until the keys match
 * or `capstan db forget-key` is run after an intended change.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertDeploymentConsistent } from '../../src/app/deploymentChecks.ts';
import { generateFernetKey, generateSecretKey, loadConfig } from '../../src/config/index.ts';
import { CapstanError } from '../../src/core/errors.ts';
import { forgetKeyFingerprint, keyFingerprint } from '../../src/store/deploymentKeys.ts';
import { forEachDialect } from '../support/dialects.ts';
import { createTestDatabase } from '../support/postgres.ts';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-deploy-'));
  roots.push(dir);
  return dir;
}

/** A config with its own home and the given keys (generated under the home when not given). */
function configWith(keys: { secretKey?: string; fernetKey?: string } = {}) {
  const home = tempDir();
  const env: Record<string, string> = { CAPSTAN_HOME: home };
  if (keys.secretKey) env['CAPSTAN__API__SECRET_KEY'] = keys.secretKey;
  if (keys.fernetKey) env['CAPSTAN__CORE__FERNET_KEY'] = keys.fernetKey;
  return loadConfig({ env, homeOverride: join(home, 'user') });
}

async function refusal(promise: Promise<unknown>): Promise<CapstanError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CapstanError, `expected a CapstanError, got ${String(err)}`);
    assert.equal(err.code, 'config_invalid');
    return err;
  }
  assert.fail('expected the component to be refused');
}

void describe('keyFingerprint', () => {
  void it('tells keys and settings apart and does not contain the key', () => {
    const key = generateSecretKey();
    assert.equal(keyFingerprint('api.secretKey', key), keyFingerprint('api.secretKey', key));
    assert.notEqual(keyFingerprint('api.secretKey', key), keyFingerprint('api.secretKey', generateSecretKey()));
    assert.notEqual(keyFingerprint('api.secretKey', key), keyFingerprint('core.fernetKey', key));
    assert.ok(!keyFingerprint('api.secretKey', key).includes(key));
  });
});

forEachDialect('shared key fingerprints', (t) => {
  const secretKey = generateSecretKey();
  const fernetKey = generateFernetKey();
  const noPod = { env: {} };

  void it('the first component records the fingerprints; every component with the same keys starts, also several at once', async () => {
    const config = configWith({ secretKey, fernetKey });
    await Promise.all([
      assertDeploymentConsistent(t.db, config, 'scheduler', { ...noPod, host: 'pod-a' }),
      assertDeploymentConsistent(t.db, configWith({ secretKey, fernetKey }), 'api-server', { ...noPod, host: 'pod-b' }),
    ]);
    await assertDeploymentConsistent(t.db, configWith({ secretKey, fernetKey }), 'triggerer', noPod);
    const rows = await t.db.db.selectFrom('deployment_key').selectAll().orderBy('name').execute();
    assert.deepEqual(rows.map((r) => r.name), ['api.secretKey', 'core.fernetKey']);
    assert.equal(rows[0]?.fingerprint, keyFingerprint('api.secretKey', secretKey));
    assert.ok(rows.every((r) => /^(scheduler@pod-a|api-server@pod-b)$/.test(r.recorded_by)));
  });

  void it('a different api.secretKey is refused, naming the setting, its variable and the fix', async () => {
    const err = await refusal(assertDeploymentConsistent(t.db, configWith({ secretKey: generateSecretKey(), fernetKey }), 'api-server', noPod));
    assert.match(err.message, /^api\.secretKey of this api-server differs from the key the other components of this database use \(first recorded by (scheduler@pod-a|api-server@pod-b) at 20\d\d-/);
    assert.match(err.message, /signs the task-try tokens/);
    assert.match(err.hint ?? '', /same api\.secretKey \(CAPSTAN__API__SECRET_KEY; the chart's keys Secret does\)/);
    assert.match(err.hint ?? '', /capstan db forget-key api\.secretKey/);
    assert.ok(!err.message.includes(secretKey) && !(err.hint ?? '').includes(secretKey), 'no key in the error');
  });

  void it('a different core.fernetKey is refused; a generated one says where it was generated', async () => {
    const config = configWith({ secretKey });
    const err = await refusal(assertDeploymentConsistent(t.db, config, 'dag-processor', noPod));
    assert.match(err.message, /^core\.fernetKey of this dag-processor differs/);
    assert.match(err.message, /This process generated its own under .*fernet\.key \(core\.home is per pod or container\)\./);
    assert.match(err.hint ?? '', /CAPSTAN__CORE__FERNET_KEY/);
  });

  void it('after an intended change and forget-key, the new key is recorded and the old one refused', async () => {
    const newSecret = generateSecretKey();
    assert.equal(await forgetKeyFingerprint(t.db, 'api.secretKey'), true);
    await assertDeploymentConsistent(t.db, configWith({ secretKey: newSecret, fernetKey }), 'scheduler', noPod);
    await refusal(assertDeploymentConsistent(t.db, configWith({ secretKey, fernetKey }), 'scheduler', noPod));
    assert.equal(await forgetKeyFingerprint(t.db, 'no.such'), false);
  });

  void it(t.dialect === 'sqlite' ? 'SQLite in a Kubernetes pod is refused, naming database.url' : 'PostgreSQL in a Kubernetes pod is fine', async () => {
    const pod = { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' } };
    const config = configWith({ secretKey: generateSecretKey(), fernetKey });
    await forgetKeyFingerprint(t.db, 'api.secretKey');
    if (t.dialect === 'sqlite') {
      const err = await refusal(assertDeploymentConsistent(t.db, config, 'scheduler', pod));
      assert.match(err.message, /^database\.url is a SQLite file in a Kubernetes pod/);
      assert.match(err.hint ?? '', /CAPSTAN__DATABASE__URL/);
    } else {
      await assertDeploymentConsistent(t.db, config, 'scheduler', pod);
    }
    // Outside a pod (CAPSTAN_IN_CONTAINER alone: one container may well use a mounted SQLite file) it starts.
    await assertDeploymentConsistent(t.db, config, 'scheduler', { env: { CAPSTAN_IN_CONTAINER: '1' } });
  });
});

void describe('two component processes with their own generated keys on one PostgreSQL database', () => {
  interface Run { code: number; stdout: string; stderr: string }
  const cli = (home: string, url: string, args: string[]): Promise<Run> => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CAPSTAN') && k !== 'KUBERNETES_SERVICE_HOST'));
    const dags = join(home, 'dags');
    mkdirSync(dags, { recursive: true });
    const env = { ...base, CAPSTAN_HOME: home, CAPSTAN__DATABASE__URL: url, CAPSTAN__CORE__DAGS_FOLDER: dags, CAPSTAN__CORE__LOAD_EXAMPLES: 'false' };
    return new Promise((resolve) => {
      execFile(process.execPath, [MAIN, ...args], { env }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }));
    });
  };

  void it('the second refuses to start, naming api.secretKey and where its key came from; forget-key lets a deliberate change through', async () => {
    const db = await createTestDatabase();
    try {
      const podA = tempDir();
      const podB = tempDir();
      const migrated = await cli(podA, db.url, ['db', 'migrate']);
      assert.equal(migrated.code, 0, migrated.stderr);
      const first = await cli(podA, db.url, ['dag-processor', '--once']);
      assert.equal(first.code, 0, first.stderr);

      const second = await cli(podB, db.url, ['dag-processor', '--once']);
      assert.notEqual(second.code, 0);
      assert.match(second.stderr, /api\.secretKey of this dag-processor differs from the key the other components of this database use \(first recorded by dag-processor@/);
      assert.match(second.stderr, new RegExp(`generated its own under ${podB.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.match(second.stderr, /CAPSTAN__API__SECRET_KEY/);

      for (const setting of ['api.secretKey', 'core.fernetKey']) {
        const forgot = await cli(podB, db.url, ['db', 'forget-key', setting]);
        assert.equal(forgot.code, 0, forgot.stderr);
      }
      const again = await cli(podB, db.url, ['dag-processor', '--once']);
      assert.equal(again.code, 0, again.stderr);
      const nowA = await cli(podA, db.url, ['dag-processor', '--once']);
      assert.notEqual(nowA.code, 0, 'the first pod, still on its old key, is now the odd one out');
    } finally {
      await db.drop();
    }
  });
});
