import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, describeConfig, ensureGeneratedSecrets, generateFernetKey, isFernetKey, loadConfig } from '../../src/config/index.ts';
import { OPTIONS } from '../../src/config/defaults.ts';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-config-'));
  roots.push(dir);
  return dir;
}

/** Load with a private home and no process environment. */
function load(env: Record<string, string> = {}, extra: { configPath?: string } = {}) {
  const home = tempDir();
  return { home, config: loadConfig({ env: { CAPSTAN_HOME: home, ...env }, homeOverride: join(home, 'user'), ...extra }) };
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'config_invalid');
    return err;
  }
  assert.fail('expected a ConfigError');
}

void describe('loadConfig defaults', () => {
  void it('derives paths and URLs from the home folder and API address', () => {
    const { home, config } = load();
    assert.equal(config.core.home, home);
    assert.equal(config.core.dagsFolder, join(home, 'dags'));
    assert.equal(config.logging.baseLogFolder, join(home, 'logs'));
    assert.equal(config.database.url, `sqlite://${home}/capstan.db`);
    assert.match(config.database.url, /^sqlite:\/\/\//);
    assert.equal(config.api.executionApiUrl, 'http://127.0.0.1:8080');
    assert.equal(config.core.parallelism, 32);
    assert.equal(config.scheduler.taskHeartbeatTimeoutMs, 300_000);
    assert.equal(config.logging.format, 'json');
  });

  void it('uses ~/capstan when CAPSTAN_HOME is unset', () => {
    const user = tempDir();
    const config = loadConfig({ env: {}, homeOverride: user });
    assert.equal(config.core.home, join(user, 'capstan'));
    assert.equal(config.core.dagsFolder, join(user, 'capstan', 'dags'));
  });
});

void describe('loadConfig layering', () => {
  void it('reads a YAML file and lets the environment win over it', () => {
    const dir = tempDir();
    const file = join(dir, 'my.yaml');
    writeFileSync(file, 'core:\n  parallelism: 7\n  dagsFolder: ./my-dags\n  loadExamples: false\napi:\n  port: 9999\nscheduler:\n  loopIntervalMs: 2s\n');
    const { config } = load({ CAPSTAN__CORE__PARALLELISM: '11' }, { configPath: file });
    assert.equal(config.core.parallelism, 11);
    assert.equal(config.core.dagsFolder, join(dir, 'my-dags'), 'relative paths resolve against the file folder');
    assert.equal(config.core.loadExamples, false);
    assert.equal(config.api.executionApiUrl, 'http://127.0.0.1:9999', 'derived from the configured port');
    assert.equal(config.scheduler.loopIntervalMs, 2000);
  });

  void it('finds <home>/capstan.yaml, and $CAPSTAN_CONFIG before it', () => {
    const home = tempDir();
    writeFileSync(join(home, 'capstan.yaml'), 'core:\n  parallelism: 3\n');
    const other = join(tempDir(), 'other.yaml');
    writeFileSync(other, 'core:\n  parallelism: 4\n');
    assert.equal(loadConfig({ env: { CAPSTAN_HOME: home } }).core.parallelism, 3);
    assert.equal(loadConfig({ env: { CAPSTAN_HOME: home, CAPSTAN_CONFIG: other } }).core.parallelism, 4);
  });

  void it('maps SCREAMING_SNAKE env names to camelCase keys and coerces their text', () => {
    const { config } = load({
      CAPSTAN__CORE__DAGS_FOLDER: '/srv/dags',
      CAPSTAN__CORE__CATCHUP_BY_DEFAULT: 'true',
      CAPSTAN__DAG_PROCESSOR__PARSE_TIMEOUT_MS: '1m',
      CAPSTAN__LOCAL_EXECUTOR__WARM_PROCESSES: '0',
      CAPSTAN__SCHEDULER__MAX_TIS_PER_QUERY: '64',
      CAPSTAN__API__TASK_TOKEN_TTL_MS: '1500',
      CAPSTAN__LOGGING__FORMAT: 'pretty',
      CAPSTAN__DATABASE__URL: 'postgresql://u:p@db:5432/capstan',
    });
    assert.equal(config.core.dagsFolder, '/srv/dags');
    assert.equal(config.core.catchupByDefault, true);
    assert.equal(config.dagProcessor.parseTimeoutMs, 60_000);
    assert.equal(config.localExecutor.warmProcesses, 0);
    assert.equal(config.scheduler.maxTisPerQuery, 64);
    assert.equal(config.api.taskTokenTtlMs, 1500);
    assert.equal(config.logging.format, 'pretty');
    assert.equal(config.database.url, 'postgresql://u:p@db:5432/capstan');
  });

  void it('lets CAPSTAN__CORE__HOME win over CAPSTAN_HOME', () => {
    const a = tempDir();
    const b = tempDir();
    const config = loadConfig({ env: { CAPSTAN_HOME: a, CAPSTAN__CORE__HOME: b } });
    assert.equal(config.core.home, b);
    assert.equal(config.core.dagsFolder, join(b, 'dags'));
  });
});

void describe('loadConfig errors', () => {
  void it('rejects an unknown env key with a suggestion naming the variable', () => {
    const err = configError(() => load({ CAPSTAN__CORE__DAGS_FOLDR: '/x' }));
    assert.equal(err.issues.length, 1);
    assert.match(err.message, /CAPSTAN__CORE__DAGS_FOLDR/);
    assert.match(err.message, /did you mean CAPSTAN__CORE__DAGS_FOLDER\?/);
    assert.match(err.hint ?? '', /rename it to CAPSTAN__CORE__DAGS_FOLDER/);
  });

  void it('rejects unknown sections and keys in the file, naming the file', () => {
    const file = join(tempDir(), 'capstan.yaml');
    writeFileSync(file, 'schedular:\n  loopIntervalMs: 5\ncore:\n  dags_folder: /x\n');
    const err = configError(() => load({}, { configPath: file }));
    assert.deepEqual(
      err.issues.map((i) => [i.source, i.key]),
      [
        [file, 'schedular'],
        [file, 'core.dags_folder'],
      ],
    );
    assert.match(err.message, /did you mean 'scheduler'\?/);
    assert.match(err.message, /did you mean 'core\.dagsFolder'\?/);
  });

  void it('names the source, key, bad value and fix for a bad value', () => {
    const err = configError(() => load({ CAPSTAN__CORE__PARALLELISM: 'lots' }));
    const [issue] = err.issues;
    assert.equal(issue?.source, 'environment variable CAPSTAN__CORE__PARALLELISM');
    assert.equal(issue?.key, 'core.parallelism');
    assert.equal(issue?.value, 'lots');
    assert.match(err.message, /core\.parallelism = "lots"/);
    assert.match(issue?.fix ?? '', /whole number of at least 1/);
  });

  void it('reports every problem at once', () => {
    const err = configError(() => load({ CAPSTAN__CORE__PARALLELISM: '0', CAPSTAN__SCHEDULER__LOOP_INTERVAL_MS: 'soon', CAPSTAN__CORE__EXECUTOR: 'LocalExecuter', CAPSTAN__API__EXECUTION_API_URL: 'ftp://x' }));
    assert.deepEqual(err.issues.map((i) => i.key).sort(), ['api.executionApiUrl', 'core.executor', 'core.parallelism', 'scheduler.loopIntervalMs']);
    assert.match(err.message, /did you mean 'LocalExecutor'\?/);
  });

  void it('never echoes a secret value', () => {
    const err = configError(() => load({ CAPSTAN__CORE__FERNET_KEY: 'not-a-real-key-but-secret' }));
    assert.equal(err.issues[0]?.value, '***');
    assert.doesNotMatch(err.message, /not-a-real-key-but-secret/);
  });

  void it('rejects a missing explicit file, bad YAML and a non-mapping section', () => {
    const dir = tempDir();
    assert.match(configError(() => load({}, { configPath: join(dir, 'missing.yaml') })).message, /does not exist/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'core:\n  parallelism: [1\n');
    assert.match(configError(() => load({}, { configPath: bad })).message, /cannot be read as YAML/);
    const flat = join(dir, 'flat.yaml');
    writeFileSync(flat, 'core: 5\n');
    assert.match(configError(() => load({}, { configPath: flat })).message, /must be a mapping/);
  });

  void it('flags a CAPSTAN_ variable with a single underscore that looks like a setting', () => {
    const err = configError(() => load({ CAPSTAN_CORE__PARALLELISM: '4' }));
    assert.match(err.hint ?? '', /CAPSTAN__CORE__PARALLELISM/);
  });

  void it('leaves variable and connection env vars alone even when their names contain __', () => {
    assert.doesNotThrow(() => load({ CAPSTAN_VAR_MY__KEY: 'x', CAPSTAN_CONN_DB__MAIN: 'postgresql://h/db' }));
  });

  void it('rejects a relative sqlite URL', () => {
    const err = configError(() => load({ CAPSTAN__DATABASE__URL: 'sqlite://rel/path.db' }));
    assert.equal(err.issues[0]?.key, 'database.url');
  });
});

void describe('generated secrets', () => {
  void it('creates fernet.key and secret.key once (mode 0600) and reuses them', () => {
    const home = tempDir();
    const first = loadConfig({ env: { CAPSTAN_HOME: home } });
    const second = loadConfig({ env: { CAPSTAN_HOME: home } });
    assert.ok(isFernetKey(first.core.fernetKey));
    assert.equal(first.core.fernetKey.length, 44);
    assert.equal(second.core.fernetKey, first.core.fernetKey);
    assert.equal(second.api.secretKey, first.api.secretKey);
    assert.equal(readFileSync(join(home, 'fernet.key'), 'utf8').trim(), first.core.fernetKey);
    assert.equal(statSync(join(home, 'fernet.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'secret.key')).mode & 0o777, 0o600);
  });

  void it('uses configured keys and writes no file for them', () => {
    const home = tempDir();
    const key = generateFernetKey();
    const out = ensureGeneratedSecrets(home, { fernetKey: key, secretKey: 'x'.repeat(32) });
    assert.equal(out.fernetKey, key);
    assert.deepEqual(out.files, {});
    assert.throws(() => statSync(join(home, 'fernet.key')), /ENOENT/);
  });

  void it('accepts a comma-separated key list for rotation, and rejects one bad member', () => {
    const keys = `${generateFernetKey()},${generateFernetKey()}`;
    assert.equal(load({ CAPSTAN__CORE__FERNET_KEY: keys }).config.core.fernetKey, keys);
    configError(() => load({ CAPSTAN__CORE__FERNET_KEY: `${generateFernetKey()},oops` }));
  });

  void it('refuses a malformed stored key', () => {
    const home = tempDir();
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'fernet.key'), 'garbage\n');
    const err = configError(() => ensureGeneratedSecrets(home, {}));
    assert.equal(err.issues[0]?.source, join(home, 'fernet.key'));
  });
});

void describe('describeConfig', () => {
  void it('lists every option with its source and masks secrets', () => {
    const { config } = load({ CAPSTAN__CORE__PARALLELISM: '5', CAPSTAN__DATABASE__URL: 'postgresql://u:hunter2@db/capstan' });
    const rows = describeConfig(config);
    const row = (section: string, key: string) => rows.find((r) => r.section === section && r.key === key);
    assert.deepEqual(
      { value: row('core', 'parallelism')?.value, default: row('core', 'parallelism')?.default, source: row('core', 'parallelism')?.source },
      { value: 5, default: 32, source: 'CAPSTAN__CORE__PARALLELISM' },
    );
    assert.equal(row('core', 'dagsFolder')?.source, 'derived');
    assert.equal(row('core', 'fernetKey')?.value, '***');
    assert.match(row('core', 'fernetKey')?.source ?? '', /^generated: .*fernet\.key$/);
    assert.equal(row('api', 'secretKey')?.value, '***');
    assert.equal(row('database', 'url')?.value, 'postgresql://u:***@db/capstan');
    assert.ok(rows.every((r) => r.description.length > 0));
    // One row per option of the table, whatever sections other features add.
    assert.equal(rows.length, Object.values(OPTIONS).reduce((n, section) => n + Object.keys(section).length, 0));
    assert.ok(row('kubernetesExecutor', 'namespace') && row('core', 'executor'));
    assert.ok(describeConfig(config, 'api').every((r) => r.section === 'api'));
  });
});

void describe('generated secrets across processes', () => {
  void it('gives processes that start together the same keys', async () => {
    const home = tempDir();
    const script = `import { loadConfig } from ${JSON.stringify(new URL('../../src/config/index.ts', import.meta.url).href)};
const c = loadConfig({ env: { CAPSTAN_HOME: ${JSON.stringify(home)} } });
process.stdout.write(c.core.fernetKey + ' ' + c.api.secretKey);`;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout) => (err ? reject(err) : resolve(stdout)));
      });
    const outputs = await Promise.all([run(), run(), run(), run()]);
    assert.equal(new Set(outputs).size, 1, `processes disagree: ${outputs.join(' | ')}`);
    assert.equal(outputs[0]?.split(' ')[0], readFileSync(join(home, 'fernet.key'), 'utf8').trim());
  });
});
