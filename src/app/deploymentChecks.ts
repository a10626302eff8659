/**
 * Refuses, at start, the multi-process deployments that would otherwise fail silently (issue 16 §3):
 *
 * - **Keys differ between components.** Every scheduler, api-server, dag-processor and triggerer of one
 *   database must share `api.secretKey` (it signs the task-try tokens the Execution API checks) and
 *   `core.fernetKey` (it encrypts connections and variables). A key generated per pod under its own
 *   `core.home` makes every worker token fail with 401 elsewhere and leaves secrets written by one pod
 *   unreadable by another. The first component to start records a fingerprint of each key in the database
 *   (`deployment_key`); a component whose key differs stops with an error naming the setting and the fix.
 * - **SQLite in a Kubernetes pod.** The file is that pod's own: the other components never see it. (On one
 *   host several processes may share a SQLite file, which SQLite's locking supports; only pods are refused.)
 */
import { hostname } from 'node:os';
import { configSources, containerMarker, type CapstanConfig } from '../config/index.ts';
import { CapstanError } from '../core/index.ts';
import type { MetadataDb } from '../store/index.ts';
import { keyFingerprint, recordKeyFingerprint } from '../store/index.ts';

/** The long-running components that share one metadata database. */
export type DeploymentComponent = 'scheduler' | 'api-server' | 'dag-processor' | 'triggerer';

interface SharedKey {
  name: 'api.secretKey' | 'core.fernetKey';
  env: string;
  role: string;
  read(config: CapstanConfig): string;
}

const SHARED_KEYS: readonly SharedKey[] = [
  { name: 'api.secretKey', env: 'CAPSTAN__API__SECRET_KEY', role: 'it signs the task-try tokens the Execution API checks', read: (c) => c.api.secretKey },
  { name: 'core.fernetKey', env: 'CAPSTAN__CORE__FERNET_KEY', role: 'it encrypts connection passwords and variables', read: (c) => c.core.fernetKey },
];

export interface DeploymentCheckOptions {
  env?: Record<string, string | undefined>;
  /** Host name recorded with a fingerprint. Default: os.hostname() (the pod name in Kubernetes). */
  host?: string;
  now?: number;
}

/**
 * Throws a `config_invalid` CapstanError when `component` would run inconsistently with the other
 * components of database `m`; records the key fingerprints when it is the first to start.
 *
 * @example
 * await assertDeploymentConsistent(await ctx.db(), config, 'scheduler');
 */
export async function assertDeploymentConsistent(m: MetadataDb, config: CapstanConfig, component: DeploymentComponent, options: DeploymentCheckOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  if (m.dialect === 'sqlite' && containerMarker(env) === 'KUBERNETES_SERVICE_HOST') {
    throw new CapstanError('config_invalid', `database.url is a SQLite file in a Kubernetes pod: it is this pod's own, so this ${component} would not share its state with the other components`, {
      hint: 'set database.url (CAPSTAN__DATABASE__URL) to a PostgreSQL database every component reaches (the chart does: postgresql.enabled or externalDatabase); SQLite suits one host, e.g. `capstan standalone`',
    });
  }
  const recordedBy = `${component}@${options.host ?? hostname()}`;
  const now = options.now ?? Date.now();
  for (const key of SHARED_KEYS) {
    const mine = keyFingerprint(key.name, key.read(config));
    const recorded = await recordKeyFingerprint(m, key.name, mine, recordedBy, now);
    if (recorded.fingerprint === mine) continue;
    const source = configSources(config)?.get(key.name) ?? '';
    const generated = source.startsWith('generated: ') ? ` This process generated its own under ${source.slice('generated: '.length)} (core.home is per pod or container).` : '';
    throw new CapstanError('config_invalid',
      `${key.name} of this ${component} differs from the key the other components of this database use (first recorded by ${recorded.recordedBy} at ${new Date(recorded.recordedAt).toISOString()}); ${key.role}, so with different keys they fail against each other.${generated}`,
      { hint: `give every scheduler, api-server, dag-processor and triggerer the same ${key.name} (${key.env}; the chart's keys Secret does). After changing the key everywhere on purpose, run \`capstan db forget-key ${key.name}\` once, then start the components` });
  }
}
