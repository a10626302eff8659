/**
 * Runs of one DAG or of every visible DAG (`~`), with state and run-id filters and pages in the URL; live
 * through the events stream.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { liveKeys } from '../../api/events.ts';
import { api, data, type Schemas } from '../../api/v2.ts';
import { formatDuration, formatTime } from '../../components/format.ts';
import { Pager } from '../../components/Pager.tsx';
import { StateBadge } from '../../components/StateBadge.tsx';
import { useUrlState } from '../../components/urlState.ts';

const RUN_STATES: Schemas['DagRunState'][] = ['queued', 'running', 'success', 'failed'];

export function RunsTable({ dagId }: { dagId: string }) {
  const u = useUrlState();
  const state = u.get('state');
  const search = u.get('runId') ?? '';
  const offset = u.getInt('offset', 0);
  const limit = Math.min(250, Math.max(1, u.getInt('limit', 25)));
  const query = {
    limit,
    offset,
    orderBy: '-id' as const,
    ...(state && RUN_STATES.includes(state as Schemas['DagRunState']) ? { state: [state as Schemas['DagRunState']] } : {}),
    ...(search ? { runIdPattern: search } : {}),
  };
  const runs = useQuery({
    queryKey: [...liveKeys.runs(dagId), query],
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns', { params: { path: { dagId }, query }, signal })),
    placeholderData: keepPreviousData,
  });
  const all = dagId === '~';
  return (
    <section aria-label="DAG runs">
      <form className="filters" role="search" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <label className="field">
          <span>Run id contains</span>
          <input type="search" data-search defaultValue={search} onChange={(e) => u.set({ runId: e.target.value, offset: undefined }, { replace: true })} />
        </label>
        <label className="field">
          <span>State</span>
          <select value={state ?? ''} onChange={(e) => u.set({ state: e.target.value, offset: undefined })}>
            <option value="">Any</option>
            {RUN_STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </form>
      {runs.isError ? (
        <p role="alert" className="error-box">
          {runs.error.message}
        </p>
      ) : null}
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">Runs, newest first</caption>
          <thead>
            <tr>
              {all ? <th scope="col">DAG</th> : null}
              <th scope="col">Run</th>
              <th scope="col">State</th>
              <th scope="col">Type</th>
              <th scope="col">Logical date</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Note</th>
            </tr>
          </thead>
          <tbody>
            {(runs.data?.dagRuns ?? []).map((r) => (
              <tr key={`${r.dagId}|${r.dagRunId}`}>
                {all ? (
                  <td>
                    <Link to={`/dags/${encodeURIComponent(r.dagId)}`}>{r.dagId}</Link>
                  </td>
                ) : null}
                <td>
                  <Link to={`/dags/${encodeURIComponent(r.dagId)}/runs/${encodeURIComponent(r.dagRunId)}`}>{r.dagRunId}</Link>
                </td>
                <td>
                  <StateBadge state={r.state} />
                </td>
                <td>{r.runType}</td>
                <td className="nowrap">{formatTime(r.logicalDate)}</td>
                <td className="nowrap">{formatTime(r.startDate)}</td>
                <td>{formatDuration(r.durationMs)}</td>
                <td>{r.note ?? ''}</td>
              </tr>
            ))}
            {runs.isSuccess && runs.data.dagRuns.length === 0 ? (
              <tr>
                <td colSpan={all ? 8 : 7} className="muted">
                  No runs match.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <Pager label="Runs" offset={offset} limit={limit} total={runs.data?.totalEntries ?? 0} onChange={(o, l) => u.set({ offset: o || undefined, limit: l === 25 ? undefined : l })} />
    </section>
  );
}
