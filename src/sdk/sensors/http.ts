/** `HttpSensor`: polls an HTTP endpoint until it answers as wanted — poking, rescheduling or deferred. */
import { CapstanError, DagDefinitionError } from '../../core/index.ts';
import type { JsonObject, JsonValue } from '../../core/index.ts';
import { HttpTrigger, sendHttpRequest, type HttpRequestSpec, type HttpResponseInfo } from '../../triggers/index.ts';
import type { TaskContext } from '../taskContext.ts';
import { BaseSensorOperator, type SensorOptions } from './base.ts';

/** Options of an {@link HttpSensor}. */
export interface HttpSensorOptions extends SensorOptions {
  /** Path under the connection's base URL, or a full URL (templated). */
  endpoint: string;
  /** An `http` connection (host, schema = protocol, port, login/password as basic auth). Default none. */
  httpConnId?: string;
  /** Default GET. */
  method?: string;
  /** Request headers (templated). */
  headers?: Record<string, string>;
  /** Request body (templated). */
  data?: string;
  /**
   * Decides whether a 2xx response means done. Default: any 2xx. Runs on the worker (also after a deferral:
   * when it says no, the sensor defers again).
   */
  responseCheck?: (response: HttpResponseInfo, ctx: TaskContext) => boolean | Promise<boolean>;
  /** Wait in the triggerer instead of on a worker. Default false. */
  deferrable?: boolean;
}

/**
 * Succeeds once the endpoint answers 2xx (and `responseCheck` agrees); 404 means "not yet", any other
 * status fails the try (Airflow's rule). Pushes `{ status, body }` of the accepted response.
 *
 * @example
 * new HttpSensor({ taskId: 'wait_api', httpConnId: 'api', endpoint: 'jobs/{{ run_id }}', responseCheck: (r) => JSON.parse(r.body).done });
 */
export class HttpSensor extends BaseSensorOperator {
  static override readonly templateFields: readonly string[] = ['endpoint', 'headers', 'data'];
  readonly operatorName: string = 'HttpSensor';
  readonly endpoint: string;
  readonly httpConnId: string | null;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly data: string | null;
  readonly responseCheck: NonNullable<HttpSensorOptions['responseCheck']> | null;
  readonly deferrable: boolean;
  #lastResponse: HttpResponseInfo | undefined;

  constructor(options: HttpSensorOptions) {
    super(options);
    if (typeof options.endpoint !== 'string' || options.endpoint === '') throw new DagDefinitionError(`sensor '${options.taskId}': endpoint must be a non-empty string`);
    this.endpoint = options.endpoint;
    this.httpConnId = options.httpConnId ?? null;
    this.method = options.method ?? 'GET';
    this.headers = options.headers ?? {};
    this.data = options.data ?? null;
    this.responseCheck = options.responseCheck ?? null;
    this.deferrable = options.deferrable ?? false;
  }

  #spec(): HttpRequestSpec {
    return { httpConnId: this.httpConnId ?? undefined, endpoint: this.endpoint, method: this.method, headers: this.headers, data: this.data ?? undefined };
  }

  override async poke(ctx: TaskContext): Promise<boolean> {
    const conn = this.httpConnId === null ? null : await ctx.getConnection(this.httpConnId);
    const res = await sendHttpRequest(this.#spec(), conn, ctx.signal);
    ctx.log.info(`poking ${this.method} ${this.endpoint}: ${res.status}`);
    if (res.status === 404) return false;
    if (res.status < 200 || res.status >= 300) throw new CapstanError('task_failed', `HTTP ${this.method} ${this.endpoint} answered ${res.status}: ${res.body.slice(0, 500)}`);
    this.#lastResponse = res;
    return this.#check(res, ctx);
  }

  async #check(res: HttpResponseInfo, ctx: TaskContext): Promise<boolean> {
    return this.responseCheck === null ? true : await this.responseCheck(res, ctx);
  }

  override async execute(ctx: TaskContext): Promise<JsonValue | undefined> {
    if (this.deferrable) return this.#deferUnlessDone(ctx, await this.poke(ctx));
    await super.execute(ctx);
    return this.#lastResponse;
  }

  #deferUnlessDone(ctx: TaskContext, done: boolean): JsonValue | undefined {
    if (done) return this.#lastResponse;
    const trigger = new HttpTrigger({
      endpoint: this.endpoint,
      httpConnId: this.httpConnId,
      method: this.method,
      headers: this.headers,
      data: this.data,
      acceptStatuses: [],
      pokeIntervalMs: this.pokeIntervalMs,
    });
    this.defer({ trigger, method: 'executeComplete', timeout: this.remainingMs(ctx) });
  }

  /** Resumed with the trigger's 2xx response: done if `responseCheck` agrees, else defer again. */
  async executeComplete(ctx: TaskContext, event: JsonValue): Promise<JsonValue | undefined> {
    const res = event as HttpResponseInfo;
    this.#lastResponse = res;
    return this.#deferUnlessDone(ctx, await this.#check(res, ctx));
  }

  protected override serializeFields(): JsonObject {
    return { ...super.serializeFields(), endpoint: this.endpoint, httpConnId: this.httpConnId, method: this.method, deferrable: this.deferrable };
  }
}
