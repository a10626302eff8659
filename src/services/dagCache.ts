/**
 * Serialized DAGs cached by hash-checked reload: the scheduler and the Execution API read DAG structure
 * on hot paths, and parsing the JSON on every read would dominate a 10,000-task run.
 */
import type { SerializedDag, SerializedTask } from '../core/index.ts';
import { getSerializedDag, serializedDagHash, type MetadataDb } from '../store/index.ts';

export interface IndexedDag {
  dag: SerializedDag;
  hash: string;
  tasks: Map<string, SerializedTask>;
}

interface Entry {
  indexed: IndexedDag;
  checkedAt: number;
}

export class SerializedDagCache {
  readonly #db: MetadataDb;
  readonly #cache = new Map<string, Entry>();
  readonly #maxAgeMs: number;
  readonly #now: () => number;

  /** A cached DAG is trusted for `maxAgeMs` (default 1 s) before its stored hash is checked again. */
  constructor(db: MetadataDb, options: { maxAgeMs?: number; now?: () => number } = {}) {
    this.#db = db;
    this.#maxAgeMs = options.maxAgeMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** The DAG, re-read when its stored hash changed. */
  async get(dagId: string): Promise<IndexedDag> {
    const now = this.#now();
    const cached = this.#cache.get(dagId);
    if (cached && now - cached.checkedAt < this.#maxAgeMs) return cached.indexed;
    const hash = await serializedDagHash(this.#db, dagId);
    if (cached && hash !== undefined && cached.indexed.hash === hash) {
      cached.checkedAt = now;
      return cached.indexed;
    }
    const dag = await getSerializedDag(this.#db, dagId);
    const indexed: IndexedDag = { dag, hash: hash ?? '', tasks: new Map(dag.tasks.map((t) => [t.taskId, t])) };
    this.#cache.set(dagId, { indexed, checkedAt: now });
    return indexed;
  }

  /** The cached DAG without a hash check (for loops that re-validate once per iteration). */
  peek(dagId: string): IndexedDag | undefined {
    return this.#cache.get(dagId)?.indexed;
  }
}
