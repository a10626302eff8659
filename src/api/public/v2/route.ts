/**
 * One v2 operation = one {@link defineRoute} value: its method and path, what it takes to call it, the zod
 * schemas of its path parameters, query and body (which both validate the request and describe it in the
 * OpenAPI document), the schema of its answer, and a handler that receives the parsed input. Route values
 * are static (no engine needed), so the permission table and the OpenAPI document are built from them.
 *
 * @example
 * export const getDag = defineRoute({
 *   method: 'get', path: '/dags/{dagId}', operationId: 'getDag', tags: ['DAG'], summary: 'One DAG',
 *   access: onDag('dag', 'read'),
 *   params: { dagId: DagId },
 *   response: { schema: DagSchema },
 *   handler: async (c, { params }, d) => dagView(await getDag(d.db, params.dagId)),
 * });
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ApiEnv } from '../../auth/authMiddleware.ts';
import type { RouteAccess } from '../../auth/routePermissions.ts';
import type { V2Deps } from './deps.ts';
import { readBody, readParams, readQuery } from './input.ts';
import { ErrorSchema } from './schemas/common.ts';
import { jsonWithEtag } from './etag.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Shape = z.ZodRawShape;

/** The parsed input a handler receives. */
export interface RouteInput<P extends Shape, Q extends Shape, B extends z.ZodType | undefined> {
  params: z.output<z.ZodObject<P>>;
  query: z.output<z.ZodObject<Q>>;
  body: B extends z.ZodType ? z.output<B> : undefined;
}

/** What a handler gives back: the answer's JSON (checked against `response.schema` by the compiler), or a Response of its own (SSE, text). */
type HandlerResult<R extends z.ZodType | undefined> = R extends z.ZodType ? z.input<R> | Response : Response;

export interface RouteSpec<P extends Shape, Q extends Shape, B extends z.ZodType | undefined, R extends z.ZodType | undefined> {
  method: HttpMethod;
  /** OpenAPI path under `/api/v2`, parameters in braces: `/dags/{dagId}/dagRuns`. */
  path: string;
  /** Unique camelCase name; becomes the typed client's operation name. */
  operationId: string;
  /** Groups operations on the reference page (`DAG`, `DagRun`, `TaskInstance`, …). */
  tags: readonly string[];
  summary: string;
  description?: string;
  /** Who may call it; fed into the permission table. */
  access: RouteAccess;
  params?: P;
  query?: Q;
  /** A JSON request body; `bodyRequired: false` lets an empty body stand for `{}` after defaults. */
  body?: B;
  bodyRequired?: boolean;
  response: {
    /** Default 200. */
    status?: 200 | 201;
    /** JSON answer; absent when the route answers another media type (then `mediaType` says which). */
    schema?: R;
    description?: string;
    mediaType?: 'text/event-stream' | 'text/html';
  };
  /** Heavy GETs: answer with a strong ETag and 304 to a matching If-None-Match. */
  etag?: boolean;
  handler: (c: Context<ApiEnv>, input: RouteInput<P, Q, B>, deps: V2Deps) => Promise<HandlerResult<R>>;
}

/** A route of any shape, as the registry holds it. */
export interface AnyRoute {
  readonly method: HttpMethod;
  readonly path: string;
  readonly operationId: string;
  readonly access: RouteAccess;
  /** The path as Hono routes it (`/dags/:dagId`). */
  readonly honoPath: string;
  /** The OpenAPI description of the operation. */
  readonly openApi: ReturnType<typeof createRoute>;
  readonly handle: (c: Context<ApiEnv>, deps: V2Deps) => Promise<Response>;
}

/** Declare one operation (see the module comment). */
export function defineRoute<P extends Shape = Record<never, never>, Q extends Shape = Record<never, never>, B extends z.ZodType | undefined = undefined, R extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<P, Q, B, R>,
): AnyRoute {
  const params = z.object(spec.params ?? {}).strict();
  const query = z.object(spec.query ?? {}).strict();
  const status = spec.response.status ?? 200;
  const openApi = createRoute({
    method: spec.method,
    path: spec.path,
    operationId: spec.operationId,
    tags: [...spec.tags],
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    request: {
      ...(spec.params ? { params } : {}),
      ...(spec.query ? { query } : {}),
      ...(spec.body ? { body: { required: spec.bodyRequired ?? true, content: { 'application/json': { schema: spec.body } } } } : {}),
    },
    responses: {
      [status]: {
        description: spec.response.description ?? 'OK',
        ...(spec.response.schema ? { content: { 'application/json': { schema: spec.response.schema } } } : { content: { [spec.response.mediaType ?? 'text/plain']: { schema: z.string() } } }),
        ...(spec.etag ? { headers: { ETag: { schema: { type: 'string' }, description: 'send it back in If-None-Match to get a 304' } } } : {}),
      },
      ...(spec.etag ? { 304: { description: 'Not modified (the If-None-Match ETag still matches)' } } : {}),
      ...errorResponses(spec),
    },
  });
  const handle = async (c: Context<ApiEnv>, deps: V2Deps): Promise<Response> => {
    const input = {
      params: readParams(c, params),
      query: readQuery(c, query),
      body: spec.body ? await readBody(c, spec.body, spec.bodyRequired ?? true) : undefined,
    } as RouteInput<P, Q, B>;
    const result = await spec.handler(c, input, deps);
    if (result instanceof Response) return result;
    return spec.etag ? jsonWithEtag(c, result, status) : c.json(result as object, status as ContentfulStatusCode);
  };
  return { method: spec.method, path: spec.path, operationId: spec.operationId, access: spec.access, honoPath: spec.path.replace(/\{(\w+)\}/g, ':$1'), openApi, handle };
}

const errorContent = { 'application/json': { schema: ErrorSchema } };

/** The error answers every operation may give, by what it takes. */
function errorResponses(spec: { params?: unknown; query?: unknown; body?: unknown; access: RouteAccess }): Record<number, { description: string; content: typeof errorContent }> {
  const out: Record<number, { description: string; content: typeof errorContent }> = {
    400: { description: 'Invalid input; `error.field` names the field', content: errorContent },
    401: { description: 'Not signed in', content: errorContent },
  };
  if (spec.access.kind === 'permission') out[403] = { description: 'The role lacks the permission', content: errorContent };
  if (spec.params) out[404] = { description: 'Not found (or outside the caller’s DAG grants)', content: errorContent };
  if (spec.body) out[409] = { description: 'Conflicts with the current state', content: errorContent };
  return out;
}

/** Register `routes` (handlers and OpenAPI description) on a v2 app. */
export function registerRoutes(app: OpenAPIHono<ApiEnv>, routes: readonly AnyRoute[], deps: V2Deps): void {
  for (const r of routes) {
    app.openAPIRegistry.registerPath(r.openApi);
    app.on(r.method.toUpperCase(), r.honoPath, async (c) => {
      const res = await r.handle(c, deps);
      if (r.method !== 'get' && res.status < 300) deps.changes?.emit();
      return res;
    });
  }
}
