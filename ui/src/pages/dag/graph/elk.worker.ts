/**
 * Graph layout off the main thread: ELK (layered, left to right) runs in this worker, so laying out a
 * 1,000-task DAG never blocks input. Message in: an ELK graph; message out: the laid-out graph or an error.
 */
import ELK, { type ElkNode } from 'elkjs/lib/elk.bundled.js';

const elk = new ELK();

self.onmessage = async (e: MessageEvent<{ id: number; graph: ElkNode }>) => {
  try {
    const laidOut = await elk.layout(e.data.graph);
    self.postMessage({ id: e.data.id, graph: laidOut });
  } catch (err) {
    self.postMessage({ id: e.data.id, error: err instanceof Error ? err.message : String(err) });
  }
};
