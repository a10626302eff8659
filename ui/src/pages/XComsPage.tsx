/**
 * XCom entries across DAGs, runs and tasks (`/browse/xcoms?dag=&run=&task=&key=`): each filter an exact id
 * (empty: all), applied on submit; sizes listed, a value read on demand and masked by the server.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { Link } from 'react-router';
import { api, data } from '../api/v2.ts';
import { formatTime } from '../components/format.ts';
import { Pager } from '../components/Pager.tsx';
import { useUrlState } from '../components/urlState.ts';
import { taskInstancePath } from './ti/paths.ts';
import { formatBytes, XComValue } from './ti/XComTab.tsx';

const FILTERS = [
  ['dag', 'DAG id'],
  ['run', 'Run id'],
  ['task', 'Task id'],
  ['key', 'Key'],
] as const;

export function XComsPage() {
  const u = useUrlState();
  const offset = u.getInt('offset', 0);
  const limit = Math.min(250, Math.max(1, u.getInt('limit', 25)));
  const path = { dagId: u.get('dag') ?? '~', dagRunId: u.get('run') ?? '~', taskId: u.get('task') ?? '~' };
  const key = u.get('key');
  const query = { limit, offset, ...(key ? { xcomKey: key } : {}) };
  const entries = useQuery({
    queryKey: ['xcoms', path, query],
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries', { params: { path, query }, signal })),
    placeholderData: keepPreviousData,
    retry: false,
  });
  const apply = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    u.set({ ...Object.fromEntries(FILTERS.map(([k]) => [k, String(f.get(k) ?? '').trim()])), offset: undefined });
  };
  const list = entries.data?.xcomEntries ?? [];
  return (
    <>
      <h1>XComs</h1>
      <form className="filters" role="search" aria-label="Filter XComs" onSubmit={apply}>
        {FILTERS.map(([k, label]) => (
          <label key={k} className="field">
            <span>{label}</span>
            <input name={k} defaultValue={u.get(k) ?? ''} placeholder="any" />
          </label>
        ))}
        <button type="submit" className="button">
          Apply
        </button>
      </form>
      {entries.isError ? (
        <p role="alert" className="error-box">
          {entries.error.message}
        </p>
      ) : null}
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">XCom entries</caption>
          <thead>
            <tr>
              <th scope="col">DAG / run</th>
              <th scope="col">Task</th>
              <th scope="col">Key</th>
              <th scope="col">Size</th>
              <th scope="col">Pushed</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {list.map((e) => (
              <tr key={`${e.dagId}|${e.dagRunId}|${e.taskId}|${e.mapIndex}|${e.key}`}>
                <td>
                  <Link to={`/dags/${encodeURIComponent(e.dagId)}`}>{e.dagId}</Link> / <Link to={`/dags/${encodeURIComponent(e.dagId)}/runs/${encodeURIComponent(e.dagRunId)}`}>{e.dagRunId}</Link>
                </td>
                <td>
                  <Link to={taskInstancePath(e.dagId, e.dagRunId, e.taskId, { mapIndex: e.mapIndex, tab: 'xcom' })}>
                    {e.taskId}
                    {e.mapIndex >= 0 ? `[${e.mapIndex}]` : ''}
                  </Link>
                </td>
                <td>
                  <code>{e.key}</code>
                </td>
                <td className="nowrap">{formatBytes(e.sizeBytes)}</td>
                <td className="nowrap">{formatTime(e.timestamp)}</td>
                <td>
                  <XComValue r={{ dagId: e.dagId, dagRunId: e.dagRunId, taskId: e.taskId, mapIndex: e.mapIndex }} xcomKey={e.key} />
                </td>
              </tr>
            ))}
            {entries.isSuccess && list.length === 0 ? (
              <tr>
                <td colSpan={6} className="muted">
                  No XCom entries match.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <Pager label="XComs" offset={offset} limit={limit} total={entries.data?.totalEntries ?? 0} onChange={(o, l) => u.set({ offset: o || undefined, limit: l === 25 ? undefined : l })} />
    </>
  );
}
