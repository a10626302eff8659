/**
 * A connection's shape, shared by the store (which keeps it encrypted), the secrets backends, the task runtime
 * and the operators (which receive it decrypted). Parsing and storage live in store/connections.ts.
 */
import type { JsonObject } from './serialized.ts';

/** JSON object of connection-type specific settings. */
export type ConnectionExtra = Record<string, unknown>;

/** One connection, in plaintext. Absent parts are null; `extra` is `{}` when there is none. */
export interface Connection {
  connId: string;
  /** Lower-case type such as `postgres`, `http`, `aws`; the URI scheme with `-` read as `_`. */
  connType: string;
  description: string | null;
  host: string | null;
  schema: string | null;
  login: string | null;
  password: string | null;
  port: number | null;
  extra: ConnectionExtra;
}

/** A connection as task code receives it (secrets decrypted). */
export interface TaskConnection {
  connId: string;
  connType: string;
  host: string | null;
  schema: string | null;
  login: string | null;
  password: string | null;
  port: number | null;
  extra: JsonObject;
}
