// A container's environment as a kubelet resolves it, for the local kubelet (localKubelet.ts): envFrom
// (Secrets, ConfigMaps, with prefix), then env entries (literal values with $(VAR) expansion, fieldRef,
// secretKeyRef, configMapKeyRef).
import type { CoreV1Api, V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';

/** The container's environment as a kubelet resolves it (literal values and the usual valueFrom sources). */
export async function containerEnv(core: CoreV1Api, pod: V1Pod, container: V1Container): Promise<Record<string, string>> {
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

/** A downward-API field of the pod (fieldRef paths a kubelet supports). */
export function fieldValue(pod: V1Pod, path: string): string {
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
