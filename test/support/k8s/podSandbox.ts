// A pod's sandbox for the local kubelet (localKubelet.ts, `sandbox` option): what a container runtime gives a
// container, made on this machine with Linux namespaces (the tests run as root).
//
// - Filesystem: each container runs in its own mount namespace (`unshare --mount`). The image's files
//   (localImage.ts) are laid over the machine's folders with overlayfs (each pod gets a private upper layer, so
//   what it writes stays its own); every volumeMount is a bind mount of the pod's volume folder at its
//   mountPath (read-only when asked; subPath supported). Volumes are materialised once per pod, as a kubelet
//   does: configMap and secret (items, defaultMode), emptyDir (shared by the pod's containers), projected
//   (serviceAccountToken through the TokenRequest API bound to the pod — the chart's ServiceAccount, never the
//   test's admin — configMap such as kube-root-ca.crt, secret, downwardAPI), downwardAPI, hostPath, and a
//   persistentVolumeClaim bound to a hostPath or local PersistentVolume. A folder the image or a mount needs
//   that the machine lacks (/opt/capstan, /var/run/secrets/…) is created inside an overlay of its nearest
//   existing parent, so the machine's own tree never changes.
// - User: the pod's securityContext runAsUser/runAsGroup (else the image's USER), fsGroup as supplementary group
//   (`setpriv`); volume folders are owned by that user, as fsGroup would make them writable.
// - Network: the pod's IP (status.podIP, kwok's) stands for a loopback address of its own on this machine, where
//   its servers listen (podNetwork.ts, preloaded into Node processes) — EndpointSlices refuse loopback addresses,
//   so the translation is the kubelet's (LocalKubelet.localAddress). `/etc/hosts` is the pod's own file (bind
//   mount) with its name and the cluster's Service names (`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`)
//   pointing at the local address of a ready endpoint of the Service — cluster DNS plus kube-proxy, without the
//   ClusterIP hop (so a Service port must equal its target port). The
//   hostname is the pod's name (`unshare --uts`), and KUBERNETES_SERVICE_HOST/PORT name the test API server.
import { chownSync, chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CoreV1Api, KubeConfig, V1Container, V1KeyToPath, V1Pod, V1Volume } from '@kubernetes/client-node';
import type { LocalImage } from './localImage.ts';

/** The preload that maps a pod's listens to its IP. */
export const POD_NETWORK_PRELOAD = pathToFileURL(join(import.meta.dirname, 'podNetwork.ts')).href;

/** What a sandboxed container needs from its kubelet. */
export interface SandboxContext {
  core: CoreV1Api;
  kubeConfig: KubeConfig;
  /** Resolves a container's value references (env and downward API). */
  fieldValue: (pod: V1Pod, path: string) => string;
}

/** A process to spawn for one container of a sandboxed pod. */
export interface SandboxCommand {
  exe: string;
  args: string[];
  env: Record<string, string>;
}

/** A pod's volumes, hosts file and identity on this machine. */
export interface PodSandbox {
  readonly podIP: string;
  /** The unshare … setpriv command line that runs `container` of the pod with `env` (the container's own, resolved). */
  command(container: V1Container, image: LocalImage, env: Readonly<Record<string, string>>): SandboxCommand;
  /** Rewrites the pod's /etc/hosts (in place: it is bind-mounted) with these Service names → addresses. */
  writeHosts(services: ReadonlyMap<string, string>): void;
}

/** Serialises a shell word. */
function sh(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Ownership the pod's processes run with. */
function podUser(pod: V1Pod, container: V1Container, image: LocalImage): { uid: number; gid: number; groups: number[] } {
  const podCtx = pod.spec?.securityContext;
  const ctx = container.securityContext;
  const uid = ctx?.runAsUser ?? podCtx?.runAsUser ?? image.user.uid;
  const gid = ctx?.runAsGroup ?? podCtx?.runAsGroup ?? image.user.gid;
  const groups = [...(podCtx?.fsGroup !== undefined ? [podCtx.fsGroup] : []), ...(podCtx?.supplementalGroups ?? [])];
  return { uid, gid, groups };
}

function writeItems(dir: string, data: Record<string, Buffer>, items: readonly V1KeyToPath[] | undefined, mode: number, what: string, optional: boolean): void {
  mkdirSync(dir, { recursive: true });
  const entries: readonly V1KeyToPath[] = items ?? Object.keys(data).map((key) => ({ key, path: key }));
  for (const item of entries) {
    const value = data[item.key];
    if (value === undefined) {
      if (optional) continue;
      throw new Error(`${what} has no key ${item.key}`);
    }
    const file = join(dir, item.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, value, { mode: item.mode ?? mode });
    chmodSync(file, item.mode ?? mode);
  }
}

async function configMapData(core: CoreV1Api, namespace: string, name: string): Promise<Record<string, Buffer>> {
  const cm = await core.readNamespacedConfigMap({ namespace, name });
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) data[k] = Buffer.from(v, 'utf8');
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) data[k] = Buffer.from(v, 'base64');
  return data;
}

async function secretData(core: CoreV1Api, namespace: string, name: string): Promise<Record<string, Buffer>> {
  const secret = await core.readNamespacedSecret({ namespace, name });
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}

const notFound = (err: unknown): boolean => (err as { code?: number }).code === 404;

/** Materialises one volume under `dir`; the host folder it is mounted from. */
async function materialise(ctx: SandboxContext, pod: V1Pod, volume: V1Volume, dir: string, owner: { uid: number; gid: number }): Promise<string> {
  const namespace = pod.metadata?.namespace ?? '';
  const target = join(dir, volume.name);
  if (volume.emptyDir) {
    mkdirSync(target, { recursive: true });
    chmodSync(target, 0o777);
  } else if (volume.configMap) {
    const { name = '', items, defaultMode = 0o644, optional = false } = volume.configMap;
    const data = await configMapData(ctx.core, namespace, name).catch((err: unknown) => {
      if (optional && notFound(err)) return {};
      throw err;
    });
    writeItems(target, data, items, defaultMode, `config map ${name}`, optional);
  } else if (volume.secret) {
    const { secretName = '', items, defaultMode = 0o644, optional = false } = volume.secret;
    const data = await secretData(ctx.core, namespace, secretName).catch((err: unknown) => {
      if (optional && notFound(err)) return {};
      throw err;
    });
    writeItems(target, data, items, defaultMode, `secret ${secretName}`, optional);
  } else if (volume.projected) {
    const mode = volume.projected.defaultMode ?? 0o644;
    mkdirSync(target, { recursive: true });
    for (const source of volume.projected.sources ?? []) {
      if (source.serviceAccountToken) {
        const { token } = await tokenFor(ctx, pod, source.serviceAccountToken.audience, source.serviceAccountToken.expirationSeconds);
        writeItems(target, { token: Buffer.from(token) }, [{ key: 'token', path: source.serviceAccountToken.path }], mode, 'token', false);
      } else if (source.configMap) {
        const name = source.configMap.name ?? '';
        writeItems(target, await configMapData(ctx.core, namespace, name), source.configMap.items, mode, `config map ${name}`, source.configMap.optional ?? false);
      } else if (source.secret) {
        const name = source.secret.name ?? '';
        writeItems(target, await secretData(ctx.core, namespace, name), source.secret.items, mode, `secret ${name}`, source.secret.optional ?? false);
      } else if (source.downwardAPI) {
        const data = Object.fromEntries((source.downwardAPI.items ?? []).map((i) => [i.path, Buffer.from(i.fieldRef ? ctx.fieldValue(pod, i.fieldRef.fieldPath) : '')]));
        writeItems(target, data, undefined, mode, 'downward API', false);
      } else {
        throw new Error(`projected volume ${volume.name}: only serviceAccountToken, configMap, secret and downwardAPI sources are supported`);
      }
    }
  } else if (volume.downwardAPI) {
    const data = Object.fromEntries((volume.downwardAPI.items ?? []).map((i) => [i.path, Buffer.from(i.fieldRef ? ctx.fieldValue(pod, i.fieldRef.fieldPath) : '')]));
    writeItems(target, data, undefined, volume.downwardAPI.defaultMode ?? 0o644, 'downward API', false);
  } else if (volume.hostPath) {
    if (!existsSync(volume.hostPath.path)) {
      if (volume.hostPath.type !== 'DirectoryOrCreate') throw new Error(`hostPath ${volume.hostPath.path} does not exist`);
      mkdirSync(volume.hostPath.path, { recursive: true });
    }
    return volume.hostPath.path;
  } else if (volume.persistentVolumeClaim) {
    const claim = await ctx.core.readNamespacedPersistentVolumeClaim({ namespace, name: volume.persistentVolumeClaim.claimName });
    if (!claim.spec?.volumeName) throw new Error(`persistentVolumeClaim ${volume.persistentVolumeClaim.claimName} is not bound`);
    const pv = await ctx.core.readPersistentVolume({ name: claim.spec.volumeName });
    const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (path === undefined) throw new Error(`persistent volume ${claim.spec.volumeName} is neither hostPath nor local`);
    return path;
  } else {
    throw new Error(`volume ${volume.name}: its type is not supported by the local kubelet`);
  }
  chownTree(target, owner);
  return target;
}

/** The volume's files belong to the pod's user and fsGroup, so a 0400 secret is still readable by the pod. */
function chownTree(path: string, owner: { uid: number; gid: number }): void {
  chownSync(path, owner.uid, owner.gid);
  if (!statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) chownTree(join(path, entry), owner);
}

/** A bound token of the pod's ServiceAccount (TokenRequest, as the kubelet asks for the projected volume). */
async function tokenFor(ctx: SandboxContext, pod: V1Pod, audience: string | undefined, expirationSeconds: number | undefined): Promise<{ token: string }> {
  const response = await ctx.core.createNamespacedServiceAccountToken({
    namespace: pod.metadata?.namespace ?? '',
    name: pod.spec?.serviceAccountName ?? 'default',
    body: {
      spec: {
        audiences: audience ? [audience] : [],
        expirationSeconds: expirationSeconds ?? 3607,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
      },
    },
  });
  return { token: response.status?.token ?? '' };
}

/** The mount script run inside the container's new namespaces before its command. */
const ENSURE_DIR = String.raw`
n=0
overlaid=' '
layer() { # $1: an existing folder; $2: an image folder laid over it, or empty for a private copy
  case "$1" in /) echo "local kubelet: cannot lay a private layer over /" >&2; exit 1;; esac
  n=$((n + 1)); u="$SANDBOX/overlay/$n"; mkdir -p "$u/upper" "$u/work"
  lower="$1"; [ -n "$2" ] && lower="$2:$1"
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$u/upper,workdir=$u/work" "$1"
  overlaid="$overlaid$1 "
}
ensure_dir() { # $1: a folder to exist in this namespace, made inside an overlay of its nearest existing parent
  [ -d "$1" ] && return 0
  a="$1"; while [ ! -e "$a" ]; do a=$(dirname "$a"); done
  a=$(readlink -f "$a")
  case "$overlaid" in *" $a "*) ;; *) layer "$a" "" ;; esac
  mkdir -p "$1"
}
`;

/**
 * Makes the sandbox of `pod`: its volumes under `podDir`, its hosts file, its IP.
 *
 * @example
 * const sandbox = await createPodSandbox(ctx, pod, podDir, '127.64.3.9', image);
 * const { exe, args, env } = sandbox.command(container, image, containerEnv);
 */
export async function createPodSandbox(ctx: SandboxContext, pod: V1Pod, podDir: string, podIP: string, image: LocalImage): Promise<PodSandbox> {
  const volumesDir = join(podDir, 'volumes');
  mkdirSync(volumesDir, { recursive: true });
  const main = pod.spec?.containers[0];
  const user = main === undefined ? { ...image.user, groups: [] } : podUser(pod, main, image);
  const owner = { uid: user.uid, gid: pod.spec?.securityContext?.fsGroup ?? user.gid };
  const volumeDirs = new Map<string, string>();
  for (const volume of pod.spec?.volumes ?? []) volumeDirs.set(volume.name, await materialise(ctx, pod, volume, volumesDir, owner));
  const hostsFile = join(podDir, 'hosts');
  const podName = pod.metadata?.name ?? '';
  const cluster = ctx.kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error('the kubelet kubeconfig has no cluster');
  const server = new URL(cluster.server);

  const sandbox: PodSandbox = {
    podIP,
    writeHosts(services) {
      const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `${podIP}\t${podName}`];
      for (const [names, address] of services) lines.push(`${address}\t${names}`);
      writeFileSync(hostsFile, `${lines.join('\n')}\n`);
    },
    command(container, containerImage, env) {
      const argv = [...(container.command ?? containerImage.entrypoint), ...(container.args ?? (container.command ? [] : containerImage.cmd))];
      if (argv.length === 0) throw new Error(`container ${container.name} has neither command nor args, nor its image an entrypoint`);
      const user = podUser(pod, container, containerImage);
      const script = [`SANDBOX=${sh(join(podDir, 'rootfs', container.name))}`, ENSURE_DIR, 'set -e', `hostname ${sh(podName)}`];
      for (const [path, layerDir] of Object.entries(containerImage.layers)) {
        script.push(`if [ -d ${sh(path)} ]; then layer ${sh(path)} ${sh(layerDir)}; else ensure_dir ${sh(path)}; mount --bind ${sh(layerDir)} ${sh(path)}; layer ${sh(path)} ""; fi`);
      }
      for (const mount of container.volumeMounts ?? []) {
        const dir = volumeDirs.get(mount.name);
        if (dir === undefined) throw new Error(`container ${container.name} mounts volume ${mount.name}, which the pod does not have`);
        const source = mount.subPath ? join(dir, mount.subPath) : dir;
        const isFile = existsSync(source) && statSync(source).isFile();
        script.push(isFile
          ? `ensure_dir ${sh(dirname(mount.mountPath))}; [ -e ${sh(mount.mountPath)} ] || : > ${sh(mount.mountPath)}`
          : `ensure_dir ${sh(mount.mountPath)}`);
        script.push(`mount --bind ${sh(source)} ${sh(mount.mountPath)}`);
        if (mount.readOnly) script.push(`mount -o remount,bind,ro ${sh(mount.mountPath)}`);
      }
      script.push(`mount --bind ${sh(hostsFile)} /etc/hosts`);
      script.push(`cd ${sh(container.workingDir ?? containerImage.workingDir)}`);
      const groups = user.groups.length > 0 ? `--groups=${user.groups.join(',')}` : '--clear-groups';
      script.push(`exec setpriv --reuid=${user.uid} --regid=${user.gid} ${groups} -- "$@"`);
      const nodeOptions = [env['NODE_OPTIONS'] ?? containerImage.env['NODE_OPTIONS'] ?? '', `--import=${POD_NETWORK_PRELOAD}`].filter((o) => o !== '').join(' ');
      return {
        exe: 'unshare',
        args: ['--mount', '--uts', '--propagation', 'private', 'sh', '-c', script.join('\n'), 'sandbox', ...argv],
        env: {
          ...containerImage.env,
          HOME: containerImage.home,
          HOSTNAME: podName,
          KUBERNETES_SERVICE_HOST: server.hostname,
          KUBERNETES_SERVICE_PORT: server.port || '443',
          KUBERNETES_SERVICE_PORT_HTTPS: server.port || '443',
          KUBERNETES_PORT: `tcp://${server.hostname}:${server.port || '443'}`,
          ...env,
          NODE_OPTIONS: nodeOptions,
          CAPSTAN_LOCAL_KUBELET_POD_IP: podIP,
        },
      };
    },
  };
  sandbox.writeHosts(new Map());
  return sandbox;
}
