/**
 * Serialized DAGs cached by hash-checked reload: the scheduler and the Execution API read DAG structure
 * on hot paths, and parsing the JSON on every read would dominate a 10,000-task run.
 */
import type { SerializedDag, SerializedTask } from '../core/serialized.ts';
import type { MetadataDb } from '../store/db.ts';
import { getSerializedDag } from '../store/dags.ts';

export interface IndexedDag {
  dag: SerializedDag;
  hash: string;
  tasks: Map<string, SerializedTask>;
}

export class SerializedDagCache {
  readonly #db: MetadataDb;
  readonly #cache = new Map<string, IndexedDag>();

  constructor(db: MetadataDb) {
    this.#db = db;
  }

  /** The DAG, re-read when its stored hash changed. */
  async get(dagId: string): Promise<IndexedDag> {
    const row = await this.#db.db.selectFrom('serialized_dag').select('hash').where('dag_id', '=', dagId).executeTakeFirst();
    const cached = this.#cache.get(dagId);
    if (cached && row && cached.hash === row.hash) return cached;
    const dag = await getSerializedDag(this.#db, dagId);
    const indexed: IndexedDag = { dag, hash: row?.hash ?? '', tasks: new Map(dag.tasks.map((t) => [t.taskId, t])) };
    this.#cache.set(dagId, indexed);
    return indexed;
  }

  /** The cached DAG without a hash check (for loops that re-validate once per iteration). */
  peek(dagId: string): IndexedDag | undefined {
    return this.#cache.get(dagId);
  }
}
