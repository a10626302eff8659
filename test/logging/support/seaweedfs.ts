// A real S3-compatible server for the object-store task-log tests: SeaweedFS (`weed server -s3`, master, volume,
// filer and S3 gateway in one process) built by scripts/seaweedfs.sh from its pinned Go module. Each call starts
// its own server on free loopback ports with its own data folder and one access key, and creates a bucket.
// CI exports CAPSTAN_S3_REQUIRED=1, so a missing binary fails instead of skipping.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { waitFor } from '../../support/processes.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');

function findWeed(): string | undefined {
  const fromEnv = process.env['CAPSTAN_SEAWEEDFS'];
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  const r = spawnSync('bash', [join(REPO, 'scripts', 'seaweedfs.sh'), 'path'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path !== '' ? path : undefined;
}

/** The weed binary, or undefined (tests skip with {@link S3_MISSING}); throws when CAPSTAN_S3_REQUIRED=1. */
export const weed: string | undefined = findWeed();
if (!weed && process.env['CAPSTAN_S3_REQUIRED'] === '1') {
  throw new Error(`CAPSTAN_S3_REQUIRED=1 but no SeaweedFS binary: CAPSTAN_SEAWEEDFS=${process.env['CAPSTAN_SEAWEEDFS'] ?? '(unset)'}; build it with bash scripts/seaweedfs.sh build`);
}
export const S3_MISSING = 'SeaweedFS not built (bash scripts/seaweedfs.sh build, or set CAPSTAN_SEAWEEDFS)';

/** A running S3 server with one bucket. */
export interface S3TestServer {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The server's own output, for a failure message. */
  output(): string;
  stop(): Promise<void>;
}

/** A free loopback port whose +10000 neighbour (SeaweedFS's gRPC port for it) is free too. */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if ((await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair for SeaweedFS');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Start SeaweedFS with an S3 gateway on loopback, wait until it answers, and create `bucket`. */
export async function startS3Server(bucket = 'capstan-logs'): Promise<S3TestServer> {
  if (!weed) throw new Error(S3_MISSING);
  const dir = mkdtempSync(join(tmpdir(), 'capstan-s3-'));
  const [master, volume, filer, s3] = [await freePortPair(), await freePortPair(), await freePortPair(), await freePortPair()];
  const accessKeyId = 'capstan-test-key';
  const secretAccessKey = `secret-${Math.random().toString(36).slice(2)}`;
  // With an identity configured the gateway checks every request's signature, so a wrong key is refused.
  writeFileSync(join(dir, 's3.json'), JSON.stringify({ identities: [{ name: 'capstan', credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }], actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'] }] }));
  mkdirSync(join(dir, 'data'));
  const logPath = join(dir, 'weed.log');
  const out = openSync(logPath, 'a');
  const child: ChildProcess = spawn(weed, [
    'server', `-dir=${join(dir, 'data')}`, '-ip=127.0.0.1', '-ip.bind=127.0.0.1',
    `-master.port=${master}`, `-volume.port=${volume}`, '-volume.max=5', '-master.volumeSizeLimitMB=64',
    '-filer', `-filer.port=${filer}`, '-s3', `-s3.port=${s3}`, `-s3.config=${join(dir, 's3.json')}`,
  ], { stdio: ['ignore', out, out], detached: false });
  closeSync(out);
  let exited = false;
  child.once('exit', () => (exited = true));
  const output = (): string => (existsSync(logPath) ? readFileSync(logPath, 'utf8').slice(-4000) : '');
  const endpoint = `http://127.0.0.1:${s3}`;
  const region = 'us-east-1';
  const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
  const stop = async (): Promise<void> => {
    client.destroy();
    if (!exited) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The gateway answers once the filer it stores into is up; bucket creation needs the volume server too.
    await waitFor(async () => {
      if (exited) throw new Error(`weed exited: ${output()}`);
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        return true;
      } catch (err) {
        const name = (err as { name?: string }).name;
        return name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists';
      }
    }, `SeaweedFS S3 gateway at ${endpoint} to accept a bucket`, 90_000);
  } catch (err) {
    const text = output();
    await stop();
    throw new Error(`${(err as Error).message}\n--- weed output ---\n${text}`, { cause: err });
  }
  return { endpoint, region, bucket, accessKeyId, secretAccessKey, output, stop };
}
