/**
 * The authoring warnings the DAG processor stored with each active DAG (`SerializedDag.warnings`), listed across
 * DAGs. Only serialized DAGs whose JSON carries warnings are parsed, so a listing over thousands of clean DAGs
 * reads little.
 */
import type { DagWarning, SerializedDag } from '../core/index.ts';
import type { MetadataDb } from './db.ts';

export interface DagWarningRow extends DagWarning {
  dagId: string;
}

export interface DagWarningQuery {
  /** Only these DAGs (e.g. the caller's visible ones). */
  dagIds?: readonly string[];
  /** Only this warning code. */
  code?: string;
}

/** Every stored warning, by DAG id then task id. */
export async function listDagWarnings(m: MetadataDb, q: DagWarningQuery = {}): Promise<DagWarningRow[]> {
  if (q.dagIds !== undefined && q.dagIds.length === 0) return [];
  let query = m.db
    .selectFrom('serialized_dag')
    .innerJoin('dag', 'dag.dag_id', 'serialized_dag.dag_id')
    .select(['serialized_dag.dag_id', 'serialized_dag.data'])
    .where('dag.is_active', '=', 1)
    .where('serialized_dag.data', 'like', '%"warnings":[%')
    .orderBy('serialized_dag.dag_id');
  if (q.dagIds !== undefined) query = query.where('serialized_dag.dag_id', 'in', q.dagIds);
  const out: DagWarningRow[] = [];
  for (const row of await query.execute()) {
    for (const w of (JSON.parse(row.data) as SerializedDag).warnings ?? []) {
      if (q.code === undefined || w.code === q.code) out.push({ dagId: row.dag_id, ...w });
    }
  }
  return out;
}
