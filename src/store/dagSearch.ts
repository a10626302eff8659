/**
 * The DAG list of the public API: filtered (id search, tags any/all, paused, owner, last run's state),
 * ordered, paged, with the total that matched — one query for the page and one for the count, on SQLite
 * and PostgreSQL alike.
 */
import { sql, type ExpressionBuilder, type SelectQueryBuilder } from 'kysely';
import type { DagRunState } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import type { Database, DagRow } from './schema.ts';

/** Fields the DAG list may be ordered by. */
export const DAG_SORT_FIELDS = ['dagId', 'owner', 'isPaused', 'nextDataIntervalStart', 'lastRunStartDate'] as const;
export type DagSortField = (typeof DAG_SORT_FIELDS)[number];

export interface DagSearch {
  /** Only these DAG ids (a custom role's grants). */
  dagIds?: readonly string[];
  /** Case-insensitive substring of the DAG id. */
  dagIdPattern?: string;
  /** DAGs with any (`tagsMatchMode: 'any'`, default) or all of these tags. */
  tags?: readonly string[];
  tagsMatchMode?: 'any' | 'all';
  paused?: boolean;
  /** DAGs owned by any of these. */
  owners?: readonly string[];
  /** DAGs whose newest run is in one of these states. */
  lastRunStates?: readonly DagRunState[];
  includeInactive?: boolean;
}

/** A DAG row with its newest run's state and start (null when it never ran). */
export type DagWithLastRun = DagRow & { last_run_id: string | null; last_run_state: DagRunState | null; last_run_start_date: number | null };

const SORT_COLUMN = {
  dagId: 'dag.dag_id',
  owner: 'dag.owner',
  isPaused: 'dag.is_paused',
  nextDataIntervalStart: 'dag.next_interval_start',
  lastRunStartDate: 'last_run_start_date',
} as const satisfies Record<DagSortField, string>;

/** One page of DAGs matching `s`, ordered by `sort` (then by id), and the total that match. */
export async function searchDags(
  m: MetadataDb,
  s: DagSearch,
  page: { limit: number; offset: number },
  sort: { by: DagSortField; descending: boolean } = { by: 'dagId', descending: false },
): Promise<{ dags: DagWithLastRun[]; total: number }> {
  const dir = sort.descending ? 'desc' : 'asc';
  let q = filtered(m, s).selectAll('dag').select([lastRun('run_id').as('last_run_id'), lastRun('state').as('last_run_state'), lastRun('start_date').as('last_run_start_date')]);
  q = q.orderBy(sql.ref(SORT_COLUMN[sort.by]), dir);
  if (sort.by !== 'dagId') q = q.orderBy('dag.dag_id', 'asc');
  const [rows, count] = await Promise.all([
    q.limit(page.limit).offset(page.offset).execute(),
    filtered(m, s)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { dags: rows as DagWithLastRun[], total: Number(count.n) };
}

/** The newest run's `column`, as a correlated subquery. */
function lastRun(column: 'run_id' | 'state' | 'start_date') {
  return sql<string | number | null>`(select r.${sql.ref(column)} from dag_run r where r.dag_id = dag.dag_id order by r.id desc limit 1)`;
}

function filtered(m: MetadataDb, s: DagSearch): SelectQueryBuilder<Database, 'dag', object> {
  let q = m.db.selectFrom('dag');
  if (!s.includeInactive) q = q.where('dag.is_active', '=', 1);
  if (s.dagIds) q = s.dagIds.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('dag.dag_id', 'in', [...s.dagIds]);
  if (s.dagIdPattern !== undefined) q = q.where(contains(sql.ref('dag.dag_id'), s.dagIdPattern));
  if (s.paused !== undefined) q = q.where('dag.is_paused', '=', s.paused ? 1 : 0);
  if (s.owners && s.owners.length > 0) q = q.where('dag.owner', 'in', [...s.owners]);
  if (s.tags && s.tags.length > 0) {
    // Tags are stored as a JSON array of strings: a tag is present when its JSON spelling is.
    const tests = s.tags.map((t) => contains(sql.ref('dag.tags'), JSON.stringify(t)));
    q = q.where((eb: ExpressionBuilder<Database, 'dag'>) => (s.tagsMatchMode === 'all' ? eb.and(tests) : eb.or(tests)));
  }
  if (s.lastRunStates && s.lastRunStates.length > 0) {
    q = q.where(sql<boolean>`(select r.state from dag_run r where r.dag_id = dag.dag_id order by r.id desc limit 1) in (${sql.join([...s.lastRunStates])})`);
  }
  return q;
}

/** A case-insensitive substring test with `%`, `_` and `\` in `text` taken literally. */
function contains(column: ReturnType<typeof sql.ref>, text: string) {
  const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  return sql<boolean>`lower(${column}) like ${pattern} escape '\\'`;
}
