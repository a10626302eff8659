/**
 * One DAG: its header (pause switch, schedule, tags) and tabs, each a path under /dags/<id>/ so a tab is
 * a deep link (`/dags/example_bash/details`).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useLiveChanges } from '../../api/events.ts';
import { can } from '../../api/auth.ts';
import { ApiError } from '../../api/http.ts';
import { api, data, type Schemas } from '../../api/v2.ts';
import { useMe } from '../../auth/session.tsx';
import { formatTime } from '../../components/format.ts';
import { useUrlState } from '../../components/urlState.ts';
import { RunsTable } from '../runs/RunsTable.tsx';
import { BackfillsView } from './BackfillsView.tsx';
import { CalendarView } from './CalendarView.tsx';
import { CodeView } from './CodeView.tsx';
import { DagAuditView } from './DagAuditView.tsx';
import { GanttView } from './GanttView.tsx';
import { GridView } from './GridView.tsx';
import { TriggerDialog } from './TriggerDialog.tsx';

// The graph (React Flow and the ELK worker) loads only when its tab is opened.
const GraphView = lazy(() => import('./GraphView.tsx').then((m) => ({ default: m.GraphView })));

export function dagQueryKey(dagId: string) {
  return ['dag', dagId] as const;
}

export function useDag(dagId: string) {
  return useQuery({ queryKey: dagQueryKey(dagId), queryFn: ({ signal }) => data(api.GET('/dags/{dagId}', { params: { path: { dagId } }, signal })) });
}

/** The DAG's views; `needs` is the permission a tab takes beyond reading the DAG. */
const TABS: ReadonlyArray<{ id: string; label: string; needs?: string }> = [
  { id: 'grid', label: 'Grid' },
  { id: 'graph', label: 'Graph' },
  { id: 'gantt', label: 'Gantt' },
  { id: 'calendar', label: 'Calendar' },
  { id: 'runs', label: 'Runs' },
  { id: 'backfills', label: 'Backfills' },
  { id: 'code', label: 'Code' },
  { id: 'audit', label: 'Audit log', needs: 'audit_log:read' },
  { id: 'details', label: 'Details' },
];

export function DagPage() {
  const { dagId = '', tab = 'grid' } = useParams();
  const dag = useDag(dagId);
  const me = useMe().data;
  useLiveChanges(dagId);
  if (dag.isError) {
    return (
      <>
        <h1>{dagId}</h1>
        <p role="alert" className="error-box">
          {dag.error instanceof ApiError && dag.error.status === 404 ? `There is no DAG '${dagId}' (or you may not see it).` : dag.error.message}
        </p>
        <Link to="/dags">Back to the DAG list</Link>
      </>
    );
  }
  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/dags">DAGs</Link> <span aria-hidden="true">/</span> <span aria-current="page">{dagId}</span>
      </nav>
      <DagHeader dagId={dagId} dag={dag.data} />
      <nav aria-label="DAG views" className="tabs">
        {TABS.filter((t) => t.needs === undefined || me?.permissions.includes(t.needs)).map((t) => (
          <Link key={t.id} to={`/dags/${encodeURIComponent(dagId)}/${t.id}`} className={`tab ${tab === t.id ? 'active' : ''}`} aria-current={tab === t.id ? 'page' : undefined}>
            {t.label}
          </Link>
        ))}
      </nav>
      {tab === 'grid' ? <GridView dagId={dagId} /> : null}
      {tab === 'graph' ? (
        <Suspense fallback={<p role="status">Loading the graph…</p>}>
          <GraphView dagId={dagId} />
        </Suspense>
      ) : null}
      {tab === 'gantt' ? <GanttView dagId={dagId} /> : null}
      {tab === 'calendar' ? <CalendarView dagId={dagId} /> : null}
      {tab === 'runs' ? <RunsTable dagId={dagId} /> : null}
      {tab === 'backfills' ? <BackfillsView dagId={dagId} /> : null}
      {tab === 'code' ? <CodeView dagId={dagId} /> : null}
      {tab === 'audit' ? <DagAuditView dagId={dagId} /> : null}
      {dag.data && tab === 'details' ? <DagDetails dag={dag.data} /> : null}
    </>
  );
}

function DagHeader({ dagId, dag }: { dagId: string; dag: Schemas['Dag'] | undefined }) {
  const me = useMe().data;
  const qc = useQueryClient();
  const navigate = useNavigate();
  // `?trigger=1` (the DAG list's trigger buttons) opens the form at once.
  const u = useUrlState();
  const triggering = u.get('trigger') === '1';
  const setTriggering = (open: boolean) => u.set({ trigger: open ? '1' : undefined }, { replace: true });
  const [triggered, setTriggered] = useState<string | undefined>();
  const pause = useMutation({
    mutationFn: (isPaused: boolean) => data(api.PATCH('/dags/{dagId}', { params: { path: { dagId } }, body: { isPaused } })),
    onSuccess: (d) => {
      qc.setQueryData(dagQueryKey(dagId), d);
      return qc.invalidateQueries({ queryKey: ['dags'] });
    },
  });
  return (
    <header className="dag-header">
      <h1>{dagId}</h1>
      {dag ? (
        <>
          <button type="button" role="switch" className="switch" aria-checked={!dag.isPaused} aria-label={`${dagId} active`} disabled={!can(me, 'dag', 'edit') || pause.isPending} onClick={() => pause.mutate(!dag.isPaused)}>
            <span className="switch-knob" aria-hidden="true" />
          </button>
          <span className="muted">{dag.isPaused ? 'paused' : 'active'}</span>
          <span className="muted">
            schedule <code>{dag.timetableSummary ?? 'None'}</code>
          </span>
          {dag.tags.map((t) => (
            <Link key={t} className="tag" to={`/dags?tag=${encodeURIComponent(t)}`}>
              {t}
            </Link>
          ))}
        </>
      ) : null}
      {can(me, 'dag_run', 'create') ? (
        <>
          <button type="button" className="button primary trigger-button" onClick={() => setTriggering(true)}>
            ▶ Trigger
          </button>
          <TriggerDialog
            dagId={dagId}
            open={triggering}
            onClose={() => setTriggering(false)}
            onTriggered={(run) => {
              setTriggered(run.dagRunId);
              void navigate(`/dags/${encodeURIComponent(dagId)}/grid`, { replace: true });
            }}
          />
        </>
      ) : null}
      {triggered ? (
        <p role="status" className="notice-inline">
          Triggered <Link to={`/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(triggered)}`}>{triggered}</Link>
        </p>
      ) : null}
      {pause.isError ? (
        <p role="alert" className="error-box">
          {pause.error.message}
        </p>
      ) : null}
    </header>
  );
}

function DagDetails({ dag }: { dag: Schemas['Dag'] }) {
  return (
    <section className="card" aria-labelledby="details-title">
      <h2 id="details-title">Details</h2>
      <dl className="details">
        <dt>Description</dt>
        <dd>{dag.description ?? '—'}</dd>
        <dt>Owners</dt>
        <dd>{dag.owners.join(', ')}</dd>
        <dt>Schedule</dt>
        <dd>
          <code>{dag.timetableSummary ?? 'None'}</code>
        </dd>
        <dt>Next data interval</dt>
        <dd>{dag.nextDagrunDataIntervalStart ? `${formatTime(dag.nextDagrunDataIntervalStart)} → ${formatTime(dag.nextDagrunDataIntervalEnd)}` : '—'}</dd>
        <dt>Max active runs</dt>
        <dd>{dag.maxActiveRuns}</dd>
        <dt>Max active tasks</dt>
        <dd>{dag.maxActiveTasks}</dd>
        <dt>File</dt>
        <dd>
          <code>{dag.fileloc}</code>
        </dd>
        <dt>Last parsed</dt>
        <dd>{formatTime(dag.lastParsedTime)}</dd>
      </dl>
    </section>
  );
}
