/**
 * The audit events of one DAG (`/dags/<id>/audit?event=&owner=&run=`): who triggered, cleared, marked,
 * paused or backfilled it and when, with what the server recorded; filters and pages in the URL.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, data } from '../../api/v2.ts';
import { formatTime } from '../../components/format.ts';
import { Pager } from '../../components/Pager.tsx';
import { useUrlState } from '../../components/urlState.ts';
import '../../views.css';

const FILTERS = [
  ['event', 'Event', 'dag.trigger'],
  ['owner', 'Actor', 'admin'],
  ['run', 'Run id', ''],
] as const;

/** What was recorded with an entry, short: its JSON or text on one line. */
function extraText(extra: unknown): string {
  if (extra === null || extra === undefined) return '';
  return typeof extra === 'string' ? extra : JSON.stringify(extra);
}

export function DagAuditView({ dagId }: { dagId: string }) {
  const u = useUrlState();
  const offset = u.getInt('offset', 0);
  const limit = Math.min(250, Math.max(1, u.getInt('limit', 25)));
  const event = u.get('event');
  const owner = u.get('owner');
  const run = u.get('run');
  const query = { dagId, limit, offset, ...(event ? { event } : {}), ...(owner ? { owner } : {}), ...(run ? { dagRunId: run } : {}) };
  const logs = useQuery({ queryKey: ['eventLogs', query], queryFn: ({ signal }) => data(api.GET('/eventLogs', { params: { query }, signal })), placeholderData: keepPreviousData });
  return (
    <section aria-label="Audit events">
      <form className="filters" role="search" aria-label="Filter the DAG's audit events" onSubmit={(e) => e.preventDefault()}>
        {FILTERS.map(([k, label, placeholder]) => (
          <label key={k} className="field">
            <span>{label}</span>
            <input defaultValue={u.get(k) ?? ''} placeholder={placeholder} onChange={(e) => u.set({ [k]: e.target.value, offset: undefined }, { replace: true })} />
          </label>
        ))}
      </form>
      {logs.isError ? (
        <p role="alert" className="error-box">
          {logs.error.message}
        </p>
      ) : null}
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">Audit events of {dagId}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">Actor</th>
              <th scope="col">Run</th>
              <th scope="col">Task</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {(logs.data?.eventLogs ?? []).map((e) => (
              <tr key={e.eventLogId}>
                <td className="nowrap">{formatTime(e.when)}</td>
                <td>
                  <code>{e.event}</code>
                </td>
                <td>{e.owner}</td>
                <td>{e.dagRunId ? <Link to={`/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(e.dagRunId)}`}>{e.dagRunId}</Link> : ''}</td>
                <td>{e.taskId ?? ''}</td>
                <td className="audit-extra">
                  <code>{extraText(e.extra)}</code>
                </td>
              </tr>
            ))}
            {logs.isSuccess && logs.data.eventLogs.length === 0 ? (
              <tr>
                <td colSpan={6} className="muted">
                  No audit events match.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <Pager label="Audit events" offset={offset} limit={limit} total={logs.data?.totalEntries ?? 0} onChange={(o, l) => u.set({ offset: o || undefined, limit: l === 25 ? undefined : l })} />
    </section>
  );
}
