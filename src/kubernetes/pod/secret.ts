/**
 * Kubernetes Secrets given to the base container, in the three ways Airflow's `Secret('env' | 'volume', …)`
 * offers: one key as an env var, all keys as env vars, or the secret mounted as files.
 */
import type { V1EnvFromSource, V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';

/** One secret reference; build with {@link Secret.env}, {@link Secret.allKeys} or {@link Secret.volume}. */
export type Secret =
  | { readonly kind: 'env'; readonly envName: string; readonly secretName: string; readonly key: string; readonly optional?: boolean }
  | { readonly kind: 'allKeys'; readonly secretName: string; readonly prefix?: string; readonly optional?: boolean }
  | {
    readonly kind: 'volume';
    readonly secretName: string;
    readonly mountPath: string;
    /** Mount only these keys, at these relative paths. */
    readonly items?: readonly { key: string; path: string }[];
    /** Mount one file of the volume rather than the directory. */
    readonly subPath?: string;
    readonly defaultMode?: number;
    readonly optional?: boolean;
  };

/**
 * Helpers that build {@link Secret} values.
 *
 * @example
 * secrets: [
 *   Secret.env('DB_PASSWORD', 'db-credentials', 'password'),
 *   Secret.allKeys('api-keys'),
 *   Secret.volume('/etc/tls', 'tls-cert'),
 * ]
 */
export const Secret = {
  /** The secret's `key` as env var `envName`. */
  env(envName: string, secretName: string, key: string, options: { optional?: boolean } = {}): Secret {
    return { kind: 'env', envName, secretName, key, ...options };
  },
  /** Every key of the secret as an env var (optionally prefixed). */
  allKeys(secretName: string, options: { prefix?: string; optional?: boolean } = {}): Secret {
    return { kind: 'allKeys', secretName, ...options };
  },
  /** The secret mounted read-only at `mountPath` (one file per key, or only `items`). */
  volume(mountPath: string, secretName: string, options: { items?: { key: string; path: string }[]; subPath?: string; defaultMode?: number; optional?: boolean } = {}): Secret {
    return { kind: 'volume', mountPath, secretName, ...options };
  },
} as const;

/** What a secret adds to the pod. */
export interface SecretAttachment {
  env: V1EnvVar[];
  envFrom: V1EnvFromSource[];
  volumes: V1Volume[];
  volumeMounts: V1VolumeMount[];
}

/** Name of the volume of a mounted secret: stable, DNS-1123, distinct per secret and mount path. */
export function secretVolumeName(secretName: string, mountPath: string): string {
  const hash = createHash('sha256').update(`${secretName}\0${mountPath}`).digest('hex').slice(0, 8);
  return `secret-${secretName.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 45).replace(/-+$/, '')}-${hash}`;
}

/** The env vars, envFrom sources, volumes and mounts for `secrets`, in order. */
export function secretAttachments(secrets: readonly Secret[]): SecretAttachment {
  const out: SecretAttachment = { env: [], envFrom: [], volumes: [], volumeMounts: [] };
  for (const s of secrets) {
    switch (s.kind) {
      case 'env':
        out.env.push({ name: s.envName, valueFrom: { secretKeyRef: { name: s.secretName, key: s.key, ...(s.optional === undefined ? {} : { optional: s.optional }) } } });
        break;
      case 'allKeys':
        out.envFrom.push({ ...(s.prefix === undefined ? {} : { prefix: s.prefix }), secretRef: { name: s.secretName, ...(s.optional === undefined ? {} : { optional: s.optional }) } });
        break;
      case 'volume': {
        const name = secretVolumeName(s.secretName, s.mountPath);
        if (!out.volumes.some((v) => v.name === name)) {
          out.volumes.push({
            name,
            secret: {
              secretName: s.secretName,
              ...(s.items === undefined ? {} : { items: s.items.map((i) => ({ key: i.key, path: i.path })) }),
              ...(s.defaultMode === undefined ? {} : { defaultMode: s.defaultMode }),
              ...(s.optional === undefined ? {} : { optional: s.optional }),
            },
          });
        }
        out.volumeMounts.push({ name, mountPath: s.mountPath, readOnly: true, ...(s.subPath === undefined ? {} : { subPath: s.subPath }) });
        break;
      }
    }
  }
  return out;
}
