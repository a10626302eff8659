/**
 * In-process notifications between components that share a process (standalone mode): a finished task
 * wakes the scheduler at once instead of after its poll interval. Correctness never depends on them;
 * the scheduler also reads changes from the database.
 */
import type { TaskInstanceState } from '../core/index.ts';

export interface TiChangedEvent {
  dagRunId: number;
  tiId: string;
  state: TaskInstanceState;
}

type Listener = (e: TiChangedEvent) => void;

export class EngineEvents {
  readonly #listeners = new Set<Listener>();

  onTiChanged(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  tiChanged(e: TiChangedEvent): void {
    for (const l of this.#listeners) l(e);
  }
}
