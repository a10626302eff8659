/** Ask the ELK worker to lay out nodes and edges; one worker per page, requests matched by id. */
import type { ElkNode } from 'elkjs/lib/elk-api.js';

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, { resolve: (g: ElkNode) => void; reject: (e: Error) => void }>();

function elkWorker(): Worker {
  if (worker) return worker;
  worker = new Worker(new URL('./elk.worker.ts', import.meta.url), { type: 'module', name: 'elk-layout' });
  worker.onmessage = (e: MessageEvent<{ id: number; graph?: ElkNode; error?: string }>) => {
    const p = pending.get(e.data.id);
    pending.delete(e.data.id);
    if (e.data.graph) p?.resolve(e.data.graph);
    else p?.reject(new Error(e.data.error ?? 'layout failed'));
  };
  return worker;
}

export interface LayoutInput {
  nodes: Array<{ id: string; width: number; height: number }>;
  edges: Array<{ id: string; source: string; target: string }>;
}

/** Node positions (top-left corners) by id. */
export async function layout(input: LayoutInput): Promise<Map<string, { x: number; y: number }>> {
  const id = nextId++;
  const graph: ElkNode = {
    id: 'root',
    // React Flow draws its own edges, so ELK's (costlier) orthogonal edge routing would be thrown away.
    layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'RIGHT', 'elk.layered.spacing.nodeNodeBetweenLayers': '60', 'elk.spacing.nodeNode': '24', 'elk.edgeRouting': 'POLYLINE' },
    children: input.nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
    edges: input.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  };
  const out = await new Promise<ElkNode>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    elkWorker().postMessage({ id, graph });
  });
  return new Map((out.children ?? []).map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]));
}
