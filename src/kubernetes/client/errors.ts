/**
 * Kubernetes API failures as data. Every failed request made through {@link createKubeClients} rejects with a
 * {@link KubernetesApiError}: an `ApiException` of `@kubernetes/client-node` (so `err.code === 404` checks keep
 * working) with a discriminated {@link KubernetesErrorKind} and a message that says what happened and what to do,
 * built from the API server's `Status` object (code, reason, message, details.causes).
 */
import { ApiException } from '@kubernetes/client-node';

/**
 * What went wrong, for callers that decide by kind rather than by status code:
 * - `forbidden`: 403 from RBAC or an admission plugin (PodSecurity, …) — fix permissions or the spec.
 * - `quota_exceeded`: 403 from ResourceQuota admission — wait for capacity, lower requests or raise the quota.
 * - `invalid`: 422 — the object is not valid; {@link KubernetesApiError.causes} lists the fields.
 * - `bad_request`: 400 and other 4xx not listed here (e.g. a container that is not running yet for pods/log).
 * - `not_found`: 404. `already_exists`: 409 on create. `conflict`: 409 on update (stale resourceVersion).
 * - `gone`: 410 (a watch or list resourceVersion too old: re-list).
 * - `too_many_requests`: 429 (after the client's retries). `server_error`: 5xx (after retries).
 * - `unauthorized`: 401 even after the credentials were reloaded.
 * - `network`: no HTTP answer (connection refused/reset, DNS, TLS, client-side timeout); `code` is 0.
 */
export type KubernetesErrorKind =
  | 'forbidden'
  | 'quota_exceeded'
  | 'invalid'
  | 'bad_request'
  | 'not_found'
  | 'already_exists'
  | 'conflict'
  | 'gone'
  | 'too_many_requests'
  | 'server_error'
  | 'unauthorized'
  | 'network';

/** One entry of `Status.details.causes`: which field is wrong and why. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** The meta/v1 `Status` body the API server sends with a failure (fields we read). */
export interface ApiStatusBody {
  kind?: string;
  status?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
}

/** The request a failure belongs to, described the way RBAC does (verb, resource, namespace). */
export interface RequestDescription {
  method: string;
  url: string;
  /** RBAC verb: get, list, watch, create, update, patch, delete, deletecollection. */
  verb: string;
  /** Resource with subresource and API group, e.g. `pods`, `pods/log`, `jobs.batch`. */
  resource: string;
  namespace?: string;
  name?: string;
}

/**
 * A failed Kubernetes API request. `code` is the HTTP status (0 when no answer came back, kind `network`),
 * `body` the raw response text, `status` the parsed `Status` when there was one.
 *
 * @example
 * try { await clients.core.createNamespacedPod({ namespace, body: pod }); }
 * catch (err) {
 *   if (err instanceof KubernetesApiError && err.kind === 'already_exists') { … reattach … }
 *   else throw err;
 * }
 */
export class KubernetesApiError extends ApiException<string | undefined> {
  readonly kind: KubernetesErrorKind;
  /** What to do about it, when there is something to say. */
  readonly hint: string | undefined;
  readonly status: ApiStatusBody | undefined;
  readonly request: RequestDescription | undefined;
  /** Field causes of a 422 (or any Status carrying them). */
  readonly causes: readonly StatusCause[];
  /** Seconds the server asked us to wait (429/503 `Retry-After`), if it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: {
    kind: KubernetesErrorKind;
    code: number;
    message: string;
    hint?: string;
    body?: string;
    headers?: Record<string, string>;
    status?: ApiStatusBody;
    request?: RequestDescription;
    retryAfterSeconds?: number;
    cause?: unknown;
  }) {
    super(init.code, init.message, init.body, init.headers ?? {});
    this.name = 'KubernetesApiError';
    this.message = init.hint === undefined ? init.message : `${init.message}\nHint: ${init.hint}`;
    this.kind = init.kind;
    this.hint = init.hint;
    this.status = init.status;
    this.request = init.request;
    this.causes = init.status?.details?.causes ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds;
    if (init.cause !== undefined) this.cause = init.cause;
  }
}

const verbs: Readonly<Record<string, string>> = { POST: 'create', PUT: 'update', PATCH: 'patch' };

/**
 * Describes a request URL in RBAC terms.
 *
 * @example
 * describeRequest('GET', 'https://k8s/api/v1/namespaces/ns/pods?labelSelector=a') // verb list, resource pods, namespace ns
 */
export function describeRequest(method: string, url: string): RequestDescription {
  const parsed = new URL(url, 'https://kubernetes');
  const parts = parsed.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  let group = '';
  let rest: string[];
  if (parts[0] === 'api') rest = parts.slice(2);
  else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  } else rest = parts;
  let watch = parsed.searchParams.get('watch') === 'true' || parsed.searchParams.get('watch') === '1';
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural = '', name, sub] = rest;
  const resource = `${plural}${sub === undefined ? '' : `/${sub}`}${group === '' ? '' : `.${group}`}`;
  const upper = method.toUpperCase();
  let verb: string;
  if (upper === 'GET') verb = watch ? 'watch' : name === undefined ? 'list' : 'get';
  else if (upper === 'DELETE') verb = name === undefined ? 'deletecollection' : 'delete';
  else verb = verbs[upper] ?? upper.toLowerCase();
  const description: RequestDescription = { method: upper, url, verb, resource };
  if (namespace !== undefined) description.namespace = namespace;
  if (name !== undefined) description.name = name;
  return description;
}

/** Parses a response body as a `Status`, or undefined when it is not one. */
export function parseStatus(body: string | undefined): ApiStatusBody | undefined {
  if (body === undefined || body === '') return undefined;
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value === 'object' && value !== null && (value as ApiStatusBody).kind === 'Status') return value as ApiStatusBody;
  } catch {
    // not JSON: fall through
  }
  return undefined;
}

/** `verb resource "name" in namespace "ns"`, or '' without a request. */
export function requestSummary(request: RequestDescription | undefined): string {
  if (request === undefined) return '';
  const target = request.name === undefined ? request.resource : `${request.resource} "${request.name}"`;
  return `${request.verb} ${target}${request.namespace === undefined ? '' : ` in namespace "${request.namespace}"`}`;
}

function subjectOf(message: string): string | undefined {
  return /User "([^"]+)"/.exec(message)?.[1];
}

function forbidden(status: ApiStatusBody, message: string, request: RequestDescription | undefined): { kind: KubernetesErrorKind; message: string; hint?: string } {
  const quota = /exceeded quota: ([^,]+), requested: (.+?), used: (.+?), limited: (.+)$/.exec(message);
  if (quota) {
    const [, name = '', requested = '', used = '', limited = ''] = quota;
    return {
      kind: 'quota_exceeded',
      message: `ResourceQuota "${name}" refused to ${requestSummary(request) || 'create the object'}: requested ${requested}, already used ${used}, limit ${limited}`,
      hint: `wait for running pods in the namespace to finish, request less, or raise the quota (kubectl describe resourcequota ${name}${request?.namespace === undefined ? '' : ` -n ${request.namespace}`})`,
    };
  }
  const failedQuota = /failed quota: ([^:]+): (.+)$/.exec(message);
  if (failedQuota) {
    const [, name = '', why = ''] = failedQuota;
    return {
      kind: 'quota_exceeded',
      message: `ResourceQuota "${name}" refused to ${requestSummary(request) || 'create the object'}: ${why}`,
      hint: 'the quota covers these resources, so every container must set them (containerResources.requests / limits)',
    };
  }
  const subject = subjectOf(message);
  if (subject !== undefined || /cannot \w+ resource/.test(message)) {
    const sa = /^system:serviceaccount:([^:]+):(.+)$/.exec(subject ?? '');
    const who = sa ? `service account "${sa[2]}" of namespace "${sa[1]}"` : subject === undefined ? 'the client' : `user "${subject}"`;
    const verb = request?.verb ?? 'use';
    const resource = request?.resource ?? status.details?.kind ?? 'the resource';
    const ns = request?.namespace;
    const [plural = resource, ...groupParts] = resource.split('.');
    const group = groupParts.join('.');
    const bind = sa ? `--serviceaccount=${sa[1]}:${sa[2]}` : `--user=${subject ?? '<user>'}`;
    return {
      kind: 'forbidden',
      message: `RBAC: ${who} may not ${verb} ${resource}${ns === undefined ? '' : ` in namespace "${ns}"`} (${message})`,
      hint: ns === undefined
        ? `grant it a ClusterRole allowing '${verb}' on '${resource}' and bind it (kubectl create clusterrole capstan-${plural.replace('/', '-')} --verb=${verb} --resource=${plural}${group === '' ? '' : `.${group}`}; kubectl create clusterrolebinding … ${bind})`
        : `grant it a Role allowing '${verb}' on '${resource}' in "${ns}" and a RoleBinding (kubectl -n ${ns} create role capstan-${plural.replace('/', '-')} --verb=${verb} --resource=${plural}${group === '' ? '' : `.${group}`}; kubectl -n ${ns} create rolebinding capstan-${plural.replace('/', '-')} --role=capstan-${plural.replace('/', '-')} ${bind})`,
    };
  }
  return { kind: 'forbidden', message: `${requestSummary(request) || 'request'} was forbidden by admission: ${message}`, hint: 'change the spec to satisfy the admission policy named in the message' };
}

/**
 * Builds the error for an HTTP failure from its status code, response body and the request it answers.
 *
 * @example
 * apiErrorFromResponse(422, body, {}, describeRequest('POST', url)).kind // 'invalid'
 */
export function apiErrorFromResponse(
  code: number,
  body: string | undefined,
  headers: Record<string, string>,
  requestArg?: RequestDescription,
): KubernetesApiError {
  const status = parseStatus(body);
  // A create's URL has no name; the Status names the object.
  const request = requestArg !== undefined && requestArg.name === undefined && status?.details?.name !== undefined && requestArg.verb === 'create'
    ? { ...requestArg, name: status.details.name }
    : requestArg;
  const serverMessage = status?.message ?? (body === undefined || body === '' ? `HTTP ${code}` : body.slice(0, 500));
  const retryAfter = retryAfterSeconds(headers, status);
  const what = requestSummary(request);
  const base = { code, headers, ...(body === undefined ? {} : { body }), ...(status === undefined ? {} : { status }), ...(request === undefined ? {} : { request }), ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }) };
  const make = (kind: KubernetesErrorKind, message: string, hint?: string): KubernetesApiError =>
    new KubernetesApiError({ ...base, kind, message, ...(hint === undefined ? {} : { hint }) });

  switch (true) {
    case code === 401:
      return make('unauthorized', `the API server did not accept the credentials (401) to ${what || 'make the request'}, even after reloading them`,
        'check the connection\'s kubeconfig: an expired token or client certificate, or a service-account token that was revoked');
    case code === 403: {
      const f = forbidden(status ?? {}, serverMessage, request);
      return make(f.kind, f.message, f.hint);
    }
    case code === 404:
      return make('not_found', `${what || 'the object'} was not found: ${serverMessage}`,
        request?.namespace === undefined ? undefined : `check that namespace "${request.namespace}" and the object exist (kubectl get ${request.resource.split('/')[0]} -n ${request.namespace})`);
    case code === 409:
      return status?.reason === 'AlreadyExists' || request?.verb === 'create'
        ? make('already_exists', `${what || 'create'} failed: ${serverMessage}`, 'an object with this name exists already: reuse it, delete it, or pick another name')
        : make('conflict', `${what || 'update'} conflicted: ${serverMessage}`, 'the object changed since it was read: read it again and re-apply the change');
    case code === 410:
      return make('gone', `${what || 'request'}: ${serverMessage}`, 'the resourceVersion is too old: list again and watch from the new resourceVersion');
    case code === 422: {
      const causes = status?.details?.causes ?? [];
      const fields = causes.map((c) => `  - ${c.field ?? '(object)'}: ${c.message ?? c.reason ?? 'invalid'}`).join('\n');
      const kindName = status?.details?.kind === undefined ? 'object' : status.details.kind;
      return make('invalid', `the API server rejected ${kindName} "${status?.details?.name ?? request?.name ?? ''}" as invalid${fields === '' ? `: ${serverMessage}` : `:\n${fields}`}`,
        'fix the fields listed (the paths are those of the submitted manifest; render it with renderPodYaml to compare)');
    }
    case code === 429:
      return make('too_many_requests', `the API server kept throttling ${what || 'the request'} (429): ${serverMessage}`,
        'lower the connection\'s qps/burst, or raise the API server\'s priority-and-fairness limits for this client');
    case code >= 500:
      return make('server_error', `the API server failed to ${what || 'answer'} (${code} ${status?.reason ?? ''}): ${serverMessage}`.replace(' )', ')'),
        'the request was retried with backoff; check the API server and its admission webhooks');
    default:
      return make('bad_request', `${what || 'request'} was refused (${code}): ${serverMessage}`);
  }
}

/** Retry-After as seconds, from the header (seconds or HTTP date) or `details.retryAfterSeconds`. */
export function retryAfterSeconds(headers: Record<string, string>, status?: ApiStatusBody): number | undefined {
  const header = headers['retry-after'] ?? headers['Retry-After'];
  if (header !== undefined) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds;
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, (date - Date.now()) / 1000);
  }
  const fromBody = status?.details?.retryAfterSeconds;
  return typeof fromBody === 'number' && fromBody >= 0 ? fromBody : undefined;
}

/** The Node/undici error code of a failed fetch (`ECONNRESET`, `ECONNREFUSED`, `UND_ERR_SOCKET`, …), if any. */
export function networkErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (typeof current === 'object') {
      const code = (current as { code?: unknown }).code;
      if (typeof code === 'string') return code;
      const name = (current as { name?: unknown }).name;
      if (name === 'TimeoutError') return 'ETIMEDOUT';
      current = (current as { cause?: unknown }).cause;
    } else break;
  }
  return undefined;
}

/**
 * Builds the error for a request that got no HTTP answer.
 *
 * @example
 * networkError(err, describeRequest('POST', url), { attempts: 1, mayHaveReachedServer: true })
 */
export function networkError(
  err: unknown,
  request: RequestDescription | undefined,
  info: { attempts: number; mayHaveReachedServer: boolean; timeoutMs?: number },
): KubernetesApiError {
  const code = networkErrorCode(err) ?? 'unknown';
  const what = requestSummary(request) || 'request';
  const why = code === 'ETIMEDOUT' && info.timeoutMs !== undefined ? `no answer within ${info.timeoutMs} ms` : `${code}: ${err instanceof Error ? err.message : String(err)}`;
  const unsure = info.mayHaveReachedServer && request?.verb === 'create'
    ? ' The create may or may not have reached the server and was not retried blindly: look the object up (or create again and treat AlreadyExists as success).'
    : '';
  return new KubernetesApiError({
    kind: 'network',
    code: 0,
    message: `no answer from the API server to ${what} after ${info.attempts} attempt(s) (${why}).${unsure}`,
    hint: 'check that the cluster address in the connection is reachable from here (kubectl cluster-info)',
    ...(request === undefined ? {} : { request }),
    cause: err,
  });
}
