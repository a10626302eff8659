/**
 * The manifest as YAML, exactly as it will be sent: for dry runs (`capstan tasks render-pod`) and golden files.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';

// Keys that read best first; everything else follows in alphabetical order, so the output is stable.
const FIRST = ['apiVersion', 'kind', 'metadata', 'spec', 'name', 'namespace', 'image'];

function rank(key: string): number {
  const i = FIRST.indexOf(key);
  return i === -1 ? FIRST.length : i;
}

function ordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ordered);
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, ordered(v)]));
  }
  return value;
}

/**
 * Renders a pod (or any manifest) as YAML with a stable key order: apiVersion, kind, metadata, spec first, `name`
 * first inside objects, then the other keys alphabetically.
 *
 * @example
 * process.stdout.write(renderPodYaml(buildPod(options, context)));
 */
export function renderPodYaml(pod: V1Pod | Record<string, unknown>): string {
  return stringify(ordered(JSON.parse(JSON.stringify(pod))), { lineWidth: 0 });
}
