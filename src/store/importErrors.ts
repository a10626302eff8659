/**
 * Import errors: the latest failure to load each DAG file, shown to users until the file loads again.
 * At most one row per file; recording again replaces it.
 */
import { sql } from 'kysely';
import type { MetadataDb } from './db.ts';
import { containsText, type Page, type PageRequest, type SortRequest } from './listPage.ts';

/** Why a DAG file failed to load, and when. */
export interface ImportError {
  fileloc: string;
  message: string;
  /** Epoch ms of the failed parse. */
  timestamp: number;
  /** Line of the file the error points at; null when the error does not say. */
  line: number | null;
}

/** Fields an import error list may be ordered by. */
export const IMPORT_ERROR_SORT_FIELDS = ['fileloc', 'timestamp'] as const;
export type ImportErrorSortField = (typeof IMPORT_ERROR_SORT_FIELDS)[number];

/**
 * Records and clears import errors per file.
 *
 * @example
 * const errors = new ImportErrorStore(m);
 * await errors.record('/dags/etl.ts', 'SyntaxError: Unexpected token', now);
 * await errors.clear('/dags/etl.ts'); // after the file parses cleanly
 */
export class ImportErrorStore {
  readonly #m: MetadataDb;

  constructor(m: MetadataDb) {
    this.#m = m;
  }

  /** Store (or replace) the error of one file, with the line it points at when known. */
  async record(fileloc: string, message: string, timestamp: number, line: number | null = null): Promise<void> {
    await this.#m.db
      .insertInto('import_error')
      .values({ fileloc, message, timestamp, line })
      .onConflict((oc) => oc.column('fileloc').doUpdateSet({ message, timestamp, line }))
      .execute();
  }

  /** Forget the error of one file; false when there was none. */
  async clear(fileloc: string): Promise<boolean> {
    const result = await this.#m.db.deleteFrom('import_error').where('fileloc', '=', fileloc).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Forget the errors of every file not in `keep` (files deleted from the DAGs folder); returns how many. */
  async clearAllExcept(keep: readonly string[]): Promise<number> {
    let query = this.#m.db.deleteFrom('import_error');
    if (keep.length > 0) query = query.where('fileloc', 'not in', keep);
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Errors sorted by file, optionally only those of one file. */
  async list(options: { fileloc?: string } = {}): Promise<ImportError[]> {
    let query = this.#m.db.selectFrom('import_error').selectAll().orderBy('fileloc');
    if (options.fileloc !== undefined) query = query.where('fileloc', '=', options.fileloc);
    return (await query.execute()).map(fromRow);
  }

  /**
   * One page of errors whose file path contains `search` (case-insensitive), ordered by `sort` (default
   * by file), with the number that matched. With `dagIds` (a principal limited to some DAGs), only errors
   * of files that define one of those DAGs.
   */
  async page(q: PageRequest & { search?: string; dagIds?: readonly string[]; sort?: SortRequest<ImportErrorSortField> }): Promise<Page<ImportError>> {
    let base = this.#m.db.selectFrom('import_error');
    if (q.search !== undefined && q.search !== '') base = base.where(containsText('fileloc', q.search));
    const dagIds = q.dagIds;
    if (dagIds !== undefined) base = dagIds.length === 0 ? base.where(sql<boolean>`1 = 0`) : base.where('fileloc', 'in', (eb) => eb.selectFrom('dag').select('fileloc').where('dag_id', 'in', [...dagIds]));
    const sort = q.sort ?? { by: 'fileloc', descending: false };
    const direction = sort.descending ? 'desc' : 'asc';
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy(sort.by, direction).orderBy('fileloc', direction).limit(q.limit).offset(q.offset).execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(fromRow), total: Number(count.n) };
  }
}

function fromRow(r: { fileloc: string; message: string; timestamp: number; line: number | null }): ImportError {
  return { fileloc: r.fileloc, message: r.message, timestamp: Number(r.timestamp), line: r.line === null ? null : Number(r.line) };
}
