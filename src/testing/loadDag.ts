/** Importing one DAG from its file into this process, for running it here. */
import { resolve } from 'node:path';
import { NotFound } from '../core/index.ts';
import { importDagFile } from '../dagprocessing/loader.ts';
import { setAuthoringDefaults, type AuthoringDefaults } from '../sdk/authoring.ts';
import type { Dag } from '../sdk/dag.ts';

/**
 * Import `file` (with the installation's authoring defaults, as the DAG processor parses it) and return
 * the DAG `dagId` it defines. Throws `dag_invalid` when the file fails to import and `not_found` when it
 * does not define that DAG.
 */
export async function loadDagFromFile(file: string, dagId: string, defaults: Partial<AuthoringDefaults> = {}): Promise<{ dag: Dag; fileloc: string }> {
  const fileloc = resolve(file);
  setAuthoringDefaults(defaults);
  const dags = await importDagFile(fileloc);
  const dag = dags.find((d) => d.dagId === dagId);
  if (!dag) {
    const ids = dags.map((d) => d.dagId).join(', ') || 'none';
    throw new NotFound(`${fileloc} does not define DAG '${dagId}' (it defines: ${ids})`);
  }
  return { dag, fileloc };
}
