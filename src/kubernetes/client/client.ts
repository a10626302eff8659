/**
 * The Kubernetes client every Capstan component uses: the official `@kubernetes/client-node` APIs, with Capstan's
 * transport plugged in through the library's own extension point, its `HttpLibrary` (the `httpApi` of a
 * `Configuration`). For each request, the transport:
 *
 * 1. takes a token from a client-side rate limiter (token bucket: `qps`, `burst`);
 * 2. sends it with a timeout (`requestTimeoutMs`), except long-lived requests (`watch=true`, `follow=true`);
 * 3. retries with capped exponential backoff and jitter:
 *    - 429 always, waiting at least the server's `Retry-After`;
 *    - 5xx and connection failures (reset, refused, timeouts) for idempotent requests (GET, HEAD, PUT, DELETE);
 *    - for POST and PATCH only when the request cannot have been acted on: 429, 503, or a failure to connect
 *      (refused, connect timeout, DNS). A create whose connection was reset after sending may have succeeded on
 *      the server; retrying it blindly could start a second pod, so it fails as `network` and the caller decides
 *      (create again and treat 409 AlreadyExists as success, or look the object up);
 * 4. on 401, reloads the credentials once (the kubeconfig file or the service-account token is read again, see
 *    {@link ReloadableKubeConfig}) and sends again;
 * 5. turns every failure into a {@link KubernetesApiError} (an `ApiException` with a `kind` and a clear message).
 *
 * Watches and log streams do not go through the `HttpLibrary` (the library streams them itself); they take a
 * rate-limiter token when they start (our own `pods/log` requests through `KubeClients.streamPermit`) and reload credentials on 401, and are never cut by the request timeout.
 * Reconnecting them (resourceVersion for watches, sinceTime for logs) is the caller's job, since only the caller
 * knows where to resume.
 */
import {
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  IsomorphicFetchHttpLibrary,
  KubernetesObjectApi,
  Log,
  ResponseContext,
  ServerConfiguration,
  VersionApi,
  Watch,
  createConfiguration,
  wrapHttpLibrary,
} from '@kubernetes/client-node';
import type { KubeConfig, LogOptions, PromiseHttpLibrary, RequestContext } from '@kubernetes/client-node';
import type { Writable } from 'node:stream';
import type { KubeClients } from './clients.ts';
import { ReloadableKubeConfig } from './connection.ts';
import { KubernetesApiError, apiErrorFromResponse, describeRequest, networkError, networkErrorCode, requestSummary, retryAfterSeconds } from './errors.ts';
import { TokenBucket } from './rateLimiter.ts';

/** Default client tuning. */
export const CLIENT_DEFAULTS = {
  qps: 20,
  burst: 40,
  requestTimeoutMs: 30_000,
  maxRetries: 5,
  retryBaseMs: 200,
  retryMaxMs: 15_000,
} as const;

/** One retry the client is about to make (for logs and metrics). */
export interface RetryEvent {
  method: string;
  url: string;
  /** 1 for the first retry. */
  attempt: number;
  /** HTTP status that caused it, or the network error code. */
  cause: number | string;
  delayMs: number;
}

/** Options of {@link createKubeClients}. */
export interface KubeClientOptions {
  /** Average requests per second (default 20). */
  qps?: number | undefined;
  /** Requests that may go at once before the rate applies (default 40). */
  burst?: number | undefined;
  /** Timeout of one non-streaming request attempt (default 30 s). */
  requestTimeoutMs?: number | undefined;
  /** Retries after the first attempt (default 5). */
  maxRetries?: number | undefined;
  /** First backoff (default 200 ms); doubles per retry up to `retryMaxMs` (default 15 s), with jitter. */
  retryBaseMs?: number | undefined;
  retryMaxMs?: number | undefined;
  /** Namespace used when an operator names none (default `default`). */
  defaultNamespace?: string | undefined;
  /** Reloads credentials after a 401 (default: `reload()` of a {@link ReloadableKubeConfig}, else none). */
  reloadCredentials?: (() => void | Promise<void>) | undefined;
  /** Share one limiter between several client sets (default: a new one from qps/burst). */
  limiter?: TokenBucket | undefined;
  /** Called before each retry. */
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /** Backoff sleep (default setTimeout); injectable for tests. */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Jitter source in [0, 1) (default Math.random). */
  random?: (() => number) | undefined;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
// Failures before a single byte of the request reached the server: safe to retry whatever the method.
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const TRANSIENT = new Set([...NOT_SENT, 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED']);

/**
 * Whether a failed attempt may be retried (see the module doc for why POST and PATCH are narrower).
 *
 * @example
 * isRetryable('POST', { networkCode: 'ECONNRESET' }) // false: the create may have happened
 */
export function isRetryable(method: string, outcome: { status: number } | { networkCode: string }): boolean {
  const idempotent = IDEMPOTENT.has(method.toUpperCase());
  if ('status' in outcome) {
    if (outcome.status === 429) return true;
    if (outcome.status === 503) return true;
    return idempotent && outcome.status >= 500 && outcome.status !== 501;
  }
  if (NOT_SENT.has(outcome.networkCode)) return true;
  return idempotent && TRANSIENT.has(outcome.networkCode);
}

/**
 * Backoff before retry number `attempt` (1-based): `base · 2^(attempt-1)` capped at `max`, with "equal jitter"
 * (half fixed, half random), and never less than the server's Retry-After.
 */
export function backoffMs(attempt: number, options: { baseMs: number; maxMs: number; retryAfterSeconds?: number | undefined; random: () => number }): number {
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** (attempt - 1));
  const jittered = exp / 2 + (exp / 2) * options.random();
  const floor = options.retryAfterSeconds === undefined ? 0 : options.retryAfterSeconds * 1000;
  return Math.round(Math.max(jittered, floor));
}

function isLongLived(url: string): boolean {
  const query = new URL(url).searchParams;
  return query.get('watch') === 'true' || query.get('watch') === '1' || query.get('follow') === 'true';
}

/** A response whose body was read completely (inside the timeout, and so that a reset mid-body can be retried). */
function buffered(status: number, headers: Record<string, string>, text: string): ResponseContext {
  return new ResponseContext(status, headers, {
    text: () => Promise.resolve(text),
    binary: () => Promise.resolve(Buffer.from(text)),
    stream: () => null,
  });
}

interface Transport {
  readonly limiter: TokenBucket;
  reload(): Promise<void>;
}

type LibraryOptions = Required<Pick<KubeClientOptions, 'requestTimeoutMs' | 'maxRetries' | 'retryBaseMs' | 'retryMaxMs' | 'sleep' | 'random'>> & Pick<KubeClientOptions, 'onRetry'>;

class CapstanHttpLibrary implements PromiseHttpLibrary {
  readonly #inner = new IsomorphicFetchHttpLibrary();
  readonly #kubeConfig: KubeConfig;
  readonly #transport: Transport;
  readonly #o: LibraryOptions;

  constructor(kubeConfig: KubeConfig, transport: Transport, options: LibraryOptions) {
    this.#kubeConfig = kubeConfig;
    this.#transport = transport;
    this.#o = options;
  }

  async send(request: RequestContext): Promise<ResponseContext> {
    const method = request.getHttpMethod().toString();
    const url = request.getUrl();
    const callerSignal = request.getSignal();
    const longLived = isLongLived(url);
    request.setHeaderParam('User-Agent', 'capstan');
    let reloaded = false;
    for (let attempt = 0; ; attempt++) {
      await this.#transport.limiter.take();
      const signals = [callerSignal, longLived ? undefined : AbortSignal.timeout(this.#o.requestTimeoutMs)].filter((s) => s !== undefined);
      if (signals.length > 0) request.setSignal(signals.length === 1 ? signals[0]! : AbortSignal.any(signals));
      let status: number;
      let headers: Record<string, string>;
      let body: string;
      try {
        const response = await this.#inner.send(request).toPromise();
        status = response.httpStatusCode;
        headers = response.headers;
        if (longLived && status >= 200 && status < 300) return response;
        body = await response.body.text();
      } catch (err) {
        if (callerSignal?.aborted) throw err;
        const code = networkErrorCode(err) ?? 'UNKNOWN';
        if (attempt < this.#o.maxRetries && isRetryable(method, { networkCode: code })) {
          await this.#backoff(method, url, attempt + 1, code, undefined);
          continue;
        }
        throw networkError(err, describeRequest(method, url), {
          attempts: attempt + 1,
          mayHaveReachedServer: !NOT_SENT.has(code),
          timeoutMs: this.#o.requestTimeoutMs,
        });
      }
      if (status >= 200 && status < 300) return buffered(status, headers, body);
      if (status === 401 && !reloaded) {
        reloaded = true;
        try {
          await this.#transport.reload();
        } catch (err) {
          const request401 = describeRequest(method, url);
          throw new KubernetesApiError({
            kind: 'unauthorized', code: status, body, headers, request: request401,
            message: `the API server did not accept the credentials (401) to ${requestSummary(request401)}, and reloading them failed: ${(err as Error).message}`,
            hint: 'fix the connection\'s kubeconfig or service-account token file',
            cause: err,
          });
        }
        delete request.getHeaders()['Authorization'];
        await this.#kubeConfig.applySecurityAuthentication(request);
        attempt -= 1; // a credential reload is not a retry
        continue;
      }
      if (attempt < this.#o.maxRetries && isRetryable(method, { status })) {
        await this.#backoff(method, url, attempt + 1, status, retryAfterSeconds(headers));
        continue;
      }
      throw apiErrorFromResponse(status, body, headers, describeRequest(method, url));
    }
  }

  async #backoff(method: string, url: string, attempt: number, cause: number | string, retryAfter: number | undefined): Promise<void> {
    const delayMs = backoffMs(attempt, { baseMs: this.#o.retryBaseMs, maxMs: this.#o.retryMaxMs, retryAfterSeconds: retryAfter, random: this.#o.random });
    this.#o.onRetry?.({ method, url, attempt, cause, delayMs });
    await this.#o.sleep(delayMs);
  }
}

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; code?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  return typeof e.code === 'number' ? e.code : undefined;
}

/** Watch that takes a rate-limiter token per (re)connection and reloads credentials after a 401. */
class CapstanWatch extends Watch {
  readonly #transport: Transport;
  constructor(config: KubeConfig, transport: Transport) {
    super(config);
    this.#transport = transport;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    await this.#transport.limiter.take();
    return super.watch(path, queryParams, callback, (err: unknown) => {
      if (statusOf(err) === 401) {
        // The caller reconnects; make sure that reconnection carries fresh credentials.
        this.#transport.reload().then(() => done(err), () => done(err));
        return;
      }
      done(err);
    });
  }
}

/** Log streams with a rate-limiter token per request and one credential reload on 401. */
class CapstanLog extends Log {
  readonly #transport: Transport;
  constructor(config: KubeConfig, transport: Transport) {
    super(config);
    this.#transport = transport;
  }

  override async log(
    namespace: string,
    podName: string,
    containerName: string,
    stream: Writable,
    doneOrOptions?: ((err: unknown) => void) | LogOptions,
    options?: LogOptions,
  ): Promise<AbortController> {
    const call = (): Promise<AbortController> => typeof doneOrOptions === 'function'
      ? super.log(namespace, podName, containerName, stream, doneOrOptions, options)
      : super.log(namespace, podName, containerName, stream, doneOrOptions);
    await this.#transport.limiter.take();
    try {
      return await call();
    } catch (err) {
      if (statusOf(err) !== 401) throw err;
      await this.#transport.reload();
      await this.#transport.limiter.take();
      return call();
    }
  }
}

/**
 * Builds the API handles for one cluster (see the module doc for the transport behaviour).
 *
 * @example
 * const kubeConfig = resolveKubeConfig(connection);
 * const clients = createKubeClients(kubeConfig, { qps: 10, burst: 20, defaultNamespace: 'etl' });
 * await clients.core.createNamespacedPod({ namespace: clients.defaultNamespace, body: pod });
 */
export function createKubeClients(kubeConfig: KubeConfig, options: KubeClientOptions = {}): KubeClients {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  const reloadCredentials = options.reloadCredentials
    ?? (kubeConfig instanceof ReloadableKubeConfig ? () => kubeConfig.reload() : undefined);
  const transport: Transport = {
    limiter: options.limiter ?? new TokenBucket({ qps: options.qps ?? CLIENT_DEFAULTS.qps, burst: options.burst ?? CLIENT_DEFAULTS.burst }),
    async reload() {
      if (reloadCredentials !== undefined) await reloadCredentials();
    },
  };
  const library = new CapstanHttpLibrary(kubeConfig, transport, {
    requestTimeoutMs: options.requestTimeoutMs ?? CLIENT_DEFAULTS.requestTimeoutMs,
    maxRetries: options.maxRetries ?? CLIENT_DEFAULTS.maxRetries,
    retryBaseMs: options.retryBaseMs ?? CLIENT_DEFAULTS.retryBaseMs,
    retryMaxMs: options.retryMaxMs ?? CLIENT_DEFAULTS.retryMaxMs,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    random: options.random ?? Math.random,
    onRetry: options.onRetry,
  });
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    httpApi: wrapHttpLibrary(library),
  });
  return {
    kubeConfig,
    core: new CoreV1Api(configuration),
    batch: new BatchV1Api(configuration),
    custom: new CustomObjectsApi(configuration),
    version: new VersionApi(configuration),
    objects: new KubernetesObjectApi(configuration),
    watch: new CapstanWatch(kubeConfig, transport),
    log: new CapstanLog(kubeConfig, transport),
    streamPermit: () => transport.limiter.take(),
    defaultNamespace: options.defaultNamespace ?? 'default',
  };
}

