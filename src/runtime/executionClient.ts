/**
 * HTTP client of the Execution API used by task processes. Transient failures (connection refused while
 * the API server restarts, 5xx) are retried with capped exponential backoff, so a scheduler restart does
 * not fail the tasks it left running. The token it starts with only has to reach `start`: `start`, every
 * heartbeat and `finish` hand back a short-lived one, and the client uses the newest from then on.
 *
 * One client serves one try, and it caches the variables and connections it reads for that try: task code and
 * templates that read the same key many times cost one Execution API call per key (a value changed while the
 * try runs is seen by the next try, as with Airflow's variable cache).
 */
import { CapstanError } from '../core/index.ts';
import type { JsonObject, JsonValue, TaskRunContext, TryOutcome, TrySuspension } from '../core/index.ts';
import type { TaskConnection } from '../sdk/taskContext.ts';

export class ConflictError extends CapstanError {
  readonly state: string;
  constructor(message: string, state: string) {
    super('conflict', message);
    this.state = state;
  }
}

/** The API server refused a request body as too large (413): retrying it cannot succeed. */
export class PayloadTooLargeError extends CapstanError {
  constructor(message: string) {
    super('invalid_argument', message);
  }
}

export interface ExecutionClientOptions {
  /** Give up on a request after retrying this long. Default 10 minutes. */
  retryForMs?: number;
}

export class ExecutionClient {
  readonly #base: string;
  #token: string;
  readonly #tiId: string;
  readonly #retryForMs: number;
  // Promises, so concurrent reads of one key share a request; a failed read is dropped and asked again.
  readonly #variables = new Map<string, Promise<string | null>>();
  readonly #connections = new Map<string, Promise<TaskConnection>>();

  constructor(apiUrl: string, token: string, tiId: string, options: ExecutionClientOptions = {}) {
    this.#base = `${apiUrl.replace(/\/$/, '')}/execution/v1`;
    this.#token = token;
    this.#tiId = tiId;
    this.#retryForMs = options.retryForMs ?? 600_000;
  }

  /** The token requests carry now. */
  get token(): string {
    return this.#token;
  }

  async start(info: { hostname: string; pid: number }): Promise<TaskRunContext> {
    return this.#renewing(await this.#call<TaskRunContext>('POST', `/task-instances/${this.#tiId}/start`, info));
  }

  async heartbeat(): Promise<{ state: string; current: boolean }> {
    return this.#renewing(await this.#call<{ state: string; current: boolean; token?: string }>('POST', `/task-instances/${this.#tiId}/heartbeat`, {}));
  }

  /** Report the outcome; the answer's `closing` token lets the task's callbacks still read and the log still ship. */
  async finish(outcome: TryOutcome | TrySuspension, returnValue?: JsonValue): Promise<{ state: string; failureReason: string | null }> {
    return this.#renewing(await this.#call<{ state: string; failureReason: string | null; token?: string }>('POST', `/task-instances/${this.#tiId}/finish`, returnValue === undefined ? { outcome } : { outcome, returnValue }));
  }

  #renewing<T extends { token?: string }>(answer: T): T {
    if (typeof answer.token === 'string' && answer.token !== '') this.#token = answer.token;
    return answer;
  }

  async pushXCom(key: string, value: JsonValue): Promise<void> {
    await this.#call('PUT', `/task-instances/${this.#tiId}/xcom/${encodeURIComponent(key)}`, { value });
  }

  /** Store the try's rendered template fields. */
  async putRenderedFields(renderedFields: JsonObject): Promise<void> {
    await this.#call('PUT', `/task-instances/${this.#tiId}/rendered-fields`, { renderedFields });
  }

  /** Without `mapIndex`: the value of an unmapped task, or the ordered list of a mapped task's values. */
  async pullXCom(taskId: string, key: string, mapIndex?: number): Promise<JsonValue | null> {
    const query = mapIndex === undefined ? '' : `?mapIndex=${mapIndex}`;
    const r = await this.#call<{ value: JsonValue | null }>('GET', `/task-instances/${this.#tiId}/xcom/${encodeURIComponent(taskId)}/${encodeURIComponent(key)}${query}`);
    return r.value;
  }

  /** The variable's value (null when it does not exist), asked once per try. */
  async getVariable(key: string): Promise<string | null> {
    return cached(this.#variables, key, async () => (await this.#call<{ value: string | null }>('GET', `/variables/${encodeURIComponent(key)}`)).value);
  }

  /** The connection, asked once per try; each caller gets its own copy to change. */
  async getConnection(connId: string): Promise<TaskConnection> {
    const c = await cached(this.#connections, connId, async () => {
      const raw = await this.#call<TaskConnection & { extra: Record<string, JsonValue> | null }>('GET', `/connections/${encodeURIComponent(connId)}`);
      return { ...raw, extra: (raw.extra ?? {}) as TaskConnection['extra'] };
    });
    return structuredClone(c);
  }

  /** Bytes of this try's log the API server's log store holds. */
  async logSize(): Promise<number> {
    return (await this.#call<{ size: number }>('GET', `/task-instances/${this.#tiId}/logs/size`)).size;
  }

  /**
   * Ship `chunk`, the bytes of this try's log from byte `offset`, to the API server's log store. Resolves
   * with the size the store now holds; `gap` when the store held less than `offset` (resend from `size`).
   */
  async putLogChunk(offset: number, chunk: Uint8Array): Promise<{ size: number; gap: boolean }> {
    const deadline = Date.now() + this.#retryForMs;
    const url = `${this.#base}/task-instances/${this.#tiId}/logs?offset=${offset}`;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'PUT',
          headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/octet-stream' },
          body: chunk,
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        if (Date.now() > deadline) throw new CapstanError('task_failed', `Execution API unreachable at ${this.#base}: ${(err as Error).message}`);
        await backoff(attempt);
        continue;
      }
      if (res.status >= 500 && res.status !== 501 && Date.now() < deadline) {
        await backoff(attempt);
        continue;
      }
      const json = (await res.json()) as { size?: number; error?: { message: string } };
      if ((res.ok || res.status === 409) && typeof json.size === 'number') return { size: json.size, gap: res.status === 409 };
      throw new CapstanError('task_failed', `Execution API PUT logs: ${res.status} ${json.error?.message ?? ''}`);
    }
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const deadline = Date.now() + this.#retryForMs;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.#base + path, {
          method,
          headers: { authorization: `Bearer ${this.#token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        if (Date.now() > deadline) throw new CapstanError('task_failed', `Execution API unreachable at ${this.#base}: ${(err as Error).message}`);
        await backoff(attempt);
        continue;
      }
      if (res.status >= 500 && Date.now() < deadline) {
        await backoff(attempt);
        continue;
      }
      if (res.status === 204) return undefined as T;
      const json = (await res.json()) as { error?: { code: string; message: string }; state?: string } & T;
      if (res.status === 409) throw new ConflictError(json.error?.message ?? 'conflict', json.state ?? 'unknown');
      if (res.status === 413) throw new PayloadTooLargeError(`Execution API ${method} ${path}: ${json.error?.message ?? 'request body too large'}`);
      if (!res.ok) {
        throw new CapstanError((json.error?.code as 'task_failed') ?? 'task_failed', `Execution API ${method} ${path}: ${res.status} ${json.error?.message ?? ''}`);
      }
      return json;
    }
  }
}

function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
}

/** `load()` once per key; a rejected load is forgotten so the next read asks again. */
function cached<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let hit = cache.get(key);
  if (hit === undefined) {
    hit = load();
    cache.set(key, hit);
    hit.catch(() => cache.delete(key));
  }
  return hit;
}
