/** DAG params: defaults merged with a run's conf. */
import type { JsonObject, JsonValue, SerializedDag } from '../core/index.ts';

export function paramDefaults(dag: SerializedDag): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, p] of Object.entries(dag.params)) out[k] = p.default;
  return out;
}

/** The params a task sees: defaults, overridden by the run's conf for keys the DAG declares or not. */
export function resolveParams(dag: SerializedDag, conf: JsonObject): Record<string, JsonValue> {
  return { ...paramDefaults(dag), ...conf };
}
