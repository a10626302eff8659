// The API server's error shapes, as the fault proxy writes them: a
// meta/v1 Status body for a failed request, and an ERROR watch event
// carrying a Status for a watch that cannot continue.

/** A meta/v1 Status object as the API server returns it for a failure. */
export interface ApiStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  code: number;
  details?: { retryAfterSeconds?: number; causes?: { message: string }[] };
}

/** The reason the API server gives for each status code the proxy may fake. */
const defaultReasons: Readonly<Record<number, readonly [reason: string, message: string]>> = {
  400: ['BadRequest', 'the server rejected our request for an unknown reason'],
  401: ['Unauthorized', 'Unauthorized'],
  403: ['Forbidden', 'forbidden'],
  404: ['NotFound', 'the server could not find the requested resource'],
  409: ['Conflict', 'the object has been modified; please apply your changes to the latest version and try again'],
  410: ['Expired', 'too old resource version'],
  429: ['TooManyRequests', 'Too many requests, please try again later.'],
  500: ['InternalError', 'Internal error occurred: injected by the capstan fault proxy'],
  503: ['ServiceUnavailable', 'the server is currently unable to handle the request'],
  504: ['Timeout', 'the server was unable to return a response in the time allotted, but may still be processing the request'],
};

/**
 * Builds a Status for `code`, with the API server's usual reason and message
 * unless given.
 *
 * @example
 * apiStatus(429, { retryAfterSeconds: 2 }) // reason TooManyRequests, details.retryAfterSeconds 2
 */
export function apiStatus(
  code: number,
  options: { reason?: string; message?: string; retryAfterSeconds?: number } = {},
): ApiStatus {
  const [reason, message] = defaultReasons[code] ?? ['', `injected status ${code}`];
  const status: ApiStatus = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: options.message ?? message,
    reason: options.reason ?? reason,
    code,
  };
  if (options.retryAfterSeconds !== undefined) {
    status.details = { retryAfterSeconds: options.retryAfterSeconds };
  }
  return status;
}

/**
 * The ERROR event a watch stream ends with when its resourceVersion is too
 * old: HTTP 200, then this line (watch events are newline-delimited JSON).
 */
export function expiredWatchEvent(message = 'too old resource version'): string {
  return `${JSON.stringify({ type: 'ERROR', object: apiStatus(410, { message }) })}\n`;
}
