/**
 * The `kubernetesExecutor` config section as the executor uses it: which namespaces are watched, and the start-up
 * checks that fail early with the config key to fix.
 */
import { InvalidArgument } from '../../core/index.ts';
import type { CapstanConfig } from '../../config/index.ts';
import type { WatchedNamespaces } from './workerPod.ts';

/** The typed `kubernetesExecutor` section (defaults and docs in src/config/defaults.ts). */
export type KubernetesExecutorSettings = CapstanConfig['kubernetesExecutor'];

/**
 * Namespaces the executor watches and may create pods in: `namespace` alone; in multi-namespace mode the list
 * (plus `namespace`), or every namespace when the list is empty.
 *
 * @example
 * watchedNamespaces({ ...s, multiNamespaceMode: true, multiNamespaceModeNamespaceList: 'a, b' }) // { kind: 'list', namespaces: ['default', 'a', 'b'] }
 */
export function watchedNamespaces(s: Pick<KubernetesExecutorSettings, 'namespace' | 'multiNamespaceMode' | 'multiNamespaceModeNamespaceList'>): WatchedNamespaces {
  if (!s.multiNamespaceMode) return { kind: 'list', namespaces: [s.namespace] };
  const list = s.multiNamespaceModeNamespaceList.split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (list.length === 0) return { kind: 'all' };
  for (const n of list) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n)) {
      throw new InvalidArgument(`kubernetesExecutor.multiNamespaceModeNamespaceList: '${n}' is not a namespace name`, 'namespaces are DNS-1123 labels, comma-separated');
    }
  }
  return { kind: 'list', namespaces: [...new Set([s.namespace, ...list])] };
}
