/**
 * One task instance: its state and actions (clear, mark success/failed — each confirmed against the
 * server's dry run listing what it would change), its note (kept across tries, with who set it and when),
 * and tabs for the log of a chosen try (live while it
 * runs), details (executor, pool, host/pod, durations, failure kind), try history, "why isn't this
 * running?", the rendered templates and its XCom entries. The URL holds the tab, try and map index.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { can } from '../../api/auth.ts';
import { liveKeys, useLiveChanges } from '../../api/events.ts';
import { api, data } from '../../api/v2.ts';
import { useMe } from '../../auth/session.tsx';
import { Dialog } from '../../components/Dialog.tsx';
import { formatDuration, formatTime } from '../../components/format.ts';
import { LogView } from '../../components/log/LogView.tsx';
import { NoteEditor } from '../../components/NoteEditor.tsx';
import { StateBadge } from '../../components/StateBadge.tsx';
import { useUrlState } from '../../components/urlState.ts';
import { KubernetesTab, runsInPods } from './KubernetesTab.tsx';
import { XComTab } from './XComTab.tsx';

const TABS = [
  { id: 'logs', label: 'Logs' },
  { id: 'details', label: 'Details' },
  { id: 'tries', label: 'Try history' },
  { id: 'why', label: "Why isn't it running?" },
  { id: 'rendered', label: 'Rendered templates' },
  { id: 'xcom', label: 'XCom' },
  { id: 'k8s', label: 'Kubernetes' },
] as const;
type Tab = (typeof TABS)[number]['id'];

interface TiRef {
  dagId: string;
  dagRunId: string;
  taskId: string;
  mapIndex: number;
}

function useTaskInstance(r: TiRef) {
  return useQuery({
    queryKey: [...liveKeys.taskInstance(r.dagId, r.dagRunId, r.taskId), r.mapIndex],
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}', { params: { path: { dagId: r.dagId, dagRunId: r.dagRunId, taskId: r.taskId }, query: { mapIndex: r.mapIndex } }, signal })),
  });
}

export function TaskInstancePage() {
  const { dagId = '', runId = '', taskId = '' } = useParams();
  const u = useUrlState();
  const tab = (TABS.some((t) => t.id === u.get('tab')) ? u.get('tab') : 'logs') as Tab;
  const ref: TiRef = { dagId, dagRunId: runId, taskId, mapIndex: u.getInt('map', -1) };
  useLiveChanges(dagId);
  const ti = useTaskInstance(ref);
  const tryNumber = u.getInt('try', Math.max(1, ti.data?.tryNumber ?? 1));
  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/dags">DAGs</Link> / <Link to={`/dags/${encodeURIComponent(dagId)}`}>{dagId}</Link> / <Link to={`/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(runId)}`}>{runId}</Link> / <span aria-current="page">{taskId}</span>
      </nav>
      <header className="dag-header">
        <h1>{taskId}</h1>
        {ti.data ? (
          <>
            <StateBadge state={ti.data.state} />
            <span className="muted">
              try {ti.data.tryNumber} of {ti.data.maxTries}
            </span>
            <span className="muted">{ti.data.operator}</span>
          </>
        ) : null}
        <Actions r={ref} logicalDate={ti.data?.logicalDate} />
      </header>
      {ti.isError ? (
        <p role="alert" className="error-box">
          {ti.error.message}
        </p>
      ) : null}
      {ti.data ? <TiNote r={ref} ti={ti.data} /> : null}
      <div className="tabs" role="tablist" aria-label="Task instance views">
        {TABS.filter((t) => t.id !== 'k8s' || (ti.data && runsInPods(ti.data))).map((t) => (
          <button key={t.id} type="button" role="tab" id={`tab-${t.id}`} aria-selected={tab === t.id} aria-controls="ti-panel" className={`tab tab-button ${tab === t.id ? 'active' : ''}`} onClick={() => u.set({ tab: t.id === 'logs' ? undefined : t.id })}>
            {t.label}
          </button>
        ))}
      </div>
      <div id="ti-panel" role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === 'logs' && ti.data ? (
          <>
            <label className="field inline try-picker">
              <span>Try</span>
              <select value={tryNumber} onChange={(e) => u.set({ try: e.target.value })}>
                {Array.from({ length: Math.max(1, ti.data.tryNumber) }, (_, i) => i + 1).map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </label>
            {ti.data.state === 'none' || ti.data.state === 'scheduled' || (ti.data.tryNumber === 0 && ti.data.state === 'queued') ? (
              <p className="muted">This task has not started yet: see “Why isn't it running?”.</p>
            ) : (
              <LogView tryRef={{ ...ref, tryNumber }} />
            )}
          </>
        ) : null}
        {tab === 'details' && ti.data ? <Details ti={ti.data} /> : null}
        {tab === 'tries' ? <Tries r={ref} /> : null}
        {tab === 'why' ? <Dependencies r={ref} /> : null}
        {tab === 'rendered' ? <Rendered r={ref} tryNumber={tryNumber} /> : null}
        {tab === 'xcom' ? <XComTab r={ref} /> : null}
        {tab === 'k8s' && ti.data ? <KubernetesTab t={{ ...ref, tryNumber }} active={['queued', 'running', 'deferred', 'up_for_reschedule'].includes(ti.data.state)} /> : null}
      </div>
    </>
  );
}

type TaskInstance = NonNullable<ReturnType<typeof useTaskInstance>['data']>;

/** The instance's note: shown to all, edited in place by a role that may edit task instances. */
function TiNote({ r, ti }: { r: TiRef; ti: TaskInstance }) {
  const me = useMe().data;
  const qc = useQueryClient();
  const name = r.mapIndex >= 0 ? `${r.taskId} [${r.mapIndex}]` : r.taskId;
  return (
    <section className="card ti-note" aria-labelledby="ti-note-title">
      <h2 id="ti-note-title">Note</h2>
      <NoteEditor
        label={`Note of task ${name} in run ${r.dagRunId}`}
        note={ti.note}
        meta={ti.noteUpdatedBy ? `set by ${ti.noteUpdatedBy}, ${formatTime(ti.noteUpdatedAt)}` : undefined}
        mayEdit={can(me, 'task_instance', 'edit')}
        onSave={async (note) => {
          const saved = await data(api.PATCH('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/note', { params: { path: { dagId: r.dagId, dagRunId: r.dagRunId, taskId: r.taskId }, query: { mapIndex: r.mapIndex } }, body: { note } }));
          qc.setQueryData([...liveKeys.taskInstance(r.dagId, r.dagRunId, r.taskId), r.mapIndex], saved);
          await qc.invalidateQueries({ queryKey: liveKeys.taskInstances(r.dagId) });
        }}
      />
    </section>
  );
}

/** Failures the platform caused, as opposed to the task's own code. */
const PLATFORM_FAILURES = /oom|evict|image|heartbeat|node|pod|schedul|timeout|lost|zombie|executor/i;

function Details({ ti }: { ti: TaskInstance }) {
  const kind = ti.failureReason ? (PLATFORM_FAILURES.test(ti.failureReason) ? 'platform' : 'user code') : undefined;
  return (
    <section className="card" aria-label="Details">
      <dl className="details">
        <dt>State</dt>
        <dd>
          <StateBadge state={ti.state} />
        </dd>
        {ti.failureReason ? (
          <>
            <dt>Failure</dt>
            <dd>
              <strong>{ti.failureReason}</strong> ({kind}){ti.exitCode !== null ? `, exit code ${ti.exitCode}` : ''}
            </dd>
          </>
        ) : null}
        <dt>Operator</dt>
        <dd>{ti.operator}</dd>
        <dt>Tries</dt>
        <dd>
          {ti.tryNumber} of {ti.maxTries}
          {ti.nextRetryAt ? `, next retry ${formatTime(ti.nextRetryAt)}` : ''}
        </dd>
        <dt>Executor</dt>
        <dd>{ti.executor ?? '—'}</dd>
        <dt>Host / pod</dt>
        <dd>{[ti.hostname, ti.externalExecutorId].filter(Boolean).join(' · ') || '—'}</dd>
        <dt>Pool</dt>
        <dd>
          {ti.pool} ({ti.poolSlots} slot{ti.poolSlots === 1 ? '' : 's'}), queue {ti.queue}, priority {ti.priorityWeight}
        </dd>
        <dt>Queued</dt>
        <dd>{formatTime(ti.queuedAt)}</dd>
        <dt>Started</dt>
        <dd>{formatTime(ti.startDate)}</dd>
        <dt>Ended</dt>
        <dd>{formatTime(ti.endDate)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(ti.durationMs)}</dd>
        {ti.mapIndex >= 0 ? (
          <>
            <dt>Map index</dt>
            <dd>{ti.mapIndex}</dd>
          </>
        ) : null}
      </dl>
    </section>
  );
}

function Tries({ r }: { r: TiRef }) {
  const u = useUrlState();
  const tries = useQuery({
    queryKey: [...liveKeys.taskInstance(r.dagId, r.dagRunId, r.taskId), 'tries', r.mapIndex],
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries', { params: { path: { dagId: r.dagId, dagRunId: r.dagRunId, taskId: r.taskId }, query: { mapIndex: r.mapIndex } }, signal })),
  });
  if (tries.isError) return <p role="alert">{tries.error.message}</p>;
  const list = tries.data?.taskInstances ?? [];
  return (
    <table className="table">
      <caption className="visually-hidden">Tries of {r.taskId}</caption>
      <thead>
        <tr>
          <th scope="col">Try</th>
          <th scope="col">State</th>
          <th scope="col">Started</th>
          <th scope="col">Duration</th>
          <th scope="col">Host / pod</th>
          <th scope="col">Failure</th>
          <th scope="col">Log</th>
        </tr>
      </thead>
      <tbody>
        {list.map((t) => (
          <tr key={t.tryNumber}>
            <td>{t.tryNumber}</td>
            <td>
              <StateBadge state={t.state} />
            </td>
            <td>{formatTime(t.startDate)}</td>
            <td>{formatDuration(t.durationMs)}</td>
            <td>{[t.hostname, t.externalExecutorId].filter(Boolean).join(' · ') || '—'}</td>
            <td>{t.failureReason ? `${t.failureReason}${t.exitCode !== null ? ` (exit ${t.exitCode})` : ''}` : '—'}</td>
            <td>
              <button type="button" className="button small" onClick={() => u.set({ tab: undefined, try: t.tryNumber })}>
                Log of try {t.tryNumber}
              </button>
            </td>
          </tr>
        ))}
        {tries.isSuccess && list.length === 0 ? (
          <tr>
            <td colSpan={7} className="muted">
              No try has started yet.
            </td>
          </tr>
        ) : null}
      </tbody>
    </table>
  );
}

function Dependencies({ r }: { r: TiRef }) {
  const deps = useQuery({
    queryKey: [...liveKeys.taskInstance(r.dagId, r.dagRunId, r.taskId), 'deps', r.mapIndex],
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/dependencies', { params: { path: { dagId: r.dagId, dagRunId: r.dagRunId, taskId: r.taskId }, query: { mapIndex: r.mapIndex } }, signal })),
  });
  if (deps.isError) return <p role="alert">{deps.error.message}</p>;
  if (!deps.data) return <p role="status">Loading…</p>;
  return (
    <section className="card" aria-label="Why this task is not running">
      {deps.data.dependencies.length === 0 ? (
        <p>
          Nothing holds it back (state <StateBadge state={deps.data.state} />
          ).
        </p>
      ) : (
        <ul className="deps">
          {deps.data.dependencies.map((d) => (
            <li key={d.code + d.message}>
              <code>{d.code}</code> {d.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Rendered({ r, tryNumber }: { r: TiRef; tryNumber: number }) {
  const rendered = useQuery({
    queryKey: [...liveKeys.taskInstance(r.dagId, r.dagRunId, r.taskId), 'rendered', r.mapIndex, tryNumber],
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/renderedFields', { params: { path: { dagId: r.dagId, dagRunId: r.dagRunId, taskId: r.taskId }, query: { mapIndex: r.mapIndex, tryNumber } }, signal })),
    retry: false,
  });
  if (rendered.isError) return <p className="muted">{rendered.error.message}</p>;
  if (!rendered.data) return <p role="status">Loading…</p>;
  return (
    <pre className="card code-block" aria-label="Rendered template fields">
      {JSON.stringify(rendered.data, null, 2)}
    </pre>
  );
}

/** What else an action reaches: along the graph (upstream, downstream) and across runs by logical date (past, future). */
interface Reach {
  upstream: boolean;
  downstream: boolean;
  past: boolean;
  future: boolean;
}
const NO_REACH: Reach = { upstream: false, downstream: false, past: false, future: false };
type Action = ({ kind: 'clear'; onlyFailed: boolean } | { kind: 'mark'; state: 'success' | 'failed' }) & Reach;

/** Clear and mark, each shown first as the server's dry run so the user sees what will change. */
function Actions({ r, logicalDate }: { r: TiRef; logicalDate: string | null | undefined }) {
  const me = useMe().data;
  const qc = useQueryClient();
  const [action, setAction] = useState<Action | undefined>();
  const run = async (a: Action, dryRun: boolean) => {
    const path = { dagId: r.dagId, dagRunId: r.dagRunId, taskId: r.taskId };
    if (a.kind === 'clear') {
      // Past/future: every run up to / from this one's logical date instead of this run alone.
      const across = (a.past || a.future) && logicalDate ? { ...(a.past ? {} : { startDate: logicalDate }), ...(a.future ? {} : { endDate: logicalDate }) } : { dagRunId: r.dagRunId };
      const res = await data(api.POST('/dags/{dagId}/clearTaskInstances', { params: { path: { dagId: r.dagId } }, body: { dryRun, ...across, taskIds: [r.taskId], includeDownstream: a.downstream, includeUpstream: a.upstream, onlyFailed: a.onlyFailed } }));
      return res.taskInstances;
    }
    const res = await data(api.PATCH('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}', { params: { path }, body: { newState: a.state, dryRun, includeDownstream: a.downstream, includeUpstream: a.upstream, includePast: a.past, includeFuture: a.future } }));
    return res.taskInstances;
  };
  const preview = useQuery({ queryKey: ['preview', r, action], queryFn: () => run(action as Action, true), enabled: action !== undefined, staleTime: 0, gcTime: 0 });
  const apply = useMutation({
    mutationFn: () => run(action as Action, false),
    onSuccess: async () => {
      setAction(undefined);
      await qc.invalidateQueries({ queryKey: liveKeys.taskInstance(r.dagId, r.dagRunId, r.taskId) });
      await qc.invalidateQueries({ queryKey: liveKeys.grid(r.dagId) });
    },
  });
  if (!can(me, 'task_instance', 'edit')) return null;
  const title = action?.kind === 'clear' ? 'Clear task instances' : action ? `Mark as ${action.state}` : '';
  return (
    <div className="actions">
      <button type="button" className="button" onClick={() => setAction({ kind: 'clear', onlyFailed: false, ...NO_REACH })}>
        Clear
      </button>
      <button type="button" className="button" onClick={() => setAction({ kind: 'mark', state: 'success', ...NO_REACH })}>
        Mark success
      </button>
      <button type="button" className="button danger" onClick={() => setAction({ kind: 'mark', state: 'failed', ...NO_REACH })}>
        Mark failed
      </button>
      <Dialog open={action !== undefined} title={title} onClose={() => setAction(undefined)}>
        {action ? (
          <div className="confirm">
            <div className="reach">
              {(
                [
                  ['upstream', 'Upstream tasks'],
                  ['downstream', 'Downstream tasks'],
                  ['past', 'Earlier runs'],
                  ['future', 'Later runs'],
                ] as const
              ).map(([k, label]) => (
                <label key={k} className="check">
                  <input type="checkbox" checked={action[k]} onChange={(e) => setAction({ ...action, [k]: e.target.checked })} /> {label}
                </label>
              ))}
            </div>
            {action.kind === 'clear' ? (
              <label className="check">
                <input type="checkbox" checked={action.onlyFailed} onChange={(e) => setAction({ ...action, onlyFailed: e.target.checked })} /> Only failed
              </label>
            ) : null}
            {preview.isError ? <p role="alert">{preview.error.message}</p> : null}
            {preview.data ? (
              <>
                <p>
                  {preview.data.length === 0 ? 'Nothing would change.' : `These ${preview.data.length} task instance${preview.data.length === 1 ? '' : 's'} will be ${action.kind === 'clear' ? 'cleared' : `marked ${action.state}`}:`}
                </p>
                <ul className="preview-list">
                  {preview.data.map((t) => (
                    <li key={`${t.dagRunId}|${t.taskId}|${t.mapIndex}`}>
                      <code>{t.taskId}</code>
                      {t.mapIndex >= 0 ? `[${t.mapIndex}]` : ''} in {t.dagRunId} (now {t.previousState})
                    </li>
                  ))}
                </ul>
              </>
            ) : (
              <p role="status">Asking the server what would change…</p>
            )}
            {apply.isError ? (
              <p role="alert" className="error-box">
                {apply.error.message}
              </p>
            ) : null}
            <div className="dialog-actions">
              <button type="button" className="button" onClick={() => setAction(undefined)}>
                Cancel
              </button>
              <button type="button" className="button primary" disabled={!preview.data || preview.data.length === 0 || apply.isPending} onClick={() => apply.mutate()}>
                Confirm
              </button>
            </div>
          </div>
        ) : null}
      </Dialog>
    </div>
  );
}
