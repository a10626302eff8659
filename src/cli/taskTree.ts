/**
 * `dags show` draws the DAG as an indented tree from its root tasks. A task with several upstreams is
 * drawn in full under the first and referred to (`↑`) under the others, so every edge is shown once.
 */
import type { SerializedDag, SerializedTask } from '../core/serialized.ts';

/** The tree as text lines, e.g. `extract [TaskFlow]` / `└── load [TaskFlow]`. */
export function renderTaskTree(dag: SerializedDag): string[] {
  const byId = new Map(dag.tasks.map((t) => [t.taskId, t]));
  const drawn = new Set<string>();
  const lines: string[] = [];
  const label = (t: SerializedTask) => {
    const extras = [t.operator, t.triggerRule === 'all_success' ? null : t.triggerRule, t.retry.retries > 0 ? `retries ${t.retry.retries}` : null].filter((x) => x !== null);
    return `${t.taskId} [${extras.join(', ')}]`;
  };
  const draw = (t: SerializedTask, prefix: string, connector: string) => {
    if (drawn.has(t.taskId)) {
      lines.push(`${prefix}${connector}${t.taskId} ↑`);
      return;
    }
    drawn.add(t.taskId);
    lines.push(`${prefix}${connector}${label(t)}`);
    const childPrefix = prefix + (connector === '' ? '' : connector === '└── ' ? '    ' : '│   ');
    t.downstream.forEach((id, i) => {
      const child = byId.get(id);
      if (child) draw(child, childPrefix, i === t.downstream.length - 1 ? '└── ' : '├── ');
    });
  };
  for (const root of dag.tasks.filter((t) => t.upstream.length === 0)) draw(root, '', '');
  return lines;
}
