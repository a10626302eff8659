/**
 * The grid: task rows × the latest runs (oldest left, newest right), both axes virtualised so 1,000 tasks ×
 * 25 runs draw only what is on screen. Run headers are bars coloured by state; a cell is a button that
 * opens the task instance; arrow keys move between cells. A mapped task shows one summary cell per run and
 * expands into a row per map index (`?expand=<taskId>`). Live: a change marks the grid stale and only what changed since its
 * cursor is fetched and merged (grid/gridData.ts).
 */
import { keepPreviousData, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useNavigate } from 'react-router';
import { liveKeys } from '../../api/events.ts';
import { formatDuration, formatTime } from '../../components/format.ts';
import { useUrlState } from '../../components/urlState.ts';
import { taskInstancePath } from '../ti/paths.ts';
import { fetchGrid, mergeGridChanges, type GridData } from './grid/gridData.ts';
import { MAPPED_ROWS_LIMIT, mappedRowsQuery, type MappedRows } from './grid/mappedRows.ts';

const ROW = 26;
const COL = 28;
const NAME_WIDTH = 260;
const HEADER = 64;

export function GridView({ dagId }: { dagId: string }) {
  const u = useUrlState();
  const qc = useQueryClient();
  const limit = Math.min(1000, Math.max(1, u.getInt('runs', 25)));
  const key = [...liveKeys.grid(dagId), limit];
  const grid = useQuery({
    queryKey: key,
    queryFn: async ({ signal }) => {
      const held = qc.getQueryData<GridData>(key);
      if (held) {
        const merged = mergeGridChanges(held, await fetchGrid(dagId, { limit, changedSince: held.cursor }, signal));
        if (merged) return merged;
      }
      return fetchGrid(dagId, { limit }, signal);
    },
    placeholderData: keepPreviousData,
  });
  if (grid.isError)
    return (
      <p role="alert" className="error-box">
        {grid.error.message}
      </p>
    );
  if (!grid.data) return <p role="status">Loading the grid…</p>;
  return <Grid dagId={dagId} grid={grid.data} limit={limit} onLimit={(n) => u.set({ runs: n === 25 ? undefined : n })} />;
}

type Task = NonNullable<GridData['tasks']>[number];
/** A row: a task, or one map index of an expanded mapped task. */
interface Row {
  task: Task;
  taskIndex: number;
  mapIndex?: number;
}

function Grid({ dagId, grid, limit, onLimit }: { dagId: string; grid: GridData; limit: number; onLimit: (n: number) => void }) {
  const navigate = useNavigate();
  const tasks = grid.tasks ?? [];
  const runs = useMemo(() => [...grid.dagRuns].reverse(), [grid.dagRuns]);
  const runIds = useMemo(() => runs.map((r) => r.dagRunId), [runs]);
  // Expanded mapped tasks live in the URL (?expand=<taskId>), so back and reload keep them open.
  const u = useUrlState();
  const expanded = u.getAll('expand');
  const expansions = useQueries({ queries: expanded.map((taskId) => mappedRowsQuery(dagId, taskId, runIds)) });
  const byTask = new Map<string, MappedRows | undefined>(expanded.map((t, i) => [t, expansions[i]?.data]));
  // Linear in tasks: cheap enough to rebuild on each render.
  const rowList: Row[] = tasks.flatMap((task, taskIndex) => [{ task, taskIndex }, ...(byTask.get(task.taskId)?.indexes ?? []).map((mapIndex) => ({ task, taskIndex, mapIndex }))]);
  const toggle = (taskId: string) => u.set({ expand: expanded.includes(taskId) ? expanded.filter((x) => x !== taskId) : [...expanded, taskId] }, { replace: true });
  const maxDuration = Math.max(1, ...runs.map((r) => r.durationMs ?? 0));
  const scroller = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({ count: rowList.length, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 10 });
  const cols = useVirtualizer({ horizontal: true, count: runs.length, getScrollElement: () => scroller.current, estimateSize: () => COL, overscan: 5 });
  const [focus, setFocus] = useState<{ row: number; col: number }>({ row: 0, col: Math.max(0, runs.length - 1) });

  useEffect(() => {
    const el = scroller.current?.querySelector<HTMLElement>(`[data-cell="${focus.row}:${focus.col}"]`);
    if (el && scroller.current?.contains(document.activeElement)) el.focus({ preventScroll: true });
  }, [focus]);

  const onKey = (e: KeyboardEvent) => {
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const row = Math.min(rowList.length - 1, Math.max(0, focus.row + m[0]));
    const col = Math.min(runs.length - 1, Math.max(0, focus.col + m[1]));
    rows.scrollToIndex(row);
    cols.scrollToIndex(col);
    setFocus({ row, col });
  };

  if (runs.length === 0 || tasks.length === 0) return <p className="muted">{tasks.length === 0 ? 'This DAG has no tasks.' : 'No runs yet: trigger one.'}</p>;
  return (
    <section aria-label="Grid of task states per run" className="grid-section">
      <div className="grid-tools">
        <label className="field inline">
          <span>Runs shown</span>
          <select value={limit} onChange={(e) => onLimit(Number(e.target.value))}>
            {[10, 25, 50, 100, 365].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <span className="muted small">Arrow keys move between cells; Enter opens the task instance.</span>
      </div>
      <div ref={scroller} className="grid-scroller" onKeyDown={onKey}>
        <div style={{ width: NAME_WIDTH + cols.getTotalSize(), height: HEADER + rows.getTotalSize(), position: 'relative' }}>
          <div className="grid-corner" style={{ width: NAME_WIDTH, height: HEADER }}>
            Task
          </div>
          {cols.getVirtualItems().map((c) => {
            const run = runs[c.index];
            if (!run) return null;
            const h = Math.max(6, Math.round(((run.durationMs ?? maxDuration / 10) / maxDuration) * (HEADER - 14)));
            return (
              <a
                key={run.dagRunId}
                className="grid-run"
                href={`/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(run.dagRunId)}`}
                onClick={(e) => {
                  e.preventDefault();
                  void navigate(`/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(run.dagRunId)}`);
                }}
                style={{ left: NAME_WIDTH + c.start, width: COL, height: HEADER }}
                title={`${run.dagRunId}\n${run.state} · ${formatTime(run.logicalDate)} · ${formatDuration(run.durationMs)}`}
                aria-label={`Run ${run.dagRunId}: ${run.state}`}
              >
                <span className={`grid-run-bar state-fill-${run.state}`} style={{ height: h }} />
              </a>
            );
          })}
          {rows.getVirtualItems().map((r) => {
            const row = rowList[r.index];
            if (!row) return null;
            const { task } = row;
            const style = { top: HEADER + r.start, width: NAME_WIDTH, height: ROW };
            if (row.mapIndex !== undefined)
              return (
                <div key={`${task.taskId}[${row.mapIndex}]`} className="grid-task" style={{ ...style, paddingLeft: '2rem' }} title={`${task.taskId}, map index ${row.mapIndex}`}>
                  [{row.mapIndex}]
                </div>
              );
            const open = expanded.includes(task.taskId);
            const more = byTask.get(task.taskId)?.truncated;
            return (
              <div key={task.taskId} className="grid-task" style={style} title={`${task.taskId} (${task.operator})`}>
                {task.isMapped ? (
                  <button type="button" className="grid-expand" aria-expanded={open} aria-label={`${open ? 'Collapse' : 'Expand'} the map indexes of ${task.taskId}`} onClick={() => toggle(task.taskId)} style={{ border: 0, background: 'none', padding: '0 0.3rem 0 0', cursor: 'pointer', color: 'inherit', font: 'inherit' }}>
                    {open ? '▾' : '▸'}
                  </button>
                ) : null}
                {task.taskId}
                {task.isMapped ? <span className="muted small">{more ? ` [first ${MAPPED_ROWS_LIMIT} instances]` : ' [ ]'}</span> : null}
              </div>
            );
          })}
          {rows.getVirtualItems().flatMap((r) =>
            cols.getVirtualItems().map((c) => {
              const row = rowList[r.index];
              const run = runs[c.index];
              if (!row || !run) return null;
              const { task } = row;
              const sub = row.mapIndex;
              const state = sub === undefined ? (grid.states?.[run.dagRunId]?.[row.taskIndex] ?? null) : (byTask.get(task.taskId)?.states.get(`${run.dagRunId}|${sub}`) ?? null);
              const mapped = sub === undefined ? grid.mapped?.[run.dagRunId]?.[task.taskId] : undefined;
              const name = sub === undefined ? task.taskId : `${task.taskId}[${sub}]`;
              const label = `${name} in ${run.dagRunId}: ${state ?? 'no instance'}${mapped ? ` (${mapped.total} mapped: ${Object.entries(mapped.states).map(([s, n]) => `${n} ${s}`).join(', ')})` : ''}`;
              const isFocus = focus.row === r.index && focus.col === c.index;
              return (
                <button
                  key={`${run.dagRunId}|${name}`}
                  type="button"
                  data-cell={`${r.index}:${c.index}`}
                  data-state={state ?? 'none'}
                  tabIndex={isFocus ? 0 : -1}
                  className={`grid-cell ${isFocus ? 'focused' : ''}`}
                  style={{ top: HEADER + r.start, left: NAME_WIDTH + c.start, width: COL, height: ROW }}
                  title={label}
                  aria-label={label}
                  disabled={state === null}
                  onFocus={() => setFocus({ row: r.index, col: c.index })}
                  onClick={() => void navigate(taskInstancePath(dagId, run.dagRunId, task.taskId, sub === undefined ? {} : { mapIndex: sub }))}
                >
                  <span className={`grid-square state-fill-${state ?? 'none'} ${mapped ? 'mapped' : ''}`} />
                </button>
              );
            }),
          )}
        </div>
      </div>
    </section>
  );
}
