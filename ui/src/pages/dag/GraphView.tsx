/**
 * The graph: tasks and dependencies drawn with React Flow, laid out by ELK in a Web Worker; node colours
 * follow a chosen run's states live; search highlights and zooms to a task; selecting a task highlights its
 * upstream and downstream; a node opens its task instance in the chosen run.
 */
import { useQuery } from '@tanstack/react-query';
import { Background, Controls, MiniMap, Position, ReactFlow, ReactFlowProvider, useReactFlow, type Edge, type Node } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useEffect, useMemo, useState } from 'react';
import { useNavigate } from 'react-router';
import { liveKeys } from '../../api/events.ts';
import { api, data } from '../../api/v2.ts';
import { useUrlState } from '../../components/urlState.ts';
import { taskInstancePath } from '../ti/paths.ts';
import { layout } from './graph/layout.ts';
import { quickLayout } from './graph/quickLayout.ts';

const NODE_W = 190;
const NODE_H = 44;
/** Above this many tasks React Flow draws only the nodes in view. */
const DRAW_VISIBLE_ONLY_ABOVE = 200;

type Positions = Map<string, { x: number; y: number }>;

export function GraphView({ dagId }: { dagId: string }) {
  return (
    <ReactFlowProvider>
      <Graph dagId={dagId} />
    </ReactFlowProvider>
  );
}

function Graph({ dagId }: { dagId: string }) {
  const u = useUrlState();
  const navigate = useNavigate();
  const flow = useReactFlow();
  const runs = useQuery({ queryKey: [...liveKeys.runs(dagId), 'graph-picker'], queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns', { params: { path: { dagId }, query: { limit: 25, orderBy: '-id' } }, signal })) });
  const runId = u.get('run') ?? runs.data?.dagRuns[0]?.dagRunId;
  const graph = useQuery({
    queryKey: [...liveKeys.graph(dagId), runId ?? ''],
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/graph', { params: { path: { dagId }, query: runId ? { dagRunId: runId } : {} }, signal })),
  });
  // The quick layout first (drawn at once), then ELK's when its worker answers.
  const [laidOut, setLaidOut] = useState<{ by: 'quick' | 'elk'; positions: Positions } | undefined>();
  const positions = laidOut?.positions;
  const [layoutError, setLayoutError] = useState<string | undefined>();
  const structure = useMemo(() => (graph.data ? JSON.stringify([graph.data.nodes.map((n) => n.id), graph.data.edges]) : ''), [graph.data]);
  const selected = u.get('task');
  const search = u.get('find') ?? '';

  // Lay out when the structure changes (not on every state change).
  useEffect(() => {
    if (!graph.data) return;
    let live = true;
    const input = { nodes: graph.data.nodes.map((n) => ({ id: n.id, width: NODE_W, height: NODE_H })), edges: graph.data.edges.map((e) => ({ id: `${e.sourceId}->${e.targetId}`, source: e.sourceId, target: e.targetId })) };
    setLaidOut({ by: 'quick', positions: quickLayout(input) });
    layout(input)
      .then((p) => live && setLaidOut({ by: 'elk', positions: p }))
      .catch((err: unknown) => live && setLayoutError(err instanceof Error ? err.message : String(err)));
    return () => {
      live = false;
    };
  }, [structure]);

  const related = useMemo(() => {
    if (!selected || !graph.data) return undefined;
    const up = new Map<string, string[]>();
    const down = new Map<string, string[]>();
    for (const e of graph.data.edges) {
      (down.get(e.sourceId) ?? down.set(e.sourceId, []).get(e.sourceId))?.push(e.targetId);
      (up.get(e.targetId) ?? up.set(e.targetId, []).get(e.targetId))?.push(e.sourceId);
    }
    const walk = (start: string, next: Map<string, string[]>) => {
      const seen = new Set<string>();
      const stack = [start];
      while (stack.length > 0) {
        for (const n of next.get(stack.pop() as string) ?? []) {
          if (seen.has(n)) continue;
          seen.add(n);
          stack.push(n);
        }
      }
      return seen;
    };
    return { up: walk(selected, up), down: walk(selected, down) };
  }, [selected, graph.data]);

  const nodes: Node[] = useMemo(() => {
    if (!graph.data || !positions) return [];
    const needle = search.toLowerCase();
    return graph.data.nodes.map((n) => {
      const match = needle !== '' && n.id.toLowerCase().includes(needle);
      const rel = related ? (n.id === selected ? 'chosen' : related.up.has(n.id) ? 'upstream' : related.down.has(n.id) ? 'downstream' : 'dim') : '';
      return {
        id: n.id,
        position: positions.get(n.id) ?? { x: 0, y: 0 },
        data: { label: `${n.label}${n.isMapped ? ' [ ]' : ''}` },
        className: `graph-node state-border-${n.state ?? 'none'} ${match ? 'match' : ''} ${rel}`,
        style: { width: NODE_W, height: NODE_H },
        ariaLabel: `${n.id}: ${n.state ?? 'no state'} (${n.operator})`,
        connectable: false,
        // ELK lays the DAG out left to right: edges leave on the right and enter on the left.
        sourcePosition: Position.Right,
        targetPosition: Position.Left,
      };
    });
  }, [graph.data, positions, related, selected, search]);
  const edges: Edge[] = useMemo(
    () => (graph.data?.edges ?? []).map((e) => ({ id: `${e.sourceId}->${e.targetId}`, source: e.sourceId, target: e.targetId, className: related && (related.up.has(e.sourceId) || e.sourceId === selected) && (related.up.has(e.targetId) || e.targetId === selected || related.down.has(e.targetId)) ? 'hot' : '' })),
    [graph.data, related, selected],
  );

  useEffect(() => {
    if (!search || !positions || !graph.data) return;
    const hit = graph.data.nodes.find((n) => n.id.toLowerCase().includes(search.toLowerCase()));
    if (hit) void flow.fitView({ nodes: [{ id: hit.id }], duration: 300, maxZoom: 1.5 });
  }, [search, positions]);

  if (graph.isError) return <p role="alert" className="error-box">{graph.error.message}</p>;
  return (
    <section aria-label="Graph of tasks" className="graph-section">
      <div className="filters">
        <label className="field">
          <span>Run</span>
          <select value={runId ?? ''} onChange={(e) => u.set({ run: e.target.value })}>
            {(runs.data?.dagRuns ?? []).map((r) => (
              <option key={r.dagRunId} value={r.dagRunId}>
                {r.dagRunId} ({r.state})
              </option>
            ))}
            {runs.data?.dagRuns.length === 0 ? <option value="">no runs</option> : null}
          </select>
        </label>
        <label className="field">
          <span>Find a task</span>
          <input type="search" data-search defaultValue={search} onChange={(e) => u.set({ find: e.target.value }, { replace: true })} />
        </label>
        {selected ? (
          <button type="button" className="button small" onClick={() => u.set({ task: undefined })}>
            Clear selection ({selected})
          </button>
        ) : null}
      </div>
      {layoutError ? <p role="alert">{layoutError}</p> : null}
      <div className="graph-canvas" data-laid-out={positions ? 'true' : 'false'} data-layout={laidOut?.by ?? 'none'}>
        {positions ? (
          <ReactFlow
            nodes={nodes}
            edges={edges}
            fitView
            nodesDraggable={false}
            nodesConnectable={false}
            onlyRenderVisibleElements={nodes.length > DRAW_VISIBLE_ONLY_ABOVE}
            proOptions={{ hideAttribution: true }}
            onNodeClick={(_, n) => u.set({ task: n.id === selected ? undefined : n.id })}
            onNodeDoubleClick={(_, n) => runId && void navigate(taskInstancePath(dagId, runId, n.id))}
            minZoom={0.05}
          >
            <Background />
            <Controls showInteractive={false} />
            <MiniMap pannable zoomable ariaLabel="Graph overview" />
          </ReactFlow>
        ) : (
          <p role="status">Laying out {graph.data?.nodes.length ?? ''} tasks…</p>
        )}
      </div>
      {selected && runId ? (
        <p>
          <a
            href={taskInstancePath(dagId, runId, selected)}
            onClick={(e) => {
              e.preventDefault();
              void navigate(taskInstancePath(dagId, runId, selected));
            }}
          >
            Open {selected} in {runId}
          </a>
        </p>
      ) : null}
    </section>
  );
}
