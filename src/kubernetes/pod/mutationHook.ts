/**
 * The pod mutation hook from config (`kubernetes.podMutationHook`): a function `(pod: V1Pod) => V1Pod` that has
 * the last word on every pod Capstan builds (worker pods of the KubernetesExecutor, KubernetesPodOperator pods),
 * e.g. to add a label, a toleration or a sidecar cluster-wide. It is named `<module path>#<export name>` and
 * loaded once, at start-up, so a missing module or export fails the process that needs it immediately, with the
 * config key in the message, instead of failing every task later.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { V1Pod } from '@kubernetes/client-node';
import { errorMessage, InvalidArgument } from '../../core/index.ts';

/** A loaded hook. It receives a copy of the pod and returns the pod to create. */
export type PodMutationHook = (pod: V1Pod) => V1Pod;

/** The config key the hook comes from, named in every error. */
export const POD_MUTATION_HOOK_KEY = 'kubernetes.podMutationHook';

/** Splits `<module>#<export>`; the export defaults to `default`. Relative module paths resolve against `baseDir`. */
export function parsePodMutationHookSpec(spec: string, baseDir: string = process.cwd()): { url: string; exportName: string } {
  const trimmed = spec.trim();
  const hash = trimmed.lastIndexOf('#');
  const modulePath = hash === -1 ? trimmed : trimmed.slice(0, hash);
  const exportName = hash === -1 ? 'default' : trimmed.slice(hash + 1);
  if (modulePath === '' || exportName === '' || !/^[A-Za-z_$][\w$]*$/.test(exportName)) {
    throw new InvalidArgument(`${POD_MUTATION_HOOK_KEY}: '${spec}' is not '<module path>#<export name>'`, 'e.g. /opt/capstan/hooks.ts#mutatePod');
  }
  const url = /^(file|data|node):/.test(modulePath) ? modulePath : pathToFileURL(isAbsolute(modulePath) ? modulePath : resolve(baseDir, modulePath)).href;
  return { url, exportName };
}

/**
 * Loads the hook named by `spec`; `undefined` for an empty spec. The returned function wraps the user's: a hook
 * that throws or returns something other than an object fails with a message naming the hook.
 *
 * @example
 * const hook = await loadPodMutationHook(config.kubernetes.podMutationHook);
 * const pod = buildPod(options, { identity, podMutationHook: hook });
 */
export async function loadPodMutationHook(spec: string, baseDir?: string): Promise<PodMutationHook | undefined> {
  if (spec.trim() === '') return undefined;
  const { url, exportName } = parsePodMutationHookSpec(spec, baseDir);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidArgument(`${POD_MUTATION_HOOK_KEY}: cannot import ${url}: ${errorMessage(err)}`, 'point it at an existing .ts/.js module');
  }
  const fn = mod[exportName];
  if (typeof fn !== 'function') {
    throw new InvalidArgument(`${POD_MUTATION_HOOK_KEY}: ${url} has no function export '${exportName}'`, `its exports: ${Object.keys(mod).join(', ') || '(none)'}`);
  }
  return (pod: V1Pod): V1Pod => {
    let out: unknown;
    try {
      out = (fn as (p: V1Pod) => unknown)(pod);
    } catch (err) {
      throw new InvalidArgument(`pod mutation hook ${spec} threw: ${errorMessage(err)}`);
    }
    if (typeof out !== 'object' || out === null || Array.isArray(out)) {
      throw new InvalidArgument(`pod mutation hook ${spec} returned ${out === null ? 'null' : typeof out}, expected the pod object`);
    }
    return out as V1Pod;
  };
}

/**
 * The environment variable that carries `kubernetes.podMutationHook` into task processes (both executors set
 * it from the scheduler's config), where operators build their pods; it is the config key's own
 * `CAPSTAN__SECTION__KEY` override, so a task process that loads its config sees the same value.
 */
export const POD_MUTATION_HOOK_ENV = 'CAPSTAN__KUBERNETES__POD_MUTATION_HOOK';

const fromEnvironment = new Map<string, Promise<PodMutationHook | undefined>>();

/**
 * The hook named by {@link POD_MUTATION_HOOK_ENV} in `env`, loaded once per process (operators in a task
 * process call this when they build a pod).
 */
export function podMutationHookFromEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): Promise<PodMutationHook | undefined> {
  const spec = env[POD_MUTATION_HOOK_ENV] ?? '';
  let loaded = fromEnvironment.get(spec);
  if (loaded === undefined) {
    loaded = loadPodMutationHook(spec);
    fromEnvironment.set(spec, loaded);
  }
  return loaded;
}
