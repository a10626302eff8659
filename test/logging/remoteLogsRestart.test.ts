/**
 * Task logs in S3 outlive the processes that wrote them, with real processes throughout: `capstan standalone`
 * (scheduler with the LocalExecutor, API server, DAG processor) runs a DAG whose tries run as local task
 * processes and ship their logs into a SeaweedFS bucket (logging.remoteStore s3, the credentials in the AWS
 * environment variables of the Capstan processes, not of the task processes). A fresh `capstan tasks logs
 * --follow` with a home of its own follows a running try from the bucket. Then standalone is stopped and its home
 * (every local log file) removed, and fresh processes with the same config read the logs: `capstan tasks logs`
 * and a new `capstan api-server` (ranges, tail, a missing try's 404).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config/index.ts';
import { openMetadataDb, type MetadataDb } from '../../src/store/db.ts';
import { getDagRun } from '../../src/store/dagRuns.ts';
import { freePort, killAllRoles, pollUntil, roleEnv, runCapstanCommand, startRole, type RoleProcess } from '../support/roles.ts';
import { S3_MISSING, startS3Server, weed, type S3TestServer } from './support/seaweedfs.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const DAG_ID = 'restart_logs';

function dagSource(flag: string): string {
  return `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: '${DAG_ID}', schedule: null }, () => {
  new BashOperator({ taskId: 'talk', bashCommand: 'seq 1 500 | sed "s/^/row é /"; echo "aws variables: $(env | grep -c ^AWS_)"' });
  new BashOperator({ taskId: 'gated', bashCommand: 'echo before the flag; while [ ! -f ${flag} ]; do sleep 0.05; done; echo after the flag' });
});
`;
}

/** `capstan <args>` to completion in a fresh process: its stdout, stderr and exit code. */
function capstan(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: roleEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ stdout, stderr, code }));
  });
}

interface LogChunk { content: string; fromByte: number; nextByte: number; ended: boolean; source: string }

void describe('S3 task logs after the processes that wrote them are gone', { skip: weed ? false : S3_MISSING }, () => {
  let s3: S3TestServer;
  let db: MetadataDb;
  let shared: Record<string, string>;
  let homeA: string;
  let standalone: RoleProcess;
  const work = mkdtempSync(join(tmpdir(), 'capstan-restart-logs-'));
  const flag = join(work, 'go');
  /** A home of its own for a fresh process: no log files, same database, keys and bucket. */
  const freshEnv = (extra: Record<string, string> = {}): Record<string, string> => ({ ...shared, CAPSTAN_HOME: mkdtempSync(join(work, 'home-')), ...extra });

  before(async () => {
    s3 = await startS3Server();
    homeA = join(work, 'standalone');
    mkdirSync(join(homeA, 'dags'), { recursive: true });
    writeFileSync(join(homeA, 'dags', 'restart.ts'), dagSource(flag));
    // One deployment: the keys of the first home, given to every process.
    const keys = loadConfig({ env: { CAPSTAN_HOME: homeA } });
    const dbUrl = `sqlite://${join(work, 'capstan.db')}`;
    const port = await freePort();
    shared = {
      CAPSTAN__DATABASE__URL: dbUrl,
      CAPSTAN__CORE__FERNET_KEY: keys.core.fernetKey,
      CAPSTAN__API__SECRET_KEY: keys.api.secretKey,
      CAPSTAN__CORE__LOAD_EXAMPLES: 'false',
      CAPSTAN__API__EXECUTION_API_URL: `http://127.0.0.1:${port}`,
      CAPSTAN__SCHEDULER__LOOP_INTERVAL_MS: '100',
      CAPSTAN__SCHEDULER__HEALTH_PORT: '-1',
      CAPSTAN__TRIGGERER__HEALTH_PORT: '-1',
      CAPSTAN__DAG_PROCESSOR__REFRESH_INTERVAL_MS: '500',
      CAPSTAN__LOGGING__LEVEL: 'warn',
      CAPSTAN__LOGGING__SHIP_INTERVAL_MS: '200',
      CAPSTAN__LOGGING__REMOTE_STORE: 's3',
      CAPSTAN__LOGGING__REMOTE_BUCKET: s3.bucket,
      CAPSTAN__LOGGING__REMOTE_ENDPOINT: s3.endpoint,
      CAPSTAN__LOGGING__REMOTE_FORCE_PATH_STYLE: 'true',
      CAPSTAN__LOGGING__REMOTE_PREFIX: 'restart',
      // The AWS SDK's default chain (logging.remoteConnId empty). Task processes do not get these.
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    };
    await runCapstanCommand(['db', 'migrate'], { ...shared, CAPSTAN_HOME: homeA });
    db = openMetadataDb(dbUrl, { poolSize: 2 });
    standalone = startRole('standalone', ['standalone'], { ...shared, CAPSTAN_HOME: homeA, CAPSTAN__API__PORT: String(port) });
  });
  after(async () => {
    await killAllRoles();
    await db?.close();
    await s3?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('local tries ship to the bucket; a fresh `tasks logs --follow` follows a running try from it', async () => {
    await pollUntil('the DAG is parsed and triggered', async () => (await capstan(['dags', 'trigger', DAG_ID, '--run-id', 'r1'], { ...shared, CAPSTAN_HOME: homeA })).code === 0, {
      timeoutMs: 60_000,
      intervalMs: 300,
      diagnose: () => standalone.output(),
    });
    // Started before the try has a log: it waits for the first shipped lines.
    const followerEnv = freshEnv();
    await pollUntil('the gated task has a try', async () => (await capstan(['tasks', 'state', DAG_ID, 'r1', 'gated'], followerEnv)).stdout.trim() === 'running', { timeoutMs: 60_000, intervalMs: 200, diagnose: () => standalone.output() });
    const follower = spawn(process.execPath, [MAIN, 'tasks', 'logs', DAG_ID, 'r1', 'gated', '--follow'], { env: roleEnv(followerEnv), stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    let followErr = '';
    follower.stdout.on('data', (d: Buffer) => (followed += d.toString()));
    follower.stderr.on('data', (d: Buffer) => (followErr += d.toString()));
    const followerExit = new Promise<number | null>((resolve) => follower.once('close', resolve));
    try {
      await pollUntil('the follower printed the first line', () => /INFO before the flag\n/.test(followed), { timeoutMs: 60_000, diagnose: () => `${followErr}\n${standalone.output()}` });
      assert.equal((await capstan(['tasks', 'state', DAG_ID, 'r1', 'gated'], followerEnv)).stdout.trim(), 'running', 'the line came from the bucket while the try ran');
      assert.doesNotMatch(followed, /INFO after the flag\n/);
      writeFileSync(flag, '');
      // It ends by itself with the try's end marker.
      assert.equal(await followerExit, 0, followErr);
    } finally {
      follower.kill('SIGKILL');
    }
    assert.match(followed, /INFO before the flag\n[\s\S]*INFO after the flag\n[\s\S]*::capstan:: end of log\n$/);
    assert.equal(followed.split('\n').filter((l) => l.endsWith('INFO before the flag')).length, 1, 'no line twice');
    await pollUntil('the run succeeded', async () => (await getDagRun(db, DAG_ID, 'r1')).state === 'success' || undefined, { timeoutMs: 60_000, diagnose: () => standalone.output() });

    // Compacted, one object per ended try, the same bytes the local task process wrote.
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `restart/dag_id=${DAG_ID}/` }));
      const keys = (listed.Contents ?? []).map((o) => o.Key).sort();
      assert.deepEqual(keys, [`restart/dag_id=${DAG_ID}/run_id=r1/task_id=gated/attempt=1.log`, `restart/dag_id=${DAG_ID}/run_id=r1/task_id=talk/attempt=1.log`]);
      await pollUntil('the talk log is compacted and ended', async () => {
        const body = await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `restart/dag_id=${DAG_ID}/run_id=r1/task_id=talk/attempt=1.log` }))).Body?.transformToString();
        return body?.endsWith('::capstan:: end of log\n') === true;
      }, { timeoutMs: 30_000 });
      const local = join(homeA, 'logs', `dag_id=${DAG_ID}`, 'run_id=r1', 'task_id=talk', 'attempt=1.log');
      assert.ok(existsSync(local), 'the task process still writes its local file');
    } finally {
      client.destroy();
    }
  });

  test('standalone stopped and its home removed: a fresh `tasks logs` and a fresh api-server read the logs', async () => {
    const whileUp = await capstan(['tasks', 'logs', DAG_ID, 'r1', 'talk'], freshEnv());
    assert.equal(whileUp.code, 0, whileUp.stderr);
    standalone.kill('SIGTERM');
    await standalone.exited;
    rmSync(homeA, { recursive: true, force: true });

    const read = await capstan(['-o', 'json', 'tasks', 'logs', DAG_ID, 'r1', 'talk'], freshEnv());
    assert.equal(read.code, 0, read.stderr);
    const json = JSON.parse(read.stdout) as { text: string; source: string };
    assert.equal(json.source, 'store');
    assert.equal(json.text, whileUp.stdout);
    assert.equal(json.text.split('\n').filter((l) => / INFO row é \d+$/.test(l)).length, 500);
    assert.ok(json.text.endsWith('::capstan:: end of log\n'));
    assert.match(json.text, /INFO aws variables: 0\n/, 'the task process did not inherit the store credentials');
    const missing = await capstan(['tasks', 'logs', DAG_ID, 'r1', 'talk', '--try', '2'], freshEnv());
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no task log/);

    const port = await freePort();
    const api = startRole('api-server', ['api-server'], freshEnv({ CAPSTAN__API__PORT: String(port), CAPSTAN__AUTH__MODE: 'disabled' }));
    const url = `http://127.0.0.1:${port}/api/v2/dags/${DAG_ID}/dagRuns/r1/taskInstances`;
    await pollUntil('the fresh API server answers', async () => (await fetch(`${url}/talk/logs/1`).catch(() => undefined))?.status === 200, { timeoutMs: 60_000, diagnose: () => api.output() });
    const whole = (await (await fetch(`${url}/talk/logs/1`)).json()) as LogChunk;
    assert.deepEqual([whole.content, whole.source, whole.ended], [json.text, 'store', true]);
    const bytes = Buffer.from(json.text);
    const range = (await (await fetch(`${url}/talk/logs/1?fromByte=100&toByte=900`)).json()) as LogChunk;
    assert.equal(range.content, bytes.subarray(100, 900).toString());
    const tail = (await (await fetch(`${url}/talk/logs/1?tailBytes=300`)).json()) as LogChunk;
    assert.ok(tail.ended && tail.content.length > 0 && json.text.endsWith(tail.content));
    const gated = (await (await fetch(`${url}/gated/logs/1`)).json()) as LogChunk;
    assert.match(gated.content, /INFO after the flag\n/);
    assert.equal((await fetch(`${url}/talk/logs/2`)).status, 404);
  });
});
