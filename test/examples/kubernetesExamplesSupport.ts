/** Loading the KubernetesPodOperator examples (examples/kubernetes/dags), for the unit and the cluster tests. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importDagFile } from '../../src/dagprocessing/loader.ts';
import { KubernetesPodOperator } from '../../src/kubernetes/operators/podOperator.ts';
import type { Dag } from '../../src/sdk/dag.ts';

export const K8S_EXAMPLES_FOLDER = fileURLToPath(new URL('../../examples/kubernetes/dags/', import.meta.url));

/** Every example DAG, by id. A process can load them once: a second import of a file defines nothing. */
export async function loadKubernetesExamples(): Promise<Map<string, Dag>> {
  const dags = new Map<string, Dag>();
  for (const file of readdirSync(K8S_EXAMPLES_FOLDER).filter((f) => f.endsWith('.ts')).sort()) {
    for (const d of await importDagFile(join(K8S_EXAMPLES_FOLDER, file))) dags.set(d.dagId, d);
  }
  return dags;
}

/** Every pod task of the examples. */
export function podTasks(dags: Map<string, Dag>): KubernetesPodOperator[] {
  return [...dags.values()].flatMap((d) => [...d.tasks.values()].filter((t): t is KubernetesPodOperator => t instanceof KubernetesPodOperator));
}
