/**
 * Which API server a command talks to, and the typed `/api/v2` client bound to it. The target comes, first
 * match wins, from `--local` (none: the local metadata DB), the command's `--api-url` or CAPSTAN_API_URL
 * (token from CAPSTAN_API_TOKEN, else the profile's when it is for the same server), or the stored profile
 * (`--profile`, CAPSTAN_PROFILE, else `default`). API error answers become the same `{ code, message, hint }`
 * errors, and so the same exit codes, as local failures. A token is never part of a message.
 */
import { apiV2Client, type ApiV2Client, type CallResult } from '../../api/client.ts';
import { CapstanError, type ErrorCode } from '../../core/index.ts';
import { DEFAULT_PROFILE, profilesPath, readProfiles } from './profiles.ts';

/** The server a remote command talks to. */
export interface RemoteTarget {
  apiUrl: string;
  token: string | undefined;
  /** Where the target came from, for messages: `profile 'default'`, `--api-url`, `CAPSTAN_API_URL`. */
  source: string;
  /** The profile name in use or to log in again with. */
  profile: string;
}

/** The options that choose a target. */
export interface TargetOptions {
  local?: boolean;
  apiUrl?: string;
  profile?: string;
}

/** The remote target for these options and environment, or undefined to work on the local metadata DB. */
export function resolveRemoteTarget(o: TargetOptions, env: NodeJS.ProcessEnv = process.env): RemoteTarget | undefined {
  if (o.local) return undefined;
  const profileName = o.profile ?? (env['CAPSTAN_PROFILE'] || DEFAULT_PROFILE);
  const url = o.apiUrl ?? (env['CAPSTAN_API_URL'] || undefined);
  const envToken = env['CAPSTAN_API_TOKEN'] || undefined;
  const path = profilesPath(env);
  if (url !== undefined) {
    const apiUrl = normalizeApiUrl(url);
    const stored = envToken === undefined ? readProfiles(path)[profileName] : undefined;
    return { apiUrl, token: envToken ?? (stored?.apiUrl === apiUrl ? stored.token : undefined), source: o.apiUrl === undefined ? 'CAPSTAN_API_URL' : '--api-url', profile: profileName };
  }
  const stored = readProfiles(path)[profileName];
  if (stored === undefined) {
    if (o.profile !== undefined) throw new CapstanError('not_found', `there is no CLI profile '${o.profile}' in ${path}`, { hint: `sign in with \`capstan login --api-url <url> --profile ${o.profile}\`` });
    return undefined;
  }
  return { apiUrl: stored.apiUrl, token: envToken ?? stored.token, source: `profile '${profileName}'`, profile: profileName };
}

/** `url` as an origin with an optional path prefix and no trailing slash; a 400-style error when it is not http(s). */
export function normalizeApiUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CapstanError('invalid_argument', `--api-url '${url}' is not a URL`, { hint: 'e.g. --api-url https://capstan.example.com or http://localhost:8080' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CapstanError('invalid_argument', `--api-url '${url}' must be an http:// or https:// URL`);
  if (parsed.username || parsed.password) throw new CapstanError('invalid_argument', '--api-url must not carry a user name or password', { hint: 'use --username and --password-stdin' });
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

/** The typed v2 client of a target, and the conversion of its answers into data or CLI errors. */
export class RemoteApi {
  readonly client: ApiV2Client;
  readonly target: RemoteTarget;

  constructor(target: RemoteTarget, fetchImpl: typeof fetch = fetch) {
    this.target = target;
    const doFetch: typeof fetch = (input, init) => fetchImpl(input, init).catch((err: unknown) => Promise.reject(unreachable(target, err)));
    this.client = apiV2Client({ baseUrl: target.apiUrl, ...(target.token === undefined ? {} : { token: target.token }), fetch: doFetch });
  }

  /** The data of a successful answer; any other answer thrown as the CLI error it means. */
  async ok<T>(call: Promise<CallResult<T>>): Promise<T> {
    const r = await call;
    if (r.error !== undefined || r.status >= 400) throw this.errorOf(r.status, r.error?.error);
    return r.data as T;
  }

  /** A fetch of a route outside `/api/v2` (the `/auth` routes), with the target's token. */
  async authRoute(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, token = this.target.token): Promise<unknown> {
    const response = await fetch(`${this.target.apiUrl}${path}`, {
      method,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).catch((err: unknown) => Promise.reject(unreachable(this.target, err)));
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) throw this.errorOf(response.status, (parsed as { error?: ApiErrorBody } | undefined)?.error);
    return parsed;
  }

  /** The CLI error for an API error answer. */
  errorOf(status: number, e: ApiErrorBody | undefined): CapstanError {
    const server = this.target.apiUrl;
    const message = e?.message ?? `the API server answered HTTP ${status}`;
    switch (status) {
      case 401:
        return new CapstanError('unauthorized', `${server} did not accept ${this.target.token === undefined ? 'a call without a token' : `the API token of ${this.target.source}`}: ${message}`, {
          hint: `sign in again with \`capstan login --api-url ${server}${this.target.profile === DEFAULT_PROFILE ? '' : ` --profile ${this.target.profile}`}\``,
        });
      case 403:
        return new CapstanError('forbidden', `${server} refused: ${message}`, { hint: e?.hint ?? "your role lacks the permission; ask an Admin for a role that has it (see `capstan users list` on the server)" });
      default: {
        const code = (e?.code as ErrorCode | undefined) ?? (status === 404 ? 'not_found' : status === 400 ? 'invalid_argument' : status === 409 ? 'conflict' : 'upstream_unavailable');
        const text = e?.field !== undefined && !message.startsWith(e.field) ? `${e.field}: ${message}` : message;
        return new CapstanError(code, text, e?.hint === undefined ? {} : { hint: e.hint });
      }
    }
  }
}

interface ApiErrorBody {
  code: string;
  message: string;
  hint?: string;
  field?: string;
}

function unreachable(target: RemoteTarget, err: unknown): CapstanError {
  const cause = err instanceof Error ? ((err.cause as { code?: string; message?: string } | undefined)?.code ?? (err.cause as Error | undefined)?.message ?? err.message) : String(err);
  return new CapstanError('upstream_unavailable', `cannot reach the Capstan API server at ${target.apiUrl} (${target.source}): ${cause}`, {
    hint: 'check the URL and that the server runs; `capstan logout` (or --local) works on the local metadata DB instead',
  });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
