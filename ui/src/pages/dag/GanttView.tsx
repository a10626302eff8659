/**
 * Gantt of one run (`/dags/<id>/gantt?run=<runId>`): a row per task instance, a bar per try — the time it
 * waited queued (pale) and the time it ran (in its state's colour) — on the run's time axis. Hovering or
 * focusing a bar shows its details; clicking opens that try's log. Live through the events stream.
 */
import { useQueries, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { liveKeys } from '../../api/events.ts';
import { api, data, type Schemas } from '../../api/v2.ts';
import { formatDuration, formatTime } from '../../components/format.ts';
import { StateBadge } from '../../components/StateBadge.tsx';
import { taskInstancePath } from '../ti/paths.ts';
import { RunPicker, useChosenRun } from './RunPicker.tsx';
import '../../views.css';

/** One try of one task instance, as a bar. */
interface Bar {
  taskId: string;
  mapIndex: number;
  tryNumber: number;
  state: string;
  queuedAt: number | undefined;
  startAt: number | undefined;
  endAt: number | undefined;
  hostname: string | null;
  failureReason: string | null;
}

const ms = (iso: string | null | undefined) => (iso ? new Date(iso).getTime() : undefined);

function barsOf(tis: Schemas['TaskInstance'][], tries: Map<string, Schemas['TaskInstanceTry'][]>): Bar[][] {
  return tis.map((ti) => {
    const own = tries.get(`${ti.taskId}|${ti.mapIndex}`);
    const list = own && own.length > 0 ? own : [ti];
    return list.map((t) => ({
      taskId: ti.taskId,
      mapIndex: ti.mapIndex,
      tryNumber: t.tryNumber,
      state: t.state,
      queuedAt: ms(t.queuedAt),
      startAt: ms(t.startDate),
      endAt: ms(t.endDate),
      hostname: t.hostname,
      failureReason: t.failureReason,
    }));
  });
}

export function GanttView({ dagId }: { dagId: string }) {
  const chosen = useChosenRun(dagId);
  const runId = chosen.run?.dagRunId;
  const query = { limit: 1000, offset: 0, orderBy: 'id' as const };
  const tis = useQuery({
    queryKey: [...liveKeys.taskInstances(dagId), 'gantt', runId, query],
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances', { params: { path: { dagId, dagRunId: runId ?? '' }, query }, signal })),
    enabled: runId !== undefined,
  });
  // Only retried instances need their try history; the instance itself is its only try otherwise.
  const retried = (tis.data?.taskInstances ?? []).filter((t) => t.tryNumber > 1);
  const tries = useQueries({
    queries: retried.map((t) => ({
      queryKey: [...liveKeys.taskInstance(dagId, t.dagRunId, t.taskId), 'tries', t.mapIndex],
      queryFn: ({ signal }: { signal: AbortSignal }) => data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries', { params: { path: { dagId, dagRunId: t.dagRunId, taskId: t.taskId }, query: { mapIndex: t.mapIndex } }, signal })),
    })),
  });
  const triesByTi = new Map<string, Schemas['TaskInstanceTry'][]>();
  retried.forEach((t, i) => {
    const d = tries[i]?.data;
    if (d) triesByTi.set(`${t.taskId}|${t.mapIndex}`, d.taskInstances);
  });
  if (chosen.error) return <p role="alert" className="error-box">{chosen.error.message}</p>;
  if (chosen.isLoading) return <p role="status">Loading runs…</p>;
  if (!chosen.run) return <p className="muted">No runs yet: trigger one to see its Gantt chart.</p>;
  // In the order they began, as a Gantt chart reads; those not begun last.
  const began = (bars: Bar[]) => bars[0]?.queuedAt ?? bars[0]?.startAt ?? Number.POSITIVE_INFINITY;
  const rows = barsOf(tis.data?.taskInstances ?? [], triesByTi).sort((a, b) => {
    const x = began(a);
    const y = began(b);
    return x === y ? 0 : x < y ? -1 : 1;
  });
  return (
    <section aria-label="Gantt chart" className="gantt-section">
      <div className="grid-tools">
        <RunPicker runs={chosen.runs} chosen={runId} />
        <StateBadge state={chosen.run.state} />
        <span className="muted">
          started {formatTime(chosen.run.startDate)}, {chosen.run.endDate ? `took ${formatDuration(chosen.run.durationMs)}` : 'still going'}
        </span>
        <span className="gantt-legend muted" aria-hidden="true">
          <span className="gantt-swatch queued" /> queued <span className="gantt-swatch ran" /> running or ran
        </span>
      </div>
      {tis.isError ? <p role="alert" className="error-box">{tis.error.message}</p> : null}
      {tis.isSuccess ? <GanttChart dagId={dagId} runId={chosen.run.dagRunId} rows={rows} /> : <p role="status">Loading task instances…</p>}
    </section>
  );
}

function GanttChart({ dagId, runId, rows }: { dagId: string; runId: string; rows: Bar[][] }) {
  const [hover, setHover] = useState<{ bar: Bar; x: number; y: number } | undefined>();
  const now = Date.now();
  const times = rows.flat().flatMap((b) => [b.queuedAt, b.startAt, b.endAt ?? (b.startAt !== undefined ? now : undefined)]).filter((t): t is number => t !== undefined);
  if (rows.length === 0) return <p className="muted">This run has no task instances.</p>;
  if (times.length === 0) return <p className="muted">No task of this run has been queued yet.</p>;
  const t0 = Math.min(...times);
  const span = Math.max(1000, Math.max(...times) - t0);
  const pct = (t: number) => ((t - t0) / span) * 100;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <div className="gantt card">
      <div className="gantt-axis" aria-hidden="true">
        <span />
        <div className="gantt-ticks">
          {ticks.map((f) => (
            <span key={f} className="gantt-tick" style={{ left: `${f * 100}%` }}>
              +{formatDuration(f * span)}
            </span>
          ))}
        </div>
      </div>
      <ul className="gantt-rows" aria-label={`Task instances of ${runId} on a time line from ${formatTime(new Date(t0).toISOString())}`}>
        {rows.map((bars) => {
          const first = bars[0];
          if (!first) return null;
          const name = `${first.taskId}${first.mapIndex >= 0 ? `[${first.mapIndex}]` : ''}`;
          return (
            <li key={name} className="gantt-row">
              <Link className="gantt-label" to={taskInstancePath(dagId, runId, first.taskId, { mapIndex: first.mapIndex })}>
                {name}
              </Link>
              <div className="gantt-track">
                {bars.map((b) => {
                  const start = b.startAt ?? now;
                  const queued = b.queuedAt !== undefined && b.queuedAt < start ? b.queuedAt : undefined;
                  if (b.queuedAt === undefined && b.startAt === undefined) return null;
                  const end = b.startAt === undefined ? start : (b.endAt ?? now);
                  const label = `${name} try ${b.tryNumber}: ${b.state}, ${b.startAt !== undefined ? `ran ${formatDuration(end - b.startAt)}` : 'not started'}${queued !== undefined ? `, queued ${formatDuration(start - queued)}` : ''}`;
                  const show = (x: number, y: number) => setHover({ bar: b, x, y });
                  return (
                    <Link
                      key={b.tryNumber}
                      className="gantt-bar-link"
                      to={taskInstancePath(dagId, runId, b.taskId, { mapIndex: b.mapIndex, tryNumber: b.tryNumber })}
                      aria-label={label}
                      data-state={b.state}
                      data-try={b.tryNumber}
                      style={{ left: `${pct(queued ?? start)}%`, width: `max(4px, ${pct(end) - pct(queued ?? start)}%)` }}
                      onMouseEnter={(e) => show(e.clientX, e.clientY)}
                      onMouseMove={(e) => show(e.clientX, e.clientY)}
                      onMouseLeave={() => setHover(undefined)}
                      onFocus={(e) => {
                        const r = e.currentTarget.getBoundingClientRect();
                        show(r.left, r.bottom);
                      }}
                      onBlur={() => setHover(undefined)}
                    >
                      {queued !== undefined ? <span className="gantt-queued" style={{ width: `${((start - queued) / Math.max(1, end - queued)) * 100}%` }} /> : null}
                      <span className={`gantt-ran state-fill-${b.state}`} />
                    </Link>
                  );
                })}
              </div>
            </li>
          );
        })}
      </ul>
      {hover ? <GanttTooltip {...hover} now={now} /> : null}
    </div>
  );
}

function GanttTooltip({ bar: b, x, y, now }: { bar: Bar; x: number; y: number; now: number }) {
  const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
  return (
    <div className="gantt-tooltip" role="tooltip" style={{ left: `${Math.min(x + 12, window.innerWidth - 300)}px`, top: `${y + 12}px` }}>
      <strong>
        {b.taskId}
        {b.mapIndex >= 0 ? `[${b.mapIndex}]` : ''}
      </strong>{' '}
      try {b.tryNumber} <StateBadge state={b.state} />
      <dl className="details compact">
        <dt>Queued</dt>
        <dd>{formatTime(iso(b.queuedAt))}</dd>
        <dt>Started</dt>
        <dd>{formatTime(iso(b.startAt))}</dd>
        <dt>Ended</dt>
        <dd>{formatTime(iso(b.endAt))}</dd>
        <dt>Waited</dt>
        <dd>{b.queuedAt !== undefined ? formatDuration((b.startAt ?? now) - b.queuedAt) : '—'}</dd>
        <dt>Ran</dt>
        <dd>{b.startAt !== undefined ? formatDuration((b.endAt ?? now) - b.startAt) : '—'}</dd>
        {b.hostname ? (
          <>
            <dt>Host</dt>
            <dd>{b.hostname}</dd>
          </>
        ) : null}
        {b.failureReason ? (
          <>
            <dt>Failure</dt>
            <dd>{b.failureReason}</dd>
          </>
        ) : null}
      </dl>
    </div>
  );
}
