/**
 * Task instances of one run, or across runs and DAGs (`~`), filtered by state, task id and pool, paged in
 * the URL; live through the events stream.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { liveKeys } from '../../api/events.ts';
import { api, data, type Schemas } from '../../api/v2.ts';
import { formatDuration, formatTime } from '../../components/format.ts';
import { Pager } from '../../components/Pager.tsx';
import { StateBadge } from '../../components/StateBadge.tsx';
import { useUrlState } from '../../components/urlState.ts';
import { taskInstancePath } from '../ti/paths.ts';

const TI_STATES: Schemas['TaskInstanceState'][] = ['none', 'scheduled', 'queued', 'running', 'success', 'failed', 'up_for_retry', 'up_for_reschedule', 'upstream_failed', 'skipped', 'deferred', 'removed'];

export function TaskInstancesTable({ dagId, dagRunId }: { dagId: string; dagRunId: string }) {
  const u = useUrlState();
  const state = u.get('tiState');
  const task = u.get('task') ?? '';
  const pool = u.get('pool') ?? '';
  const offset = u.getInt('offset', 0);
  const limit = Math.min(250, Math.max(1, u.getInt('limit', dagRunId === '~' ? 25 : 100)));
  const query = {
    limit,
    offset,
    orderBy: dagRunId === '~' ? ('-id' as const) : ('id' as const),
    ...(state && TI_STATES.includes(state as Schemas['TaskInstanceState']) ? { state: [state as Schemas['TaskInstanceState']] } : {}),
    ...(task ? { taskIdPattern: task } : {}),
    ...(pool ? { pool: [pool] } : {}),
  };
  const tis = useQuery({
    queryKey: [...liveKeys.taskInstances(dagId), dagRunId, query],
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances', { params: { path: { dagId, dagRunId }, query }, signal })),
    placeholderData: keepPreviousData,
  });
  const across = dagRunId === '~';
  return (
    <section aria-label="Task instances">
      <form className="filters" role="search" aria-label="Filter task instances" onSubmit={(e) => e.preventDefault()}>
        <label className="field">
          <span>Task id contains</span>
          <input type="search" data-search defaultValue={task} onChange={(e) => u.set({ task: e.target.value, offset: undefined }, { replace: true })} />
        </label>
        <label className="field">
          <span>State</span>
          <select value={state ?? ''} onChange={(e) => u.set({ tiState: e.target.value, offset: undefined })}>
            <option value="">Any</option>
            {TI_STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Pool</span>
          <input defaultValue={pool} onChange={(e) => u.set({ pool: e.target.value, offset: undefined }, { replace: true })} />
        </label>
      </form>
      {tis.isError ? (
        <p role="alert" className="error-box">
          {tis.error.message}
        </p>
      ) : null}
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">Task instances</caption>
          <thead>
            <tr>
              {across ? <th scope="col">DAG / run</th> : null}
              <th scope="col">Task</th>
              <th scope="col">State</th>
              <th scope="col">Try</th>
              <th scope="col">Operator</th>
              <th scope="col">Pool</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
            </tr>
          </thead>
          <tbody>
            {(tis.data?.taskInstances ?? []).map((t) => (
              <tr key={`${t.dagId}|${t.dagRunId}|${t.taskId}|${t.mapIndex}`}>
                {across ? (
                  <td>
                    <Link to={`/dags/${encodeURIComponent(t.dagId)}`}>{t.dagId}</Link> / <Link to={`/dags/${encodeURIComponent(t.dagId)}/runs/${encodeURIComponent(t.dagRunId)}`}>{t.dagRunId}</Link>
                  </td>
                ) : null}
                <td>
                  <Link to={taskInstancePath(t.dagId, t.dagRunId, t.taskId, { mapIndex: t.mapIndex })}>
                    {t.taskId}
                    {t.mapIndex >= 0 ? `[${t.mapIndex}]` : ''}
                  </Link>
                </td>
                <td>
                  <StateBadge state={t.state} />
                  {t.failureReason ? <span className="muted small"> {t.failureReason}</span> : null}
                </td>
                <td>{t.tryNumber}</td>
                <td>{t.operator}</td>
                <td>{t.pool}</td>
                <td className="nowrap">{formatTime(t.startDate)}</td>
                <td>{formatDuration(t.durationMs)}</td>
              </tr>
            ))}
            {tis.isSuccess && tis.data.taskInstances.length === 0 ? (
              <tr>
                <td colSpan={across ? 8 : 7} className="muted">
                  No task instances match.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <Pager label="Task instances" offset={offset} limit={limit} total={tis.data?.totalEntries ?? 0} onChange={(o, l) => u.set({ offset: o || undefined, limit: l })} />
    </section>
  );
}
