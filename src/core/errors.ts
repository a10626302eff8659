/**
 * One small error hierarchy with stable codes. Users signal skip / fail-fast / retry by throwing the
 * named errors below from task code; the engine maps them to task-instance outcomes.
 */

/** Stable, documented error codes; the CLI and API render `{ code, message, hint }` identically. */
export type ErrorCode =
  | 'config_invalid'
  | 'dag_invalid'
  | 'dag_not_found'
  | 'task_not_found'
  | 'run_not_found'
  | 'not_found'
  | 'conflict'
  | 'invalid_argument'
  | 'xcom_too_large'
  | 'db_schema_newer'
  | 'db_error'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'method_not_allowed'
  /** The route was removed for good (`/api/v1`); the hint says what replaced it. */
  | 'gone'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'host_not_allowed'
  | 'task_skipped'
  | 'task_fail_fast'
  | 'task_timeout'
  | 'task_failed'
  | 'crypto_error'
  /** A service Capstan depends on for this request (an OIDC provider) is down or answered nonsense. */
  | 'upstream_unavailable';

/** Structured diagnostic shared by every surface (CLI, API, logs). */
export interface Diagnostic {
  code: ErrorCode;
  message: string;
  hint?: string;
}

/** Base class of every error Capstan raises on purpose. */
export class CapstanError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CapstanError';
    this.code = code;
    this.hint = options.hint;
  }

  toDiagnostic(): Diagnostic {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** A DAG file or definition is wrong; carries the file, DAG and task it concerns. */
export class DagDefinitionError extends CapstanError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('dag_invalid', message, options);
    this.name = 'DagDefinitionError';
  }
}

/** Thrown by task code to end the try as `skipped`. */
export class TaskSkipped extends CapstanError {
  constructor(message = 'task skipped by its own code') {
    super('task_skipped', message);
    this.name = 'TaskSkipped';
  }
}

/** Thrown by task code to fail now, without using the remaining retries. */
export class TaskFailFast extends CapstanError {
  constructor(message: string) {
    super('task_fail_fast', message);
    this.name = 'TaskFailFast';
  }
}

/** Raised when a task try runs past its `executionTimeout`. */
export class TaskTimeout extends CapstanError {
  constructor(message: string) {
    super('task_timeout', message);
    this.name = 'TaskTimeout';
  }
}

/** Input from a user (CLI flag, API body, config value) is invalid. */
export class InvalidArgument extends CapstanError {
  constructor(message: string, hint?: string) {
    super('invalid_argument', message, hint === undefined ? {} : { hint });
    this.name = 'InvalidArgument';
  }
}

/** Something looked up by id does not exist. */
export class NotFound extends CapstanError {
  constructor(message: string, hint?: string) {
    super('not_found', message, hint === undefined ? {} : { hint });
    this.name = 'NotFound';
  }
}

/** Compile-time exhaustiveness check for discriminated unions. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

/** Message of any thrown value, for logs and stored failure reasons. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}
