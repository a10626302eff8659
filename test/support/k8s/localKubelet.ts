// A local kubelet for the test control plane: kwok simulates the nodes and
// runs no containers, so a pod that must really do its work (a
// KubernetesExecutor worker running `capstan tasks run`) gets it done here.
//
// The local kubelet watches the pods of one namespace (label-selected). When
// kwok has made a pod Running, it starts the pod's first container's command
// as a local child process (the `capstan` executable mapped to this repo's
// CLI under the Node that runs the tests), with the container's env resolved
// the way a kubelet resolves it (value, fieldRef, secretKeyRef,
// configMapKeyRef) and a private scratch folder as HOME and working folder,
// like a pod's own filesystem. The process's stdout and stderr become the
// container's log, served by the API server's real `pods/log` (podLogs.ts).
// When the process exits, the kubelet tells kwok how the container ended by
// setting the pod's `capstan.test/*` outcome annotations (kwok's stages
// re-evaluate a pod on every update, so the pod turns Succeeded or Failed
// with that exit code at once). Deleting the pod stops the process: SIGTERM,
// then SIGKILL after the pod's grace period.
//
// Pods must be created with `capstan.test/outcome: run-forever` (see
// LOCAL_KUBELET_POD_ANNOTATIONS): otherwise kwok ends them on its own clock,
// whatever the process does.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as osConstants } from 'node:os';
import {
  CoreV1Api,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { KubeConfig, V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { POD_ANNOTATIONS } from './podOutcome.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The repo's CLI entry, run by `capstan` in a container command. */
export const CAPSTAN_CLI_MAIN = join(repoRoot, 'src/cli/main.ts');

/** Annotations a pod needs so that its fate is the local process's, not kwok's own timer. */
export const LOCAL_KUBELET_POD_ANNOTATIONS: Readonly<Record<string, string>> = {
  [POD_ANNOTATIONS.outcome]: 'run-forever',
};

/** What the local kubelet did with one pod; for tests and diagnostics. */
export interface LocalContainerRun {
  namespace: string;
  pod: string;
  uid: string;
  argv: string[];
  pid: number | undefined;
  /** Exit code as a kubelet reports it: the code, or 128 + signal number. Undefined while running. */
  exitCode: number | undefined;
  /** Set when the process could not be started (ENOENT…). */
  startError: string | undefined;
}

/** Options of {@link startLocalKubelet}. */
export interface LocalKubeletOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** Only pods matching this selector are run (e.g. `capstan.dev/kind=worker`). Default: all in the namespace. */
  labelSelector?: string;
  /**
   * Folder the cluster's log server reads (`<descriptor.dir>/logs`): each container's output is written to
   * `<logsDir>/<namespace>/<pod>/<container>.log`, so `pods/log` serves it.
   */
  logsDir: string;
  /** Root of the pods' private folders (HOME and cwd of each process), removed on stop. Default: a new folder under `<logsDir>/../local-kubelet`. */
  podsDir?: string;
  /** Maps a container's command + args to a local argv. Default: `capstan` → this Node + the repo's CLI. */
  resolveCommand?: (argv: readonly string[]) => string[];
  /** Added under the container's env (the container's own entries win), e.g. NODE_COMPILE_CACHE. */
  baseEnv?: Readonly<Record<string, string>>;
  /** Longest SIGTERM → SIGKILL wait on deletion, whatever the pod asks. Default 30 s. */
  maxGraceMs?: number;
  /** Called with every problem the kubelet meets (a failed patch, a broken watch). Default: stderr. */
  onError?: (err: unknown, what: string) => void;
}

/** Handle of a running local kubelet. */
export interface LocalKubelet {
  /** Every process started so far, by pod uid. */
  readonly runs: ReadonlyMap<string, LocalContainerRun>;
  /** Processes running now. */
  running(): number;
  /** Stops watching and kills every process it started (SIGKILL), waiting for them to exit. */
  stop(): Promise<void>;
}

/**
 * Maps `capstan …` to `<node> <repo>/src/cli/main.ts …`; anything else runs as written (resolved on PATH).
 */
export function defaultResolveCommand(argv: readonly string[]): string[] {
  const [exe, ...rest] = argv;
  if (exe === undefined) throw new Error('the container has neither command nor args');
  if (exe === 'capstan' || exe.endsWith('/capstan')) return [process.execPath, CAPSTAN_CLI_MAIN, ...rest];
  return [exe, ...rest];
}

/** Exit code as a container runtime reports it: 128 + signal number for a signalled process. */
export function containerExitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal === null ? undefined : osConstants.signals[signal];
  return n === undefined ? 137 : 128 + n;
}

interface Running {
  run: LocalContainerRun;
  child: ChildProcess | undefined;
  log: WriteStream;
  exited: Promise<void>;
  killTimer: NodeJS.Timeout | undefined;
}

/**
 * Starts watching `namespace` and running its pods' main containers locally.
 *
 * @example
 * const kubelet = await startLocalKubelet({ kubeConfig: cluster.kubeConfig, namespace: ns,
 *   labelSelector: 'capstan.dev/kind=worker', logsDir: join(cluster.descriptor.dir, 'logs') });
 * try { ... } finally { await kubelet.stop(); }
 */
export async function startLocalKubelet(options: LocalKubeletOptions): Promise<LocalKubelet> {
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const namespace = options.namespace;
  // A folder of its own: kubelets of several test files share one cluster, and each removes its folder on stop —
  // a shared one pulled the working directory from under another kubelet's running pods (`spawn bash ENOENT`).
  const podsDir = options.podsDir ?? join(options.logsDir, '..', 'local-kubelet', `${namespace}-${randomUUID()}`);
  const resolveCommand = options.resolveCommand ?? defaultResolveCommand;
  const maxGraceMs = options.maxGraceMs ?? 30_000;
  const onError = options.onError ?? ((err, what) => process.stderr.write(`local kubelet: ${what}: ${String(err)}\n`));
  const runs = new Map<string, LocalContainerRun>();
  const active = new Map<string, Running>();
  let stopped = false;

  const informer = makeInformer<V1Pod>(
    options.kubeConfig,
    `/api/v1/namespaces/${namespace}/pods`,
    () => core.listNamespacedPod({ namespace, ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}) }),
    options.labelSelector,
  );

  const patchAnnotations = async (pod: V1Pod, annotations: Record<string, string>): Promise<void> => {
    const name = pod.metadata?.name ?? '';
    try {
      await core.patchNamespacedPod(
        // The uid precondition keeps a late exit from ending a newer pod of the same name.
        { namespace, name, body: { metadata: { uid: pod.metadata?.uid, annotations } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 404 || code === 409) return; // the pod is gone (or replaced): nothing to report to
      onError(err, `reporting the exit of pod ${namespace}/${name}`);
    }
  };

  const start = async (pod: V1Pod): Promise<void> => {
    const uid = pod.metadata?.uid ?? '';
    const name = pod.metadata?.name ?? '';
    const container = pod.spec?.containers[0];
    if (container === undefined) return;
    const argv = [...(container.command ?? []), ...(container.args ?? [])];
    const run: LocalContainerRun = { namespace, pod: name, uid, argv, pid: undefined, exitCode: undefined, startError: undefined };
    runs.set(uid, run);
    const logDir = join(options.logsDir, namespace, name);
    mkdirSync(logDir, { recursive: true });
    const log = createWriteStream(join(logDir, `${container.name}.log`), { flags: 'a' });
    let resolveExited: () => void = () => {};
    const exited = new Promise<void>((r) => (resolveExited = r));
    const entry: Running = { run, child: undefined, log, exited, killTimer: undefined };
    active.set(uid, entry);

    const finish = (exitCode: number, startError?: string): void => {
      if (run.exitCode !== undefined) return;
      run.exitCode = exitCode;
      if (startError !== undefined) run.startError = startError;
      if (entry.killTimer) clearTimeout(entry.killTimer);
      active.delete(uid);
      log.end(() => {
        resolveExited();
        const current = informer.get(name, namespace);
        if (stopped || current === undefined || current.metadata?.uid !== uid || current.metadata?.deletionTimestamp) return;
        const ann: Record<string, string> = exitCode === 0
          ? { [POD_ANNOTATIONS.outcome]: 'succeed', [POD_ANNOTATIONS.runDuration]: '0ms' }
          : { [POD_ANNOTATIONS.outcome]: 'fail', [POD_ANNOTATIONS.exitCode]: String(exitCode), [POD_ANNOTATIONS.runDuration]: '0ms' };
        if (startError !== undefined) ann[POD_ANNOTATIONS.terminationMessage] = startError;
        void patchAnnotations(current, ann);
      });
    };

    let env: Record<string, string>;
    let local: string[];
    try {
      env = await containerEnv(core, pod, container);
      local = resolveCommand(argv);
    } catch (err) {
      // A kubelet reports this as CreateContainerConfigError; a failed start is the closest kwok outcome.
      finish(128, `local kubelet could not start the container: ${(err as Error).message}`);
      return;
    }
    const home = join(podsDir, uid);
    mkdirSync(home, { recursive: true });
    const [exe, ...args] = local;
    const child = spawn(exe ?? '', args, {
      cwd: home,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, ...options.baseEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a kill reaches whatever the task started too.
      detached: true,
    });
    entry.child = child;
    run.pid = child.pid;
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.once('error', (err) => finish(128, err.message));
    child.once('close', (code, signal) => finish(containerExitCode(code, signal)));
  };

  const kill = (uid: string, graceMs: number): void => {
    const entry = active.get(uid);
    const child = entry?.child;
    if (entry === undefined || child?.pid === undefined || entry.killTimer !== undefined) return;
    signalGroup(child.pid, 'SIGTERM');
    entry.killTimer = setTimeout(() => signalGroup(child.pid ?? 0, 'SIGKILL'), Math.min(graceMs, maxGraceMs));
  };

  const onPod = (pod: V1Pod): void => {
    if (stopped) return;
    const uid = pod.metadata?.uid ?? '';
    if (pod.metadata?.deletionTimestamp) {
      kill(uid, (pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
      return;
    }
    if (pod.status?.phase !== 'Running' || runs.has(uid)) return;
    const first = pod.status.containerStatuses?.[0];
    if (first?.state?.running === undefined) return;
    start(pod).catch((err: unknown) => onError(err, `starting pod ${namespace}/${pod.metadata?.name ?? ''}`));
  };

  informer.on('add', onPod);
  informer.on('update', onPod);
  informer.on('delete', (pod) => kill(pod.metadata?.uid ?? '', 0));
  informer.on('error', (err: unknown) => {
    if (stopped) return;
    onError(err, 'watching pods (restarting)');
    setTimeout(() => void informer.start().catch((e: unknown) => onError(e, 'restarting the pod watch')), 200);
  });
  await informer.start();

  return {
    runs,
    running: () => active.size,
    async stop() {
      stopped = true;
      await informer.stop();
      const waits = [...active.values()].map((entry) => {
        if (entry.child?.pid !== undefined) signalGroup(entry.child.pid, 'SIGKILL');
        return entry.exited;
      });
      await Promise.all(waits);
      await rm(podsDir, { recursive: true, force: true }).catch(() => {});
    },
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** The container's environment as a kubelet resolves it (literal values and the usual valueFrom sources). */
async function containerEnv(core: CoreV1Api, pod: V1Pod, container: V1Container): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const namespace = pod.metadata?.namespace ?? '';
  for (const from of container.envFrom ?? []) {
    const data = from.secretRef
      ? decodeSecret((await core.readNamespacedSecret({ namespace, name: from.secretRef.name ?? '' })).data)
      : from.configMapRef
        ? (await core.readNamespacedConfigMap({ namespace, name: from.configMapRef.name ?? '' })).data ?? {}
        : {};
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of container.env ?? []) env[e.name] = expand(await envValue(core, pod, e), env);
  return env;
}

function decodeSecret(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** `$(VAR)` references to earlier variables, as the kubelet expands them; `$$` escapes. */
function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) =>
    m === '$$' ? '$' : name !== undefined && env[name] !== undefined ? env[name] : m);
}

async function envValue(core: CoreV1Api, pod: V1Pod, e: V1EnvVar): Promise<string> {
  if (e.value !== undefined) return e.value;
  const from = e.valueFrom;
  const namespace = pod.metadata?.namespace ?? '';
  if (from?.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath);
  if (from?.secretKeyRef) {
    const secret = await core.readNamespacedSecret({ namespace, name: from.secretKeyRef.name ?? '' });
    const v = secret.data?.[from.secretKeyRef.key];
    if (v === undefined) throw new Error(`secret ${from.secretKeyRef.name ?? ''} has no key ${from.secretKeyRef.key}`);
    return Buffer.from(v, 'base64').toString('utf8');
  }
  if (from?.configMapKeyRef) {
    const cm = await core.readNamespacedConfigMap({ namespace, name: from.configMapKeyRef.name ?? '' });
    const v = cm.data?.[from.configMapKeyRef.key];
    if (v === undefined) throw new Error(`config map ${from.configMapKeyRef.name ?? ''} has no key ${from.configMapKeyRef.key}`);
    return v;
  }
  return '';
}

function fieldValue(pod: V1Pod, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2] ?? ''] ?? '';
  switch (path) {
    case 'metadata.name': return pod.metadata?.name ?? '';
    case 'metadata.namespace': return pod.metadata?.namespace ?? '';
    case 'metadata.uid': return pod.metadata?.uid ?? '';
    case 'spec.nodeName': return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP': return pod.status?.podIP ?? '';
    case 'status.hostIP': return pod.status?.hostIP ?? '';
    default: throw new Error(`fieldRef ${path} is not supported by the local kubelet`);
  }
}
