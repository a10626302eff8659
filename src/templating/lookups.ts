/**
 * Values templates read from outside the task process — variables, connections, XComs — come from the
 * Execution API, which is asynchronous, while Nunjucks renders synchronously (its async mode only covers
 * filters and tags, not `ti.xcom_pull(...)` calls or `var.value.name` member lookups). So lookups are
 * resolved by re-rendering: an accessor that meets a value it has not fetched yet records the request and
 * throws `NeedsLookups`; the renderer fetches every recorded request, then renders again from scratch. A
 * template with n distinct lookups renders at most n + 1 times (fewer when several fields meet lookups in
 * the same pass: they are fetched together). Templates are expressions without side effects, so rendering
 * again is safe; a user macro with side effects may run more than once (docs/templating.md).
 */
import type { JsonValue } from '../core/index.ts';
import type { TaskConnection } from '../sdk/taskContext.ts';
import { splitKwargs } from './dates.ts';

/** Where lookups come from: the task's context (Execution API in a task process, the store in process). */
export interface LookupSources {
  getVariable(key: string): Promise<string | null>;
  getConnection(connId: string): Promise<TaskConnection>;
  /** Without `mapIndex`: an unmapped task's value, or the ordered list of a mapped task's values. */
  xcomPull(taskId: string, key: string, mapIndex: number | undefined): Promise<JsonValue | null>;
}

/** Thrown by an accessor whose value has not been fetched yet. */
export class NeedsLookups extends Error {
  constructor() {
    super('template lookups pending');
    this.name = 'NeedsLookups';
  }
}

type Fetched<T> = { ok: true; value: T } | { ok: false; error: Error };

/** The lookups of one rendering: fetched values, and requests met but not fetched yet. */
export class TemplateLookups {
  readonly #sources: LookupSources;
  readonly #done = new Map<string, Fetched<unknown>>();
  readonly #pending = new Map<string, () => Promise<unknown>>();

  constructor(sources: LookupSources) {
    this.#sources = sources;
  }

  get hasPending(): boolean {
    return this.#pending.size > 0;
  }

  /** Fetch every pending request (in parallel); failures are kept and thrown where the template reads them. */
  async fetchPending(): Promise<void> {
    const batch = [...this.#pending];
    this.#pending.clear();
    await Promise.all(
      batch.map(async ([k, fetch]) => {
        try {
          this.#done.set(k, { ok: true, value: await fetch() });
        } catch (err) {
          this.#done.set(k, { ok: false, error: err instanceof Error ? err : new Error(String(err)) });
        }
      }),
    );
  }

  #get<T>(key: string, fetch: () => Promise<T>): T {
    const f = this.#done.get(key);
    if (f) {
      if (!f.ok) throw f.error;
      return f.value as T;
    }
    this.#pending.set(key, fetch);
    throw new NeedsLookups();
  }

  variable(name: string): string | null {
    return this.#get(`var\u0000${name}`, () => this.#sources.getVariable(name));
  }

  connection(connId: string): TaskConnection {
    return this.#get(`conn\u0000${connId}`, () => this.#sources.getConnection(connId));
  }

  xcom(taskId: string, key: string, mapIndex: number | undefined): JsonValue | null {
    return this.#get(`xcom\u0000${taskId}\u0000${key}\u0000${mapIndex ?? 'all'}`, () => this.#sources.xcomPull(taskId, key, mapIndex));
  }

  /** `var`: `var.value.name`, `var.json.name`, and `.get(name, default)` on both. */
  varAccessor(): { value: object; json: object } {
    const read = (name: string, json: boolean): unknown => {
      const raw = this.variable(name);
      if (raw === null) return undefined;
      if (!json) return raw;
      try {
        return JSON.parse(raw) as unknown;
      } catch (err) {
        throw new Error(`variable '${name}' is not JSON: ${(err as Error).message}`, { cause: err });
      }
    };
    const accessor = (json: boolean) =>
      new Proxy(
        {},
        {
          get: (_t, prop) => {
            if (typeof prop !== 'string') return undefined;
            if (prop === 'get') return (name: string, fallback: unknown = null) => read(name, json) ?? fallback;
            const v = read(prop, json);
            if (v === undefined) throw new Error(`variable '${prop}' is not set`);
            return v;
          },
        },
      );
    return { value: accessor(false), json: accessor(true) };
  }

  /** `conn`: `conn.my_db.host`, `conn.get('my_db')`, with Airflow's field names. */
  connAccessor(): object {
    const read = (connId: string) => {
      const c = this.connection(connId);
      return {
        conn_id: c.connId,
        conn_type: c.connType,
        host: c.host,
        schema: c.schema,
        login: c.login,
        password: c.password,
        port: c.port,
        extra: JSON.stringify(c.extra),
        extra_dejson: c.extra,
      };
    };
    return new Proxy(
      {},
      {
        get: (_t, prop) => {
          if (typeof prop !== 'string') return undefined;
          if (prop === 'get') return (connId: string) => read(connId);
          return read(prop);
        },
      },
    );
  }

  /**
   * `ti.xcom_pull(task_ids='extract', key='return_value', map_indexes=None, default=None)`: one value for
   * a task id, a list for a list of ids; null (or `default`) when nothing was pushed, as in Airflow.
   */
  xcomPull(...args: unknown[]): unknown {
    const { positional, kwargs } = splitKwargs(args);
    const taskIds = kwargs.task_ids ?? positional[0];
    const key = (kwargs.key ?? positional[1] ?? 'return_value') as string;
    const mapIndex = kwargs.map_indexes as number | undefined;
    const fallback = kwargs.default ?? null;
    if (taskIds === undefined || taskIds === null) throw new Error('ti.xcom_pull needs task_ids');
    const one = (id: unknown) => {
      if (typeof id !== 'string') throw new Error(`ti.xcom_pull: task_ids must be a task id or a list of them, got ${JSON.stringify(id)}`);
      return this.xcom(id, key, mapIndex) ?? fallback;
    };
    return Array.isArray(taskIds) ? taskIds.map(one) : one(taskIds);
  }
}
