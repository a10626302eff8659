/**
 * How pod layers combine (defaults < template < fullPodSpec < operator arguments). One rule set, applied to the
 * manifests as plain JSON:
 *
 * 1. Objects merge key by key, recursively (labels, nodeSelector, resources.limits, securityContext, affinity…).
 * 2. Lists replace the lower layer's list as a whole (env, volumes, tolerations, args…).
 * 3. `null` removes the lower layer's value; `undefined` (or an absent key) leaves it; every other value — `false`,
 *    `0`, `''`, `[]` included — is set. (Airflow's merge ignores falsy values, so `hostNetwork: false` could not
 *    turn off a template's `hostNetwork: true`; here it does.)
 * 4. The exception: `spec.containers` and `spec.initContainers` are matched by container `name`, and matched
 *    containers merge by rules 1–3, so a template's `base` container takes the operator's image, command and
 *    resources and keeps the rest, and a template's init containers stay unless a layer changes (same name) or
 *    removes (`initContainers: null`) them. Unmatched containers of either layer are kept, lower layer first
 *    (init containers run in that order).
 */

/** A JSON-like value as manifests hold them. */
export type Manifest = { [key: string]: unknown };

function isObject(value: unknown): value is Manifest {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep copy without `undefined` and `null` entries (a null in a layer placed over nothing just means "absent"). */
export function clean(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map((v) => clean(v));
  if (isObject(value)) {
    const out: Manifest = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || v === null) continue;
      out[k] = clean(v);
    }
    return out;
  }
  return value;
}

/** The lists merged by container name rather than replaced. */
const MERGED_BY_NAME: ReadonlySet<string> = new Set(['spec.containers', 'spec.initContainers']);

function mergeContainers(base: unknown[], overlay: unknown[], path: string): unknown[] {
  const out = base.map((c) => clean(c));
  for (const [i, container] of overlay.entries()) {
    if (!isObject(container) || typeof container['name'] !== 'string' || container['name'] === '') {
      throw new TypeError(`${path}[${i}]: a container needs a name (containers are merged by name)`);
    }
    const at = out.findIndex((c) => isObject(c) && c['name'] === container['name']);
    if (at === -1) out.push(clean(container));
    else out[at] = mergeValues(out[at], container, `${path}[${at}]`);
  }
  return out;
}

/**
 * Merges `overlay` over `base` by the rules above; returns `undefined` when the result is removed.
 *
 * @example
 * mergeValues({ spec: { hostNetwork: true, nodeSelector: { a: '1' } } }, { spec: { hostNetwork: false, nodeSelector: { b: '2' } } })
 * // { spec: { hostNetwork: false, nodeSelector: { a: '1', b: '2' } } }
 */
export function mergeValues(base: unknown, overlay: unknown, path = ''): unknown {
  if (overlay === undefined) return clean(base);
  if (overlay === null) return undefined;
  if (MERGED_BY_NAME.has(path) && Array.isArray(overlay)) {
    return mergeContainers(Array.isArray(base) ? base : [], overlay, path);
  }
  if (isObject(overlay) && isObject(base)) {
    const out: Manifest = {};
    for (const key of new Set([...Object.keys(base), ...Object.keys(overlay)])) {
      const merged = mergeValues(base[key], overlay[key], path === '' ? key : `${path}.${key}`);
      if (merged !== undefined) out[key] = merged;
    }
    return out;
  }
  return clean(overlay);
}

/** Merges layers from lowest to highest precedence. */
export function mergeLayers(layers: readonly unknown[]): Manifest {
  let result: unknown = {};
  for (const layer of layers) result = mergeValues(result, layer);
  return isObject(result) ? result : {};
}
