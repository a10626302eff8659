/**
 * XCom from a pod without `exec`: the base container writes JSON to `/airflow/xcom/return.json` on an
 * emptyDir shared with a native sidecar (an init container with `restartPolicy: Always`, Kubernetes ≥
 * 1.29). The sidecar sleeps until it is told the base container is done — SIGTERM, which the kubelet
 * sends to native sidecars once every regular container has exited, or a `.done` marker file in the
 * shared directory — then prints the file between delimiter lines to its stdout and exits 0. The
 * operator reads that through `pods/log` of the sidecar: the only RBAC needed is `pods/log` get, nothing
 * is left running, and every wait is bounded by a timeout.
 */
import type { V1Container, V1Pod, V1ResourceRequirements, V1SecurityContext } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { requestLog } from './logRequest.ts';
import type { PodWatcher } from './podWatcher.ts';
import { BASE_CONTAINER, hasTerminated } from './podState.ts';

/** Name of the injected sidecar container. */
export const XCOM_SIDECAR_NAME = 'capstan-xcom';
/** Name of the shared emptyDir volume. */
export const XCOM_VOLUME_NAME = 'capstan-xcom';
/** Where the base container and the sidecar see the shared directory. */
export const XCOM_MOUNT_PATH = '/airflow/xcom';
/** Default limit on the XCom file size (bytes). */
export const DEFAULT_XCOM_MAX_BYTES = 1_048_576;
/** Every protocol line the sidecar prints starts with this marker. */
export const XCOM_MARKER = '@@capstan-xcom@@';

/**
 * The sidecar's POSIX shell program. `$1` is the size limit. It prints exactly one of:
 * `MARKER missing`, `MARKER empty`, `MARKER too-large <bytes>`, or `MARKER begin <bytes>`, the file,
 * `MARKER end`. The sleep runs in the background so the TERM trap fires at once.
 */
export const XCOM_SIDECAR_SCRIPT = [
  `f=${XCOM_MOUNT_PATH}/return.json; m='${XCOM_MARKER}'; max="$1"`,
  'emit() {',
  '  if [ ! -e "$f" ]; then echo "$m missing"',
  '  elif [ ! -s "$f" ]; then echo "$m empty"',
  '  else n=$(wc -c < "$f" | tr -d " ")',
  '    if [ "$n" -gt "$max" ]; then echo "$m too-large $n"',
  '    else echo "$m begin $n"; cat "$f"; echo; echo "$m end"; fi',
  '  fi',
  '  exit 0',
  '}',
  'trap emit TERM INT',
  `while [ ! -e ${XCOM_MOUNT_PATH}/.done ]; do sleep 1 & wait $!; done`,
  'emit',
].join('\n');

/** Options of {@link withXcomSidecar}. */
export interface XcomSidecarOptions {
  /** Any image with a POSIX shell, `wc`, `tr`, `cat` and `sleep` (default `alpine:3.22`). */
  image?: string;
  /** Default: requests 1m CPU / 10Mi memory, limit 50Mi memory. */
  resources?: V1ResourceRequirements;
  /** Largest XCom accepted, bytes (default 1 MiB). */
  maxBytes?: number;
  /** Container receiving the mount (default `base`). */
  container?: string;
  /**
   * Default: what the `restricted` Pod Security Standard asks for (non-root uid 65534, no privilege
   * escalation, all capabilities dropped, RuntimeDefault seccomp). The file stays readable: an emptyDir is
   * world-writable and files are created 0644 under the usual umask.
   */
  securityContext?: V1SecurityContext;
}

/** The sidecar's default security context (see {@link XcomSidecarOptions.securityContext}). */
export const XCOM_SIDECAR_SECURITY_CONTEXT: V1SecurityContext = {
  runAsNonRoot: true,
  runAsUser: 65534,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/**
 * Returns a copy of `pod` with the XCom volume, the base container's mount and the native sidecar
 * (appended after the pod's own init containers, so they have finished when it starts).
 *
 * @example
 * const manifest = withXcomSidecar(pod, { image: 'alpine:3.22', maxBytes: 64 * 1024 });
 * // base: echo '{"rows": 42}' > /airflow/xcom/return.json
 */
export function withXcomSidecar(pod: V1Pod, options: XcomSidecarOptions = {}): V1Pod {
  const spec = pod.spec;
  if (spec === undefined) throw new Error('withXcomSidecar: the pod has no spec');
  const target = options.container ?? BASE_CONTAINER;
  if (!spec.containers.some((c) => c.name === target)) {
    throw new Error(`withXcomSidecar: the pod has no container named "${target}"`);
  }
  if ((spec.initContainers ?? []).some((c) => c.name === XCOM_SIDECAR_NAME)) return pod;
  const mount = { name: XCOM_VOLUME_NAME, mountPath: XCOM_MOUNT_PATH };
  const sidecar: V1Container = {
    name: XCOM_SIDECAR_NAME,
    image: options.image ?? 'alpine:3.22',
    command: ['sh', '-c', XCOM_SIDECAR_SCRIPT, XCOM_SIDECAR_NAME, String(options.maxBytes ?? DEFAULT_XCOM_MAX_BYTES)],
    restartPolicy: 'Always',
    securityContext: options.securityContext ?? XCOM_SIDECAR_SECURITY_CONTEXT,
    resources: options.resources ?? { requests: { cpu: '1m', memory: '10Mi' }, limits: { memory: '50Mi' } },
    volumeMounts: [mount],
  };
  return {
    ...pod,
    spec: {
      ...spec,
      volumes: [...(spec.volumes ?? []), { name: XCOM_VOLUME_NAME, emptyDir: {} }],
      initContainers: [...(spec.initContainers ?? []), sidecar],
      containers: spec.containers.map((c) =>
        (c.name === target ? { ...c, volumeMounts: [...(c.volumeMounts ?? []), mount] } : c)),
    },
  };
}

/** What the sidecar reported, parsed. */
export type XcomResult =
  | { kind: 'value'; value: unknown }
  | { kind: 'error'; message: string };

/** Parses the sidecar's log (the last protocol block wins). Pure. */
export function parseXcomOutput(log: string, maxBytes: number = DEFAULT_XCOM_MAX_BYTES): XcomResult {
  const lines = log.split('\n');
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if ((lines[i] ?? '').startsWith(`${XCOM_MARKER} `) && !(lines[i] ?? '').startsWith(`${XCOM_MARKER} end`)) {
      start = i;
      break;
    }
  }
  if (start < 0) return { kind: 'error', message: 'the XCom sidecar printed no result (was it stopped before the base container finished?)' };
  const [, verb = '', size = ''] = (lines[start] ?? '').split(' ');
  switch (verb) {
    case 'missing':
      return { kind: 'error', message: `doXcomPush is set but the container wrote no ${XCOM_MOUNT_PATH}/return.json` };
    case 'empty':
      return { kind: 'value', value: null };
    case 'too-large':
      return { kind: 'error', message: `${XCOM_MOUNT_PATH}/return.json is ${size} bytes, more than the ${maxBytes}-byte XCom limit` };
    case 'begin': {
      const endAt = lines.findIndex((l, i) => i > start && l.startsWith(`${XCOM_MARKER} end`));
      if (endAt < 0) return { kind: 'error', message: 'the XCom sidecar output was truncated (no end marker)' };
      const body = lines.slice(start + 1, endAt).join('\n');
      if (Buffer.byteLength(body) > maxBytes + 1) {
        return { kind: 'error', message: `${XCOM_MOUNT_PATH}/return.json is larger than the ${maxBytes}-byte XCom limit` };
      }
      if (body.trim() === '') return { kind: 'value', value: null };
      try {
        return { kind: 'value', value: JSON.parse(body) as unknown };
      } catch (error) {
        const preview = body.length > 200 ? `${body.slice(0, 200)}…` : body;
        return { kind: 'error', message: `${XCOM_MOUNT_PATH}/return.json is not valid JSON (${(error as Error).message}): ${preview.trim()}` };
      }
    }
    default:
      return { kind: 'error', message: `the XCom sidecar printed an unknown result "${verb}"` };
  }
}

/** Options of {@link readXcom}. */
export interface ReadXcomOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  pod: string;
  watcher: PodWatcher;
  maxBytes?: number;
  /** How long to wait for the sidecar to print and exit after the base container ended (default 60). */
  timeoutSeconds?: number;
  signal: AbortSignal;
  /** Rate-limiter token for the log request (`KubeClients.streamPermit`). */
  permit?: (() => Promise<void>) | undefined;
}

/** Waits (bounded) for the sidecar to terminate, then reads and parses its output. */
export async function readXcom(options: ReadXcomOptions): Promise<XcomResult> {
  const maxBytes = options.maxBytes ?? DEFAULT_XCOM_MAX_BYTES;
  const timeoutSeconds = options.timeoutSeconds ?? 60;
  const done = await options.watcher.until((s) => (s.pod !== undefined && hasTerminated(s.pod, XCOM_SIDECAR_NAME) ? true : s.deleted ? false : undefined),
    { timeoutMs: timeoutSeconds * 1000, signal: options.signal });
  if (done === undefined) {
    return { kind: 'error', message: `the XCom sidecar did not exit within ${timeoutSeconds}s after the base container finished; a regular container that keeps running prevents it (run long-lived helpers as native sidecars)` };
  }
  if (!done) return { kind: 'error', message: 'the pod was deleted before its XCom could be read' };
  let text = '';
  const decoder = new TextDecoder();
  const end = await requestLog({
    kubeConfig: options.kubeConfig,
    namespace: options.namespace,
    pod: options.pod,
    query: { container: XCOM_SIDECAR_NAME, follow: false, timestamps: false, limitBytes: maxBytes + 4096 },
    onChunk: (chunk) => { text += decoder.decode(chunk, { stream: true }); },
    idleTimeoutMs: timeoutSeconds * 1000,
    signal: options.signal,
    permit: options.permit,
  });
  if (end.kind !== 'end') {
    const why = end.kind === 'status' ? `${end.code}: ${end.message}` : end.kind === 'cut' ? end.error : end.kind;
    return { kind: 'error', message: `cannot read the XCom sidecar's output (${why})` };
  }
  return parseXcomOutput(text + decoder.decode(), maxBytes);
}
