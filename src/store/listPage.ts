/**
 * Paged, ordered, searchable list queries for the admin resources (connections, variables, pools, XComs,
 * import errors, jobs, backfills): one page of rows plus the total that matched, so an API list can answer
 * `totalEntries` without reading every row.
 */
import { sql, type RawBuilder } from 'kysely';

/** Which page of a list: at most `limit` rows after skipping `offset`. */
export interface PageRequest {
  limit: number;
  offset: number;
}

/** Order by one of the sortable fields `F`, ascending unless `descending`. */
export interface SortRequest<F extends string> {
  by: F;
  descending: boolean;
}

/** One page of a list and how many rows matched in all. */
export interface Page<T> {
  items: T[];
  total: number;
}

/**
 * A case-insensitive "contains" test of `column` against `text`, with `%`, `_` and `\` in `text` matched
 * literally (the same on SQLite and PostgreSQL).
 *
 * @example
 * query.where(containsText('conn_id', 'warehouse'))
 */
export function containsText(column: string, text: string): RawBuilder<boolean> {
  const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  return sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
}
