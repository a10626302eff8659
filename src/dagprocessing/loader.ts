/**
 * Imports DAG files. DAG files say `import { dag } from 'capstan'` wherever they live, so a resolve
 * hook maps the bare `capstan` specifier to this installation's entry point.
 */
import { pathToFileURL } from 'node:url';
import { DagDefinitionError, errorMessage, INSTANCE_PARAM, registerCapstanResolver } from '../core/index.ts';
import { takeDefinedDags } from '../sdk/authoring.ts';
import type { Dag } from '../sdk/dag.ts';

/** Re-exported for the task and callback processes, which import DAG files through this module. */
export { registerCapstanResolver };

/** DAG file extensions the processor picks up. */
export const DAG_FILE_PATTERN = /\.(ts|mts|js|mjs)$/;

/**
 * Import one DAG file and return the DAGs it defined (each validated). Errors carry the file path.
 * A module is imported once per process and `instance`: the DAG processor parses in fresh child processes,
 * and a reused task process gives every try its own instance (see {@link importDagFileInstance}).
 */
export async function importDagFile(path: string, instance?: string): Promise<Dag[]> {
  registerCapstanResolver();
  takeDefinedDags();
  try {
    const url = pathToFileURL(path);
    if (instance !== undefined) url.searchParams.set(INSTANCE_PARAM, instance);
    await import(url.href);
  } catch (err) {
    takeDefinedDags();
    // The cause keeps the stack, which says the line of the file (errorLineIn).
    throw new DagDefinitionError(`${path}: ${errorMessage(err)}`, { hint: err instanceof DagDefinitionError ? (err.hint ?? '') : '', cause: err });
  }
  const dags = takeDefinedDags();
  const seen = new Set<string>();
  for (const d of dags) {
    if (seen.has(d.dagId)) throw new DagDefinitionError(`${path}: DAG id '${d.dagId}' is defined twice`);
    seen.add(d.dagId);
  }
  return dags;
}

let instances = 0;

/**
 * Import a new instance of a DAG file: its top-level code runs again, so the DAGs, operators and module
 * variables it defines are this caller's own, whatever earlier instances did with theirs — and so are those of
 * the user's modules it imports (helpers, DAG factories). Packages and Capstan itself are loaded once per process.
 * A reused task process imports one per
 * try; each instance stays in memory until the process exits (the executor retires processes after
 * `localExecutor.triesPerProcess` tries).
 */
export function importDagFileInstance(path: string): Promise<Dag[]> {
  return importDagFile(path, String(++instances));
}
