/**
 * The grid: task rows × the latest runs (oldest left, newest right), both axes virtualised so 1,000 tasks ×
 * 25 runs draw only what is on screen. Run headers are bars coloured by state; a cell is a button that
 * opens the task instance; arrow keys move between cells. Live: the events stream refreshes it.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useNavigate } from 'react-router';
import { liveKeys } from '../../api/events.ts';
import { api, data } from '../../api/v2.ts';
import { formatDuration, formatTime } from '../../components/format.ts';
import { useUrlState } from '../../components/urlState.ts';
import { taskInstancePath } from '../ti/paths.ts';

const ROW = 26;
const COL = 28;
const NAME_WIDTH = 260;
const HEADER = 64;

function fetchGrid(dagId: string, limit: number, signal: AbortSignal) {
  return data(api.GET('/dags/{dagId}/grid', { params: { path: { dagId }, query: { limit } }, signal }));
}
type GridData = Awaited<ReturnType<typeof fetchGrid>>;

export function GridView({ dagId }: { dagId: string }) {
  const u = useUrlState();
  const limit = Math.min(1000, Math.max(1, u.getInt('runs', 25)));
  const grid = useQuery({
    queryKey: [...liveKeys.grid(dagId), limit],
    queryFn: ({ signal }) => fetchGrid(dagId, limit, signal),
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

function Grid({ dagId, grid, limit, onLimit }: { dagId: string; grid: GridData; limit: number; onLimit: (n: number) => void }) {
  const navigate = useNavigate();
  const tasks = grid.tasks ?? [];
  const runs = useMemo(() => [...grid.dagRuns].reverse(), [grid.dagRuns]);
  const maxDuration = Math.max(1, ...runs.map((r) => r.durationMs ?? 0));
  const scroller = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({ count: tasks.length, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 10 });
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
    const row = Math.min(tasks.length - 1, Math.max(0, focus.row + m[0]));
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
            const task = tasks[r.index];
            if (!task) return null;
            return (
              <div key={task.taskId} className="grid-task" style={{ top: HEADER + r.start, width: NAME_WIDTH, height: ROW }} title={`${task.taskId} (${task.operator})`}>
                {task.taskId}
                {task.isMapped ? <span className="muted small"> [ ]</span> : null}
              </div>
            );
          })}
          {rows.getVirtualItems().flatMap((r) =>
            cols.getVirtualItems().map((c) => {
              const task = tasks[r.index];
              const run = runs[c.index];
              if (!task || !run) return null;
              const state = grid.states?.[run.dagRunId]?.[r.index] ?? null;
              const mapped = grid.mapped?.[run.dagRunId]?.[task.taskId];
              const label = `${task.taskId} in ${run.dagRunId}: ${state ?? 'no instance'}${mapped ? ` (${mapped.total} mapped: ${Object.entries(mapped.states).map(([s, n]) => `${n} ${s}`).join(', ')})` : ''}`;
              const isFocus = focus.row === r.index && focus.col === c.index;
              return (
                <button
                  key={`${run.dagRunId}|${task.taskId}`}
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
                  onClick={() => void navigate(taskInstancePath(dagId, run.dagRunId, task.taskId))}
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
