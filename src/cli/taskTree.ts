/**
 * `dags show` draws the DAG as an indented tree from its root tasks. A task with several upstreams is
 * drawn in full under the first and referred to (`↑`) under the others, so every edge is shown once.
 */

/** What the tree shows of a task (from the serialized DAG locally, from `/api/v2/dags/{id}/tasks` remotely). */
export interface TreeTask {
  taskId: string;
  operator: string;
  triggerRule: string;
  retries: number;
  upstream: readonly string[];
  downstream: readonly string[];
}

/** The tree as text lines, e.g. `extract [TaskFlow]` / `└── load [TaskFlow]`. */
export function renderTaskTree(tasks: readonly TreeTask[]): string[] {
  const byId = new Map(tasks.map((t) => [t.taskId, t]));
  const drawn = new Set<string>();
  const lines: string[] = [];
  const label = (t: TreeTask) => {
    const extras = [t.operator, t.triggerRule === 'all_success' ? null : t.triggerRule, t.retries > 0 ? `retries ${t.retries}` : null].filter((x) => x !== null);
    return `${t.taskId} [${extras.join(', ')}]`;
  };
  const draw = (t: TreeTask, prefix: string, connector: string) => {
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
  for (const root of tasks.filter((t) => t.upstream.length === 0)) draw(root, '', '');
  return lines;
}
