/**
 * The DAG list: server-side search, filters (tags any/all, paused, last-run state, owner), sort and
 * pagination, all in the URL; per-row pause toggle and bulk pause/unpause of the selected DAGs.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { can } from '../api/auth.ts';
import { api, data, type Schemas } from '../api/v2.ts';
import { useMe } from '../auth/session.tsx';
import { formatTime } from '../components/format.ts';
import { Pager } from '../components/Pager.tsx';
import { StateBadge } from '../components/StateBadge.tsx';
import { useUrlState } from '../components/urlState.ts';

type OrderField = 'dagId' | 'owner' | 'isPaused' | 'nextDataIntervalStart' | 'lastRunStartDate';
type DagRunState = Schemas['DagRunState'];
const RUN_STATES: DagRunState[] = ['queued', 'running', 'success', 'failed'];
const ORDER_FIELDS: OrderField[] = ['dagId', 'owner', 'isPaused', 'nextDataIntervalStart', 'lastRunStartDate'];

/** The list's query as the URL holds it. */
function useDagListQuery() {
  const u = useUrlState();
  const sort = u.get('sort') ?? 'dagId';
  const field = sort.replace(/^-/, '') as OrderField;
  const paused = u.get('paused');
  const tags = u.getAll('tag');
  return {
    u,
    search: u.get('q') ?? '',
    tags,
    tagsMode: u.get('tagsMode') === 'all' ? ('all' as const) : ('any' as const),
    paused: paused === 'true' ? true : paused === 'false' ? false : undefined,
    states: u.getAll('state').filter((s): s is DagRunState => RUN_STATES.includes(s as DagRunState)),
    owner: u.get('owner') ?? '',
    sortField: ORDER_FIELDS.includes(field) ? field : 'dagId',
    descending: sort.startsWith('-'),
    offset: u.getInt('offset', 0),
    limit: Math.min(250, Math.max(1, u.getInt('limit', 25))),
  };
}

export function DagListPage() {
  const q = useDagListQuery();
  const me = useMe().data;
  const mayEdit = can(me, 'dag', 'edit');
  const mayTrigger = can(me, 'dag_run', 'create');
  const qc = useQueryClient();
  const query = {
    limit: q.limit,
    offset: q.offset,
    orderBy: `${q.descending ? '-' : ''}${q.sortField}` as const,
    ...(q.search ? { dagIdPattern: q.search } : {}),
    ...(q.tags.length ? { tags: q.tags, tagsMatchMode: q.tagsMode } : {}),
    ...(q.paused === undefined ? {} : { paused: q.paused }),
    ...(q.states.length ? { lastDagRunState: q.states } : {}),
    ...(q.owner ? { owners: [q.owner] } : {}),
  };
  const list = useQuery({
    queryKey: ['dags', query],
    queryFn: ({ signal }) => data(api.GET('/dags', { params: { query }, signal })),
    placeholderData: keepPreviousData,
  });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const dags = list.data?.dags ?? [];
  // A new page or filter starts with nothing selected.
  const queryText = JSON.stringify(query);
  useEffect(() => setSelected(new Set()), [queryText]);

  const pause = useMutation({
    mutationFn: (v: { dagId: string; isPaused: boolean }) => data(api.PATCH('/dags/{dagId}', { params: { path: { dagId: v.dagId } }, body: { isPaused: v.isPaused } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['dags'] }),
  });
  const bulk = useMutation({
    mutationFn: (isPaused: boolean) => data(api.PATCH('/dags', { params: { query: { dagIds: [...selected], limit: Math.max(1, selected.size) } }, body: { isPaused } })),
    onSuccess: async () => {
      setSelected(new Set());
      await qc.invalidateQueries({ queryKey: ['dags'] });
    },
  });
  const error = list.error ?? pause.error ?? bulk.error;

  return (
    <>
      <h1>DAGs</h1>
      <DagFilters q={q} />
      {error ? (
        <p role="alert" className="error-box">
          {error.message}
        </p>
      ) : null}
      {mayEdit ? (
        <div className="toolbar" role="toolbar" aria-label="Selected DAGs">
          <span className="muted">{selected.size} selected</span>
          <button type="button" className="button small" disabled={selected.size === 0 || bulk.isPending} onClick={() => bulk.mutate(true)}>
            Pause selected
          </button>
          <button type="button" className="button small" disabled={selected.size === 0 || bulk.isPending} onClick={() => bulk.mutate(false)}>
            Unpause selected
          </button>
        </div>
      ) : null}
      <div className="table-wrap">
        <table className="table" aria-busy={list.isFetching}>
          <caption className="visually-hidden">DAGs, sorted by {q.sortField}</caption>
          <thead>
            <tr>
              {mayEdit ? (
                <th scope="col" className="narrow">
                  <input
                    type="checkbox"
                    aria-label="Select every DAG on this page"
                    checked={dags.length > 0 && dags.every((d) => selected.has(d.dagId))}
                    onChange={(e) => setSelected(e.target.checked ? new Set(dags.map((d) => d.dagId)) : new Set())}
                  />
                </th>
              ) : null}
              <SortHeader q={q} field="isPaused" label="Active" />
              <SortHeader q={q} field="dagId" label="DAG" />
              <SortHeader q={q} field="owner" label="Owner" />
              <th scope="col">Schedule</th>
              <SortHeader q={q} field="nextDataIntervalStart" label="Next run" />
              <SortHeader q={q} field="lastRunStartDate" label="Last run" />
              <th scope="col">Tags</th>
              {mayTrigger ? (
                <th scope="col">
                  <span className="visually-hidden">Trigger</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {dags.map((d) => (
              <DagRow
                key={d.dagId}
                dag={d}
                mayEdit={mayEdit}
                mayTrigger={mayTrigger}
                selected={selected.has(d.dagId)}
                onSelect={(on) => {
                  const next = new Set(selected);
                  if (on) next.add(d.dagId);
                  else next.delete(d.dagId);
                  setSelected(next);
                }}
                onPause={(isPaused) => pause.mutate({ dagId: d.dagId, isPaused })}
                onTag={(tag) => q.u.set({ tag: [...new Set([...q.tags, tag])], offset: undefined })}
              />
            ))}
            {list.isSuccess && dags.length === 0 ? (
              <tr>
                <td colSpan={9} className="muted">
                  No DAG matches these filters.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <Pager label="DAG list" offset={q.offset} limit={q.limit} total={list.data?.totalEntries ?? 0} onChange={(offset, limit) => q.u.set({ offset: offset || undefined, limit: limit === 25 ? undefined : limit })} />
    </>
  );
}

function SortHeader({ q, field, label }: { q: ReturnType<typeof useDagListQuery>; field: OrderField; label: string }) {
  const active = q.sortField === field;
  const next = active && !q.descending ? `-${field}` : field;
  return (
    <th scope="col" aria-sort={active ? (q.descending ? 'descending' : 'ascending') : 'none'}>
      <button type="button" className="sort-button" onClick={() => q.u.set({ sort: next === 'dagId' ? undefined : next, offset: undefined })}>
        {label}
        <span aria-hidden="true">{active ? (q.descending ? ' ▼' : ' ▲') : ''}</span>
      </button>
    </th>
  );
}

function DagRow({ dag, mayEdit, mayTrigger, selected, onSelect, onPause, onTag }: { dag: Schemas['DagListEntry']; mayEdit: boolean; mayTrigger: boolean; selected: boolean; onSelect: (on: boolean) => void; onPause: (isPaused: boolean) => void; onTag: (tag: string) => void }) {
  return (
    <tr>
      {mayEdit ? (
        <td className="narrow">
          <input type="checkbox" aria-label={`Select ${dag.dagId}`} checked={selected} onChange={(e) => onSelect(e.target.checked)} />
        </td>
      ) : null}
      <td>
        <button type="button" role="switch" className="switch" aria-checked={!dag.isPaused} aria-label={`${dag.dagId} active`} disabled={!mayEdit} onClick={() => onPause(!dag.isPaused)}>
          <span className="switch-knob" aria-hidden="true" />
        </button>
      </td>
      <td>
        <Link to={`/dags/${encodeURIComponent(dag.dagId)}`} className="dag-link">
          {dag.dagId}
        </Link>
        {dag.description ? <div className="muted small">{dag.description}</div> : null}
      </td>
      <td>{dag.owners.join(', ')}</td>
      <td>
        <code>{dag.timetableSummary ?? 'None'}</code>
      </td>
      <td className="nowrap">{formatTime(dag.nextDagrunDataIntervalStart)}</td>
      <td className="nowrap">
        {dag.latestDagRun ? (
          <>
            <StateBadge state={dag.latestDagRun.state} /> <span className="small">{formatTime(dag.latestDagRun.startDate)}</span>
          </>
        ) : (
          <span className="muted">never</span>
        )}
      </td>
      <td>
        {dag.tags.map((t) => (
          <button key={t} type="button" className="tag" onClick={() => onTag(t)} aria-label={`Filter by tag ${t}`}>
            {t}
          </button>
        ))}
      </td>
      {mayTrigger ? (
        <td>
          <Link className="button small" to={`/dags/${encodeURIComponent(dag.dagId)}?trigger=1`} aria-label={`Trigger ${dag.dagId}`}>
            ▶
          </Link>
        </td>
      ) : null}
    </tr>
  );
}

function DagFilters({ q }: { q: ReturnType<typeof useDagListQuery> }) {
  const [search, setSearch] = useState(q.search);
  const [owner, setOwner] = useState(q.owner);
  // Typing updates the URL (and so the query) once the user pauses.
  useEffect(() => {
    const t = setTimeout(() => {
      if (search !== q.search || owner !== q.owner) q.u.set({ q: search, owner, offset: undefined }, { replace: true });
    }, 250);
    return () => clearTimeout(t);
    // Only typing starts the timer; the URL's own changes arrive through the effect below.
  }, [search, owner]);
  useEffect(() => setSearch(q.search), [q.search]);
  return (
    <form className="filters" role="search" aria-label="Filter DAGs" onSubmit={(e) => e.preventDefault()}>
      <label className="field">
        <span>Search</span>
        <input type="search" data-search placeholder="DAG id contains…" value={search} onChange={(e) => setSearch(e.target.value)} />
      </label>
      <label className="field">
        <span>Status</span>
        <select value={q.paused === undefined ? '' : String(q.paused)} onChange={(e) => q.u.set({ paused: e.target.value, offset: undefined })}>
          <option value="">All</option>
          <option value="false">Active</option>
          <option value="true">Paused</option>
        </select>
      </label>
      <label className="field">
        <span>Last run</span>
        <select value={q.states[0] ?? ''} onChange={(e) => q.u.set({ state: e.target.value, offset: undefined })}>
          <option value="">Any state</option>
          {RUN_STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Owner</span>
        <input value={owner} onChange={(e) => setOwner(e.target.value)} />
      </label>
      {q.tags.length > 0 ? (
        <fieldset className="field tag-filter">
          <legend>Tags</legend>
          {q.tags.map((t) => (
            <button key={t} type="button" className="tag" onClick={() => q.u.set({ tag: q.tags.filter((x) => x !== t), offset: undefined })} aria-label={`Remove tag filter ${t}`}>
              {t} ×
            </button>
          ))}
          <select value={q.tagsMode} onChange={(e) => q.u.set({ tagsMode: e.target.value === 'all' ? 'all' : undefined })} aria-label="Tags must match">
            <option value="any">any of these</option>
            <option value="all">all of these</option>
          </select>
        </fieldset>
      ) : null}
    </form>
  );
}
