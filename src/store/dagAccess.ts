/**
 * The facts a per-DAG access check needs — id, tags, `accessControl` — read from the `dag` table, one DAG or
 * all of them (for filtering lists by a custom role's grants).
 */
import type { MetadataDb } from './db.ts';

export interface DagAccessRow {
  dagId: string;
  tags: string[];
  accessControl: Record<string, 'read' | 'edit'>;
}

function toFacts(r: { dag_id: string; tags: string; access_control: string }): DagAccessRow {
  return { dagId: r.dag_id, tags: JSON.parse(r.tags) as string[], accessControl: JSON.parse(r.access_control) as Record<string, 'read' | 'edit'> };
}

/** One DAG's facts, or undefined when the DAG is not known. */
export async function dagAccessFacts(m: MetadataDb, dagId: string): Promise<DagAccessRow | undefined> {
  const r = await m.db.selectFrom('dag').select(['dag_id', 'tags', 'access_control']).where('dag_id', '=', dagId).executeTakeFirst();
  return r ? toFacts(r) : undefined;
}

/** Every DAG's facts. */
export async function allDagAccessFacts(m: MetadataDb): Promise<DagAccessRow[]> {
  return (await m.db.selectFrom('dag').select(['dag_id', 'tags', 'access_control']).execute()).map(toFacts);
}
