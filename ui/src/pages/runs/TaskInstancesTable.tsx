/**
 * Task instances of one run, or across runs and DAGs (`~`), filtered by state, task id and pool, paged in
 * the URL; live through the events stream. Those who may change task instances pick rows (or everything
 * the filter matches) for bulk clear / mark success / mark failed, confirmed against the dry run.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { can } from '../../api/auth.ts';
import { liveKeys } from '../../api/events.ts';
import { api, data, type Schemas } from '../../api/v2.ts';
import { useMe } from '../../auth/session.tsx';
import { formatDuration, formatTime } from '../../components/format.ts';
import { Pager } from '../../components/Pager.tsx';
import { StateBadge } from '../../components/StateBadge.tsx';
import { useUrlState } from '../../components/urlState.ts';
import { taskInstancePath } from '../ti/paths.ts';
import { BulkActions, tiKeyString, type BulkSelection, type TiKey } from './BulkActions.tsx';

/** Rows a filter-wide action reaches at most (ten pages of the API's largest). */
const MAX_BULK = 10_000;

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
  const me = useMe().data;
  const mayEdit = can(me, 'task_instance', 'edit');
  const [picked, setPicked] = useState<Map<string, TiKey>>(new Map());
  const [wholeFilter, setWholeFilter] = useState(false);
  const filterKey = JSON.stringify([dagId, dagRunId, state, task, pool]);
  const [selectedFor, setSelectedFor] = useState(filterKey);
  // A new filter starts a new selection.
  if (selectedFor !== filterKey) {
    setSelectedFor(filterKey);
    setPicked(new Map());
    setWholeFilter(false);
  }
  const rows = tis.data?.taskInstances ?? [];
  const total = tis.data?.totalEntries ?? 0;
  const pageKeys = rows.map((t) => ({ dagId: t.dagId, dagRunId: t.dagRunId, taskId: t.taskId, mapIndex: t.mapIndex }));
  const allOnPage = rows.length > 0 && pageKeys.every((k) => picked.has(tiKeyString(k)));
  const toggle = (k: TiKey, on: boolean) => {
    setWholeFilter(false);
    const next = new Map(picked);
    if (on) next.set(tiKeyString(k), k);
    else next.delete(tiKeyString(k));
    setPicked(next);
  };
  const togglePage = (on: boolean) => {
    setWholeFilter(false);
    const next = new Map(picked);
    for (const k of pageKeys) {
      if (on) next.set(tiKeyString(k), k);
      else next.delete(tiKeyString(k));
    }
    setPicked(next);
  };
  const fetchAll = async (): Promise<TiKey[]> => {
    if (total > MAX_BULK) throw new Error(`The filter matches ${total} task instances; narrow it to at most ${MAX_BULK}.`);
    const out: TiKey[] = [];
    for (let off = 0; off < total; off += 1000) {
      const page = await data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances', { params: { path: { dagId, dagRunId }, query: { ...query, limit: 1000, offset: off } } }));
      out.push(...page.taskInstances.map((t) => ({ dagId: t.dagId, dagRunId: t.dagRunId, taskId: t.taskId, mapIndex: t.mapIndex })));
      if (page.taskInstances.length === 0) break;
    }
    return out;
  };
  const selection: BulkSelection | undefined = wholeFilter ? { kind: 'filter', total, fetchAll } : picked.size > 0 ? { kind: 'rows', keys: [...picked.values()] } : undefined;
  const clearSelection = () => {
    setPicked(new Map());
    setWholeFilter(false);
  };
  const columns = (across ? 8 : 7) + (mayEdit ? 1 : 0);
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
      {mayEdit && rows.length > 0 ? (
        <>
          <BulkActions selection={selection} onDone={clearSelection} />
          {allOnPage && !wholeFilter && total > rows.length ? (
            <p className="notice-inline">
              All {rows.length} on this page are selected.{' '}
              <button type="button" className="button small" onClick={() => setWholeFilter(true)}>
                Select all {total} that match the filter
              </button>
            </p>
          ) : null}
        </>
      ) : null}
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">Task instances</caption>
          <thead>
            <tr>
              {mayEdit ? (
                <th scope="col" className="check-col">
                  <input type="checkbox" aria-label="Select every task instance on this page" checked={wholeFilter || allOnPage} disabled={rows.length === 0} onChange={(e) => togglePage(e.target.checked)} />
                </th>
              ) : null}
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
            {rows.map((t, i) => (
              <tr key={`${t.dagId}|${t.dagRunId}|${t.taskId}|${t.mapIndex}`}>
                {mayEdit ? (
                  <td className="check-col">
                    <input
                      type="checkbox"
                      aria-label={`Select ${t.taskId}${t.mapIndex >= 0 ? `[${t.mapIndex}]` : ''} of ${t.dagId} / ${t.dagRunId}`}
                      checked={wholeFilter || picked.has(tiKeyString(pageKeys[i] as TiKey))}
                      onChange={(e) => {
                        if (wholeFilter) {
                          // Leaving "all that match" keeps this page's rows but the one unticked.
                          setWholeFilter(false);
                          setPicked(new Map(pageKeys.filter((k) => tiKeyString(k) !== tiKeyString(pageKeys[i] as TiKey)).map((k) => [tiKeyString(k), k])));
                        } else toggle(pageKeys[i] as TiKey, e.target.checked);
                      }}
                    />
                  </td>
                ) : null}
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
                <td colSpan={columns} className="muted">
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
