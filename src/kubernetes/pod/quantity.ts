/**
 * Kubernetes resource quantities (`500m`, `1Gi`, `512Mi`, `2`, `1e3`) and resource requirements, validated
 * before a manifest leaves Capstan so a typo fails with the field path instead of a 422 at run time.
 */
import { InvalidArgument } from '../../core/index.ts';
import type { ResourceRequirements } from './options.ts';

// The grammar of k8s.io/apimachinery resource.Quantity: a signed decimal, then a binary-SI suffix, a decimal-SI
// suffix or a decimal exponent.
const QUANTITY = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

const NATIVE = new Set(['cpu', 'memory', 'ephemeral-storage', 'storage']);

/** True when `value` is a valid quantity string. */
export function isQuantity(value: string): boolean {
  return QUANTITY.test(value);
}

/**
 * Checks one quantity; numbers are accepted and written as strings. Throws `InvalidArgument` naming `path`.
 *
 * @example
 * quantity('1GG', 'containerResources.limits.memory') // throws "containerResources.limits.memory: '1GG' is not a quantity"
 */
export function quantity(value: unknown, path: string): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string' || !isQuantity(value)) {
    throw new InvalidArgument(`${path}: ${typeof value === 'string' ? `'${value}'` : JSON.stringify(value)} is not a quantity`, "write e.g. '500m' or '2' for CPU, '512Mi' or '1Gi' for memory");
  }
  if (value.startsWith('-')) throw new InvalidArgument(`${path}: ${JSON.stringify(value)} is negative`);
  return value;
}

/** Extended resources (e.g. `nvidia.com/gpu`) are counted in whole units. */
function isExtended(name: string): boolean {
  return !NATIVE.has(name) && !name.startsWith('hugepages-') && !name.startsWith('requests.') && name.includes('/') && !name.startsWith('kubernetes.io/');
}

/**
 * Validates `{ requests, limits }` (the shape of `V1ResourceRequirements`) and returns it with every quantity as a
 * string. Extended resources such as `nvidia.com/gpu` must be whole numbers and, when both are given, requests must
 * equal limits (Kubernetes does not overcommit them).
 *
 * @example
 * validateResourceRequirements({ limits: { 'nvidia.com/gpu': 1, memory: '8Gi' } }, 'containerResources')
 */
export function validateResourceRequirements(value: unknown, path: string): ResourceRequirements {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgument(`${path}: must be an object with requests and/or limits`);
  }
  const out: ResourceRequirements = {};
  for (const [section, entries] of Object.entries(value as Record<string, unknown>)) {
    if (section === 'claims') {
      (out as Record<string, unknown>)[section] = entries;
      continue;
    }
    if (section !== 'requests' && section !== 'limits') {
      throw new InvalidArgument(`${path}.${section}: unknown field`, 'resources have requests and limits');
    }
    if (entries === null || entries === undefined) {
      out[section] = entries as null | undefined;
      continue;
    }
    if (typeof entries !== 'object' || Array.isArray(entries)) throw new InvalidArgument(`${path}.${section}: must be an object of resource name to quantity`);
    const checked: Record<string, string | null> = {};
    for (const [name, q] of Object.entries(entries as Record<string, unknown>)) {
      if (q === undefined) continue;
      if (q === null) {
        // null removes a template's value for this resource (merge rules); kept for the merge to see.
        checked[name] = null;
        continue;
      }
      const at = `${path}.${section}.${name}`;
      const text = quantity(q, at);
      if (isExtended(name) && !/^\+?\d+$/.test(text)) {
        throw new InvalidArgument(`${at}: ${JSON.stringify(q)} — extended resources are counted in whole units`);
      }
      checked[name] = text;
    }
    out[section] = checked;
  }
  const requests = out.requests ?? {};
  const limits = out.limits ?? {};
  for (const [name, request] of Object.entries(requests)) {
    const limit = limits[name];
    if (limit !== undefined && limit !== null && request !== null && isExtended(name) && limit !== request) {
      throw new InvalidArgument(`${path}.requests.${name}: ${request} differs from limits.${name} (${limit})`, 'extended resources cannot be overcommitted: give the same number, or only limits');
    }
  }
  return out;
}
