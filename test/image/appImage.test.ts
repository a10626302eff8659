/**
 * The Capstan image (docker/Dockerfile, built by scripts/image.sh with podman), run in real containers (podman +
 * runc, host network): its config and contents (non-root user `node`, entrypoint `capstan`, Node 24, no npm or
 * compilers), `db migrate` and `users create` against the PostgreSQL server the tests start, the api-server
 * answering /health, the web UI and a sign-in as that user on 0.0.0.0 (api.host's container default), the
 * scheduler's /health from the same image, every container process running as uid 1000 as the host's /proc
 * sees it, and a container with its own generated keys refused beside them.
 *
 * Skips when the image is not built (bash scripts/image.sh build); CI sets CAPSTAN_IMAGE_REQUIRED=1, and then a
 * missing image or podman fails instead.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createTestDatabase, stopPostgres, type TestDatabase } from '../support/postgres.ts';
import { freePort } from '../support/roles.ts';
import { waitFor } from '../support/processes.ts';

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'image.sh');

function builtImage(): string | undefined {
  const r = spawnSync('bash', [SCRIPT, 'name'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const image = builtImage();
if (!image && process.env['CAPSTAN_IMAGE_REQUIRED'] === '1') {
  throw new Error('CAPSTAN_IMAGE_REQUIRED=1 but the Capstan image is not built (or podman is missing): bash scripts/image.sh build');
}
const skip = image ? false : 'Capstan image not built (bash scripts/image.sh build; needs podman, runc and debootstrap from Debian)';

interface Run { code: number; stdout: string; stderr: string }

/** podman with scripts/image.sh's storage and settings; never throws on a non-zero exit. */
function podman(args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile('bash', [SCRIPT, 'podman', ...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }));
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function ok(args: readonly string[], input?: string): Promise<string> {
  const r = await podman(args, input);
  assert.equal(r.code, 0, `podman ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const key = (): string => randomBytes(32).toString('base64url');

describe('the Capstan image in real containers', { skip, timeout: 600_000 }, () => {
  const img = image ?? '';
  const prefix = `capstan-image-test-${process.pid}`;
  let db: TestDatabase;
  let env: string[];
  const started: string[] = [];

  before(async () => {
    db = await createTestDatabase();
    // One set of keys for every container, as the chart's Secret hands them to every pod.
    env = ['-e', `CAPSTAN__DATABASE__URL=${db.url}`, '-e', `CAPSTAN__CORE__FERNET_KEY=${key()}`, '-e', `CAPSTAN__API__SECRET_KEY=${key()}`];
  });

  after(async () => {
    for (const name of started) await podman(['rm', '--force', '--time', '2', name]);
    await db?.drop();
    await stopPostgres();
  });

  /** `podman run --rm` of the image with the test's database and keys, on the host network. */
  const runOnce = (args: readonly string[], input?: string): Promise<Run> =>
    podman(['run', '--rm', ...(input === undefined ? [] : ['-i']), '--network', 'host', ...env, img, ...args], input);

  /** A long-running role in a detached container; removed after the suite. */
  async function startRole(role: string, port: number, extraEnv: readonly string[]): Promise<string> {
    const name = `${prefix}-${role}`;
    started.push(name);
    await ok(['run', '--detach', '--name', name, '--network', 'host', ...env, ...extraEnv, img, role]);
    await waitFor(async () => {
      // Any answer: the api-server's /health says 503 until a scheduler heartbeats.
      const health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      if (health) return true;
      const state = await podman(['inspect', '--format', '{{.State.Running}}', name]);
      if (state.stdout.trim() === 'false') {
        const logs = await podman(['logs', name]);
        throw new Error(`${role} container exited: ${logs.stdout}${logs.stderr}`);
      }
      return false;
    }, `${role} /health on port ${port} never answered`, 60_000);
    return name;
  }

  /** The uid the host kernel reports for the container's main process. */
  async function hostUidOf(name: string): Promise<number> {
    const pid = Number((await ok(['inspect', '--format', '{{.State.Pid}}', name])).trim());
    assert.ok(pid > 0, `${name} has a host pid`);
    const uidLine = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:')) ?? '';
    return Number(uidLine.split(/\s+/)[1]);
  }

  test('image config: user node, entrypoint capstan, every role in its help, Node 24, the container settings', async () => {
    const [inspected] = JSON.parse(await ok(['image', 'inspect', img])) as Array<{ Config: { User: string; Entrypoint: string[]; Cmd: string[]; Env: string[]; ExposedPorts?: Record<string, unknown>; WorkingDir: string } }>;
    const config = inspected?.Config;
    assert.ok(config);
    assert.equal(config.User, 'node');
    assert.deepEqual(config.Entrypoint, ['capstan']);
    assert.deepEqual(config.Cmd, ['--help']);
    assert.equal(config.WorkingDir, '/opt/capstan');
    for (const setting of ['CAPSTAN_IN_CONTAINER=1', 'CAPSTAN__CORE__DAGS_FOLDER=/opt/capstan/dags', 'CAPSTAN_HOME=/home/node/capstan', 'NODE_ENV=production']) {
      assert.ok(config.Env.includes(setting), `${setting} in ${config.Env.join(' ')}`);
    }
    assert.deepEqual(Object.keys(config.ExposedPorts ?? {}).sort(), ['8080/tcp', '8974/tcp']);

    const help = await ok(['run', '--rm', img]);
    for (const role of ['scheduler', 'api-server', 'dag-processor', 'triggerer', 'db', 'users', 'tasks']) {
      assert.match(help, new RegExp(`^\\s+${role}\\b`, 'm'), `capstan --help lists ${role}`);
    }
  });

  test('contents: runs as uid 1000, Node 24, DAGs baked in, the UI built, no npm, compilers or make', async () => {
    const probe = [
      'id -u', 'id -g', 'node --version',
      'ls /opt/capstan/dags | grep -c "\\.ts$"',
      'test -f /opt/capstan/ui/dist/index.html && echo ui',
      'for t in npm npx corepack yarn gcc cc g++ make; do command -v $t; done; echo tools-checked',
      'touch /opt/capstan/x 2>/dev/null && echo app-writable || echo app-read-only',
    ].join('; ');
    const [uid, gid, node, dagCount, ui, ...rest] = (await ok(['run', '--rm', '--entrypoint', 'sh', img, '-c', probe])).trim().split('\n');
    assert.equal(uid, '1000');
    assert.equal(gid, '1000');
    assert.match(node ?? '', /^v24\./);
    assert.ok(Number(dagCount) > 0, 'example DAGs baked in at core.dagsFolder');
    assert.equal(ui, 'ui');
    assert.deepEqual(rest, ['tools-checked', 'app-read-only'], 'no build tool on PATH, and the app is not writable by its user');
  });

  test('db migrate against PostgreSQL, twice (idempotent), then users create', async () => {
    const first = await runOnce(['db', 'migrate']);
    assert.equal(first.code, 0, first.stderr);
    const second = await runOnce(['db', 'migrate']);
    assert.equal(second.code, 0, second.stderr);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const tables = (await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).rows.map((r) => r.table_name);
      for (const table of ['dag', 'dag_run', 'task_instance']) assert.ok(tables.includes(table), `${table} created; have ${tables.join(', ')}`);

      const created = await runOnce(['users', 'create', '--username', 'imageadmin', '--role', 'Admin', '--password-stdin'], 'image-test-password\n');
      assert.equal(created.code, 0, created.stderr);
      const users = await client.query<{ username: string }>('SELECT username FROM app_user');
      assert.ok(users.rows.some((u) => u.username === 'imageadmin'), 'the user is stored');
    } finally {
      await client.end();
    }
  });

  test('scheduler from the same image: its /health answers 200 and it runs as uid 1000 on the host', async () => {
    const port = await freePort();
    const name = await startRole('scheduler', port, ['-e', `CAPSTAN__SCHEDULER__HEALTH_PORT=${port}`, '-e', 'CAPSTAN__CORE__EXECUTOR=LocalExecutor']);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, 'scheduler /health never answered 200', 30_000);
    assert.equal(await hostUidOf(name), 1000);
  });

  test('api-server: /health, the web UI and a sign-in as the user the image created; the process is uid 1000 on the host', async () => {
    const port = await freePort();
    const name = await startRole('api-server', port, ['-e', `CAPSTAN__API__PORT=${port}`]);
    // The scheduler container of the test before heartbeats into the same database: all healthy.
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, 'api-server /health never said healthy', 30_000);
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { metadatabase: { status: string }; scheduler: { status: string } };
    assert.equal(health.metadatabase.status, 'healthy');
    assert.equal(health.scheduler.status, 'healthy');
    const page = await fetch(`http://127.0.0.1:${port}/login`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const token = await fetch(`http://127.0.0.1:${port}/auth/token`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'imageadmin', password: 'image-test-password' }),
    });
    assert.equal(token.status, 201, await token.clone().text());
    const { access_token: accessToken } = (await token.json()) as { access_token: string };
    const dags = await fetch(`http://127.0.0.1:${port}/api/v2/dags`, { headers: { authorization: `Bearer ${accessToken}` } });
    assert.equal(dags.status, 200, await dags.clone().text());
    assert.equal(await hostUidOf(name), 1000);
    assert.ok(listensOnAllInterfaces(port), `the api-server binds 0.0.0.0:${port} (api.host's container default), not loopback only`);
  });

  test('a container that generated its own keys (no shared Secret) is refused at start, naming the setting', async () => {
    const alone = await podman(['run', '--rm', '--network', 'host', '-e', `CAPSTAN__DATABASE__URL=${db.url}`, img, 'dag-processor', '--once']);
    assert.notEqual(alone.code, 0);
    assert.match(alone.stderr, /api\.secretKey of this dag-processor differs from the key the other components of this database use/);
    assert.match(alone.stderr, /generated its own under \/home\/node\/capstan\/secret\.key/);
    const shared = await runOnce(['dag-processor', '--once']);
    assert.equal(shared.code, 0, shared.stderr);
  });
});

/** True when a TCP socket listens on 0.0.0.0:`port` in this network namespace (the containers share the host's). */
function listensOnAllInterfaces(port: number): boolean {
  const local = `00000000:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[1] === local && fields[3] === '0A';
  });
}
