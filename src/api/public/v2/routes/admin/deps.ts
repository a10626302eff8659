/** What the admin routes need beyond {@link V2Deps}: the auth service, the secret stores, and the options they read. */
import type { AuthService } from '../../../../../auth/index.ts';
import type { CapstanConfig } from '../../../../../config/index.ts';
import { CapstanError } from '../../../../../core/index.ts';
import type { ConnectionStore, VariableStore } from '../../../../../store/index.ts';

export interface AdminDeps {
  /** Users, roles and API tokens. */
  auth: AuthService;
  connections: ConnectionStore;
  variables: VariableStore;
  /**
   * The server's configuration: `api.exposeConfig` and `api.testConnection` gate their routes, the
   * `healthCheckThresholdMs` options say which heartbeats are alive, and `GET /config` shows it redacted.
   */
  config: CapstanConfig;
  /** This installation's own secrets (signing and encryption keys, the database password), masked in XCom values. */
  serverSecrets: readonly string[];
  /** The running Capstan's version (package.json). */
  version: string;
}

/** The admin services of the v2 deps `d`; a 404 when this server was built without them. */
export function adminDeps(d: { admin?: AdminDeps | undefined }): AdminDeps {
  if (d.admin === undefined) throw new CapstanError('not_found', 'this API server serves no administration routes');
  return d.admin;
}
