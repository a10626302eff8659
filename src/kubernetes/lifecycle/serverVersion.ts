/**
 * The Kubernetes server version, read once per client set, and what it decides: `doXcomPush` runs its sidecar as
 * a **native sidecar** (an init container with `restartPolicy: Always`), which Kubernetes has since 1.29 (beta,
 * on by default). An older API server drops the unknown field, so the sidecar would become an ordinary init
 * container that never ends and the pod would never start: the task fails fast with the reason instead.
 */
import type { VersionInfo } from '@kubernetes/client-node';
import { errorMessage, TaskFailFast } from '../../core/index.ts';
import type { KubeClients } from '../client/clients.ts';

/** First Kubernetes version with native sidecars enabled by default. */
export const NATIVE_SIDECARS_SINCE = { major: 1, minor: 29 } as const;

/** A server version as numbers, with the text it came from. */
export interface ServerVersion {
  major: number;
  minor: number;
  gitVersion: string;
}

/**
 * Reads `/version`'s answer: `major` / `minor` as numbers (managed clusters report minors like `29+`), else the
 * leading `vX.Y` of `gitVersion`; undefined when neither is readable. Pure.
 *
 * @example
 * parseServerVersion({ major: '1', minor: '29+', gitVersion: 'v1.29.3-eks-adc7111' }) // { major: 1, minor: 29, gitVersion: 'v1.29.3-eks-adc7111' }
 */
export function parseServerVersion(info: Pick<VersionInfo, 'major' | 'minor' | 'gitVersion'>): ServerVersion | undefined {
  const major = Number.parseInt(info.major ?? '', 10);
  const minor = Number.parseInt(info.minor ?? '', 10);
  if (Number.isInteger(major) && Number.isInteger(minor)) return { major, minor, gitVersion: info.gitVersion ?? '' };
  const m = /^v?(\d+)\.(\d+)/.exec(info.gitVersion ?? '');
  return m === null ? undefined : { major: Number(m[1]), minor: Number(m[2]), gitVersion: info.gitVersion };
}

/**
 * Why `doXcomPush` cannot run on this server, or undefined when it can (1.29 or later). A version that could not
 * be read as numbers is not refused: the check exists to explain an old cluster, not to block an unusual one. Pure.
 */
export function nativeSidecarProblem(version: ServerVersion | undefined): string | undefined {
  if (version === undefined) return undefined;
  const { major, minor } = NATIVE_SIDECARS_SINCE;
  if (version.major > major || (version.major === major && version.minor >= minor)) return undefined;
  const shown = version.gitVersion === '' ? `${version.major}.${version.minor}` : version.gitVersion;
  return `doXcomPush needs native sidecars (Kubernetes ≥ ${major}.${minor}); this cluster runs ${shown}: upgrade the cluster, `
    + 'or set doXcomPush: false and pass results another way (a volume, object storage)';
}

const versions = new WeakMap<KubeClients, Promise<ServerVersion | undefined>>();

/** The server's version, read with `GET /version` on the first call for `clients` and cached for that client set. */
export function serverVersion(clients: KubeClients): Promise<ServerVersion | undefined> {
  let cached = versions.get(clients);
  if (cached === undefined) {
    cached = clients.version.getCode().then(parseServerVersion);
    versions.set(clients, cached);
    // A failed read is not remembered: the next task tries again.
    cached.catch(() => versions.delete(clients));
  }
  return cached;
}

/**
 * Resolves when the cluster of `clients` runs native sidecars; otherwise throws `TaskFailFast` with
 * {@link nativeSidecarProblem}'s message (retries would meet the same cluster). A failed version read rejects
 * with the reason.
 *
 * @example
 * if (options.doXcomPush) await requireNativeSidecars(clients);
 */
export async function requireNativeSidecars(clients: KubeClients): Promise<void> {
  let version: ServerVersion | undefined;
  try {
    version = await serverVersion(clients);
  } catch (err) {
    throw new Error(`doXcomPush: cannot read the Kubernetes server version to check native sidecar support: ${errorMessage(err)}`, { cause: err });
  }
  const problem = nativeSidecarProblem(version);
  if (problem !== undefined) throw new TaskFailFast(problem);
}
