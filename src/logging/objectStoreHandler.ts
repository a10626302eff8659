/**
 * Task logs in an S3-API bucket (AWS S3, MinIO, SeaweedFS, Ceph RGW, …), so a log outlives the worker pod and
 * the API server that received it, and every API server and triggerer reads and writes the same logs.
 *
 * Objects are immutable, so positional writes are stored as parts: a try's log at key `<rel>` (the same
 * relative layout as the files, `dag_id=…/run_id=…/task_id=…/attempt=N.log`) is the object `<rel>` (its
 * compacted start, possibly absent) followed by part objects `<rel>.parts/<start byte, 16 digits>`, each
 * holding the bytes from its start. One listing of `<rel>` gives every piece and so the stored size. A write
 * stores only the bytes past the stored size (the handler contract: the same offset carries the same bytes),
 * so a resent chunk adds nothing. When a write ends the log (its last line is the end marker) the pieces are
 * joined into `<rel>` and the parts deleted; a reader that finds a part gone meanwhile reads again.
 *
 * The AWS SDK is loaded on the first request, not when the handler is built: every role builds its handler at
 * start, and a process keeping logs locally (or a CLI that reads one log) should not pay for loading it.
 */
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { CapstanError, NotFound } from '../core/index.ts';
import { TaskLogGapError, type TaskLogHandler, type TaskLogReadOptions } from './logHandler.ts';
import { taskLogPath, type TaskLogKey } from './taskLog.ts';
import { completeUtf8Length, END_LINE_MAX_BYTES, endsWithMarker, type TaskLogChunk } from './taskLogReader.ts';

/** Where and how to reach the bucket. Credentials are never kept here: pass a provider (env, a connection). */
export interface ObjectStoreLocation {
  bucket: string;
  /** Key prefix, without leading or trailing `/` (empty: the bucket root). */
  prefix: string;
  /** Endpoint URL of a self-hosted server; undefined: AWS S3 of `region`. */
  endpoint?: string;
  region: string;
  /** Bucket in the URL path rather than the host name (what most self-hosted servers need). */
  forcePathStyle: boolean;
}

/** Access key pair; resolved on each signing by the SDK, so a rotated secret is picked up. */
export type ObjectStoreCredentials = S3ClientConfig['credentials'];

/** One stored piece of a try's log. */
interface Piece {
  key: string;
  start: number;
  size: number;
}

type Sdk = typeof S3Sdk;

const PARTS = '.parts/';
const OFFSET_DIGITS = 16;

/**
 * `TaskLogHandler` over an S3-API bucket (see the module doc for the object layout).
 *
 * @example
 * const handler = new ObjectStoreTaskLogHandler({ bucket: 'logs', prefix: 'capstan/logs', region: 'us-east-1', forcePathStyle: false });
 * await handler.write(key, 0, Buffer.from('2026-01-01T00:00:00.000Z INFO hello\n'));
 */
export class ObjectStoreTaskLogHandler implements TaskLogHandler {
  readonly name = 's3';
  readonly location: ObjectStoreLocation;
  readonly #credentials: ObjectStoreCredentials | undefined;
  #client: Promise<{ s3: S3Client; sdk: Sdk }> | undefined;
  #destroyed = false;

  constructor(location: ObjectStoreLocation, credentials?: ObjectStoreCredentials) {
    this.location = location;
    this.#credentials = credentials;
  }

  /** Close the HTTP connections (tests, a process shutting down). */
  destroy(): void {
    this.#destroyed = true;
    void this.#client?.then(({ s3 }) => s3.destroy(), () => undefined);
  }

  /** The SDK and a client, loaded and built on the first request. */
  #connect(): Promise<{ s3: S3Client; sdk: Sdk }> {
    if (this.#destroyed) return Promise.reject(new Error('the S3 task log handler was destroyed'));
    return (this.#client ??= import('@aws-sdk/client-s3').then((sdk) => ({
      sdk,
      s3: new sdk.S3Client({
        region: this.location.region,
        forcePathStyle: this.location.forcePathStyle,
        ...(this.location.endpoint === undefined ? {} : { endpoint: this.location.endpoint }),
        ...(this.#credentials === undefined ? {} : { credentials: this.#credentials }),
        // Each try is retried by the SDK; a task log write is idempotent, so a retried PUT is harmless.
        maxAttempts: 4,
      }),
    })));
  }

  async write(key: TaskLogKey, offset: number, chunk: Uint8Array): Promise<{ size: number }> {
    if (!Number.isInteger(offset) || offset < 0) throw new CapstanError('invalid_argument', `task log offset must be an integer ≥ 0, got ${offset}`);
    const rel = this.#objectKey(key);
    const pieces = await this.#pieces(rel);
    const size = sizeOf(pieces);
    if (offset > size) throw new TaskLogGapError(offset, size);
    const end = offset + chunk.length;
    if (end <= size) return { size };
    const fresh = chunk.subarray(size - offset);
    await this.#put(partKey(rel, size), fresh);
    const stored = [...pieces, { key: partKey(rel, size), start: size, size: fresh.length }];
    if (endsWithMarker(Buffer.from(chunk.subarray(Math.max(0, chunk.length - END_LINE_MAX_BYTES))))) await this.#compact(rel, stored);
    return { size: end };
  }

  async size(key: TaskLogKey): Promise<number> {
    return sizeOf(await this.#pieces(this.#objectKey(key)));
  }

  async read(key: TaskLogKey, options: TaskLogReadOptions = {}): Promise<TaskLogChunk> {
    const rel = this.#objectKey(key);
    // A compaction between the listing and the reads deletes the parts listed: read again from the new listing.
    for (let attempt = 1; ; attempt++) {
      const pieces = await this.#pieces(rel);
      if (pieces.length === 0) throw new NotFound(`no task log at s3://${this.location.bucket}/${rel}`, 'the try may not have started yet');
      const size = sizeOf(pieces);
      const start = Math.min(options.fromByte ?? 0, size);
      const stop = Math.max(start, Math.min(options.toByte ?? size, size));
      const tailFrom = Math.max(0, size - END_LINE_MAX_BYTES);
      try {
        const bytes = await this.#range(pieces, Math.min(start, tailFrom), size === stop ? size : stop);
        const body = bytes.subarray(start - Math.min(start, tailFrom), stop - Math.min(start, tailFrom));
        const tail = stop === size ? bytes.subarray(Math.max(0, bytes.length - (size - tailFrom))) : await this.#range(pieces, tailFrom, size);
        const usable = completeUtf8Length(body);
        return { text: body.subarray(0, usable).toString('utf8'), nextByte: start + usable, ended: endsWithMarker(tail) };
      } catch (err) {
        if (!(err instanceof (await this.#connect()).sdk.NoSuchKey) || attempt >= 3) throw err;
      }
    }
  }

  #objectKey(key: TaskLogKey): string {
    // taskLogPath escapes every id into one safe segment; joined onto '' it is the relative layout.
    const rel = taskLogPath('.', key).replace(/^\.\//, '');
    return this.location.prefix === '' ? rel : `${this.location.prefix}/${rel}`;
  }

  /** The log's pieces in byte order: the compacted object, then the parts. */
  async #pieces(rel: string): Promise<Piece[]> {
    const { s3, sdk } = await this.#connect();
    const pieces: Piece[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new sdk.ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: rel, ...(token === undefined ? {} : { ContinuationToken: token }) }));
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        if (o.Key === rel) pieces.push({ key: o.Key, start: 0, size: o.Size ?? 0 });
        else if (o.Key.startsWith(rel + PARTS)) {
          const start = Number(o.Key.slice(rel.length + PARTS.length));
          if (Number.isSafeInteger(start)) pieces.push({ key: o.Key, start, size: o.Size ?? 0 });
        }
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return pieces.sort((a, b) => a.start - b.start || b.size - a.size);
  }

  /** Bytes [from, to) of the log assembled from `pieces`. */
  async #range(pieces: readonly Piece[], from: number, to: number): Promise<Buffer> {
    const out = Buffer.alloc(Math.max(0, to - from));
    // An empty range asks for nothing (a GET of bytes=10-9 is refused as unsatisfiable).
    if (to <= from) return out;
    let covered = from;
    for (const p of pieces) {
      const pEnd = p.start + p.size;
      if (pEnd <= covered || p.start >= to || p.size === 0) continue;
      const a = Math.max(covered, p.start);
      const b = Math.min(to, pEnd);
      const got = await this.#get(p.key, a - p.start, b - p.start);
      got.copy(out, a - from);
      covered = b;
      if (covered >= to) break;
    }
    return out.subarray(0, covered - from);
  }

  async #get(key: string, from: number, to: number): Promise<Buffer> {
    const { s3, sdk } = await this.#connect();
    const res = await s3.send(new sdk.GetObjectCommand({ Bucket: this.location.bucket, Key: key, Range: `bytes=${from}-${to - 1}` }));
    const bytes = Buffer.from((await res.Body?.transformToByteArray()) ?? new Uint8Array());
    if (bytes.length !== to - from) throw new Error(`s3 object ${key}: asked for bytes ${from}-${to - 1}, got ${bytes.length} bytes`);
    return bytes;
  }

  async #put(key: string, body: Uint8Array): Promise<void> {
    const { s3, sdk } = await this.#connect();
    await s3.send(new sdk.PutObjectCommand({ Bucket: this.location.bucket, Key: key, Body: body, ContentType: 'text/plain; charset=utf-8' }));
  }

  /** Join the pieces of an ended log into `<rel>` and delete the parts. */
  async #compact(rel: string, pieces: readonly Piece[]): Promise<void> {
    const parts = pieces.filter((p) => p.key !== rel);
    if (parts.length === 0) return;
    const size = sizeOf(pieces);
    await this.#put(rel, await this.#range(pieces, 0, size));
    const { s3, sdk } = await this.#connect();
    for (let i = 0; i < parts.length; i += 1000) {
      await s3.send(new sdk.DeleteObjectsCommand({ Bucket: this.location.bucket, Delete: { Objects: parts.slice(i, i + 1000).map((p) => ({ Key: p.key })), Quiet: true } }));
    }
  }
}

function sizeOf(pieces: readonly Piece[]): number {
  return pieces.reduce((max, p) => Math.max(max, p.start + p.size), 0);
}

function partKey(rel: string, start: number): string {
  return `${rel}${PARTS}${String(start).padStart(OFFSET_DIGITS, '0')}`;
}
