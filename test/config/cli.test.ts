import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'capstan-config-cli-'));
after(() => rmSync(home, { recursive: true, force: true }));

/** Run the real CLI in a child process with a private home and only the given Capstan variables. */
function capstan(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CAPSTAN')));
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...base, CAPSTAN_HOME: home, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

void describe('capstan config', () => {
  void it('get prints one value, from the environment when set there', async () => {
    const out = await capstan(['config', 'get', 'core.parallelism'], { CAPSTAN__CORE__PARALLELISM: '9' });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, '9\n');
  });

  void it('get masks secrets unless --reveal', async () => {
    const masked = await capstan(['config', 'get', 'core.fernetKey']);
    assert.equal(masked.stdout, '***\n');
    const revealed = await capstan(['config', 'get', 'core.fernetKey', '--reveal']);
    assert.match(revealed.stdout, /^[A-Za-z0-9_-]{43}=\n$/);
  });

  void it('list --section shows rows with sources as JSON', async () => {
    const out = await capstan(['-o', 'json', 'config', 'list', '--section', 'api'], { CAPSTAN__API__PORT: '9090' });
    assert.equal(out.code, 0, out.stderr);
    const rows = JSON.parse(out.stdout) as Array<{ section: string; key: string; value: unknown; source: string }>;
    assert.ok(rows.every((r) => r.section === 'api'));
    assert.deepEqual(
      rows.find((r) => r.key === 'port'),
      { section: 'api', key: 'port', value: 9090, default: 8080, source: 'CAPSTAN__API__PORT', description: 'Port the API server listens on; 0 picks a free port' },
    );
    assert.equal(rows.find((r) => r.key === 'executionApiUrl')?.value, 'http://127.0.0.1:9090');
  });

  void it('a misspelt variable fails with exit code 2 and a suggestion', async () => {
    const out = await capstan(['config', 'list'], { CAPSTAN__SCHEDULER__LOOP_INTERVL_MS: '1s' });
    assert.equal(out.code, 2);
    assert.match(out.stderr, /error \[config_invalid\].*did you mean CAPSTAN__SCHEDULER__LOOP_INTERVAL_MS\?/);
  });

  void it('an unknown key for get fails with a suggestion', async () => {
    const out = await capstan(['config', 'get', 'core.dagFolder']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /did you mean 'core\.dagsFolder'\?/);
  });
});
