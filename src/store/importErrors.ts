/**
 * Import errors: the latest failure to load each DAG file, shown to users until the file loads again.
 * At most one row per file; recording again replaces it.
 */
import type { MetadataDb } from './db.ts';

/** Why a DAG file failed to load, and when. */
export interface ImportError {
  fileloc: string;
  message: string;
  /** Epoch ms of the failed parse. */
  timestamp: number;
}

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

  /** Store (or replace) the error of one file. */
  async record(fileloc: string, message: string, timestamp: number): Promise<void> {
    await this.#m.db
      .insertInto('import_error')
      .values({ fileloc, message, timestamp })
      .onConflict((oc) => oc.column('fileloc').doUpdateSet({ message, timestamp }))
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
    return query.execute();
  }
}
