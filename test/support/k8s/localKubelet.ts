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
import { randomInt, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as osConstants } from 'node:os';
import {
  CoreV1Api,
  DiscoveryV1Api,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { KubeConfig, V1Container, V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import type { LocalImage, LocalImageResolver } from './localImage.ts';
import { containerEnv, fieldValue } from './podEnv.ts';
import { POD_ANNOTATIONS } from './podOutcome.ts';
import { createPodSandbox, type PodSandbox, type SandboxCommand } from './podSandbox.ts';

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
  /**
   * Run pods as a container runtime would (podSandbox.ts): the image's entrypoint, env and files (`images`), init
   * containers first, every volume at its mount path, the pod's service-account token, its own loopback IP
   * (written to status.podIP) and Service names in its /etc/hosts. Without it, only the first container's command
   * runs, in a scratch folder with the machine's filesystem (what the executor tests need).
   */
  sandbox?: { images: LocalImageResolver };
  /** Called with every problem the kubelet meets (a failed patch, a broken watch). Default: stderr. */
  onError?: (err: unknown, what: string) => void;
}

/** Handle of a running local kubelet. */
export interface LocalKubelet {
  /** Every process started so far, by pod uid. */
  readonly runs: ReadonlyMap<string, LocalContainerRun>;
  /** Processes running now. */
  running(): number;
  /** Sandbox mode: the loopback address on this machine where the pod with this IP (status.podIP) listens. */
  localAddress(podIP: string): string | undefined;
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
  /** The pod is being deleted: no further container starts. */
  terminating: boolean;
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
    const entry: Running = { run, child: undefined, log, exited, killTimer: undefined, terminating: false };
    active.set(uid, entry);

    const finish = (exitCode: number, startError?: string): void => {
      if (run.exitCode !== undefined) return;
      run.exitCode = exitCode;
      if (startError !== undefined) run.startError = startError;
      if (entry.killTimer) clearTimeout(entry.killTimer);
      active.delete(uid);
      sandboxes.delete(uid);
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

    // The processes to run in order: the init containers (sandbox only), then the main container.
    const steps: Array<{ container: V1Container; command: SandboxCommand; cwd: string }> = [];
    const home = join(podsDir, uid);
    try {
      mkdirSync(home, { recursive: true });
      if (options.sandbox) {
        const imageOf = (c: V1Container): LocalImage => {
          const image = options.sandbox?.images(c.image ?? '');
          if (image === undefined) throw new Error(`image ${c.image ?? '(none)'} is not known to the local kubelet`);
          return image;
        };
        const box = await createPodSandbox({ core, kubeConfig: options.kubeConfig, fieldValue }, pod, home, localAddress(pod.status?.podIP ?? ''), imageOf(container));
        sandboxes.set(uid, box);
        rewriteHosts();
        for (const c of [...(pod.spec?.initContainers ?? []), container]) {
          steps.push({ container: c, command: box.command(c, imageOf(c), { ...options.baseEnv, ...await containerEnv(core, pod, c) }), cwd: home });
        }
      } else {
        const env = await containerEnv(core, pod, container);
        const [exe = '', ...args] = resolveCommand(argv);
        steps.push({ container, command: { exe, args, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, ...options.baseEnv, ...env } }, cwd: home });
      }
    } catch (err) {
      // A kubelet reports this as CreateContainerConfigError; a failed start is the closest kwok outcome.
      finish(128, `local kubelet could not start the container: ${(err as Error).message}`);
      return;
    }

    try {
      await runSteps(steps, container, entry, logDir, log, finish);
    } catch (err) {
      finish(128, `local kubelet could not start the container: ${(err as Error).message}`);
    }
  };

  const runSteps = async (
    steps: ReadonlyArray<{ container: V1Container; command: SandboxCommand; cwd: string }>,
    container: V1Container, entry: Running, logDir: string, log: WriteStream, finish: (code: number, error?: string) => void,
  ): Promise<void> => {
    const run = entry.run;
    for (const step of steps) {
      if (stopped || entry.terminating) {
        finish(143);
        return;
      }
      const isMain = step.container === container;
      const stepLog = isMain ? log : createWriteStream(join(logDir, `${step.container.name}.log`), { flags: 'a' });
      const child = spawn(step.command.exe, step.command.args, {
        cwd: step.cwd,
        env: step.command.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so a kill reaches whatever the task started too.
        detached: true,
      });
      entry.child = child;
      if (isMain) run.pid = child.pid;
      child.stdout.pipe(stepLog, { end: false });
      child.stderr.pipe(stepLog, { end: false });
      const outcome = await new Promise<{ code: number; error?: string }>((resolveStep) => {
        child.once('error', (err) => resolveStep({ code: 128, error: err.message }));
        child.once('close', (code, signal) => resolveStep({ code: containerExitCode(code, signal) }));
      });
      if (!isMain) stepLog.end();
      if (isMain || outcome.code !== 0 || entry.terminating || stopped) {
        const error = outcome.error ?? (isMain || outcome.code === 0 ? undefined : `init container ${step.container.name} exited with ${outcome.code}`);
        finish(outcome.code, error);
        return;
      }
    }
  };

  const kill = (uid: string, graceMs: number): void => {
    const entry = active.get(uid);
    if (entry === undefined || entry.terminating) return;
    entry.terminating = true;
    const child = entry.child;
    if (child?.pid === undefined) return; // not started yet: the next start sees `terminating`
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

  // Sandbox mode: each pod's IP (kwok's, in status.podIP, so Services and EndpointSlices are the real ones) is
  // mapped to a loopback address of its own on this machine, where the pod's servers listen (podNetwork.ts);
  // Service names in a pod's /etc/hosts resolve to the mapped address of a ready endpoint.
  const localAddresses = new Map<string, string>();
  const sandboxes = new Map<string, PodSandbox>();
  const localAddress = (podIP: string): string => {
    let ip = localAddresses.get(podIP);
    if (ip !== undefined) return ip;
    const taken = new Set(localAddresses.values());
    do ip = `127.${64 + randomInt(64)}.${randomInt(256)}.${1 + randomInt(254)}`; while (taken.has(ip));
    localAddresses.set(podIP, ip);
    return ip;
  };
  const slices = options.sandbox ? makeInformer<V1EndpointSlice>(
    options.kubeConfig,
    `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
    () => options.kubeConfig.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace }),
  ) : undefined;
  const serviceHosts = (): Map<string, string> => {
    const hosts = new Map<string, string>();
    for (const slice of slices?.list() ?? []) {
      const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
      const ready = (slice.endpoints ?? []).find((e) => e.conditions?.ready !== false && localAddresses.has(e.addresses[0] ?? ''));
      const address = localAddresses.get(ready?.addresses[0] ?? '');
      if (service === undefined || address === undefined) continue;
      hosts.set([service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`].join(' '), address);
    }
    return hosts;
  };
  const rewriteHosts = (): void => {
    const hosts = serviceHosts();
    for (const box of sandboxes.values()) box.writeHosts(hosts);
  };
  if (slices) {
    for (const event of ['add', 'update', 'delete'] as const) slices.on(event, rewriteHosts);
    slices.on('error', (err: unknown) => {
      if (stopped) return;
      onError(err, 'watching endpoint slices (restarting)');
      setTimeout(() => void slices.start().catch((e: unknown) => onError(e, 'restarting the endpoint slice watch')), 200);
    });
    await slices.start();
  }

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
    localAddress: (podIP) => localAddresses.get(podIP),
    async stop() {
      stopped = true;
      await informer.stop();
      await slices?.stop();
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
