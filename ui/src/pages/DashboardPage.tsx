/**
 * The dashboard: health of every role (metadata database, scheduler, triggerer, DAG processor) with their
 * heartbeats, DAG import errors, pool usage, and run and task-instance counts by state — refreshed live by
 * the events stream.
 */
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { can } from '../api/auth.ts';
import { useLiveChanges } from '../api/events.ts';
import { api, data } from '../api/v2.ts';
import { useMe } from '../auth/session.tsx';
import { formatAgo, formatTime } from '../components/format.ts';
import { StateBadge } from '../components/StateBadge.tsx';

const RUN_STATES = ['queued', 'running', 'success', 'failed'] as const;
const TI_STATES = ['scheduled', 'queued', 'running', 'deferred', 'up_for_retry', 'success', 'failed', 'upstream_failed', 'skipped'] as const;

export function DashboardPage() {
  const me = useMe().data;
  useLiveChanges('~');
  const health = useQuery({ queryKey: ['health'], queryFn: ({ signal }) => data(api.GET('/monitor/health', { signal })), refetchInterval: 10_000 });
  const importErrors = useQuery({ queryKey: ['importErrors', 'count'], queryFn: ({ signal }) => data(api.GET('/importErrors', { params: { query: { limit: 5 } }, signal })), enabled: can(me, 'import_error', 'read') });
  const pools = useQuery({ queryKey: ['pools', 'dashboard'], queryFn: ({ signal }) => data(api.GET('/pools', { params: { query: { limit: 10 } }, signal })), enabled: can(me, 'pool', 'read'), refetchInterval: 10_000 });
  const runCounts = useQuery({
    queryKey: ['runs', '~', 'counts'],
    queryFn: async ({ signal }) => Promise.all(RUN_STATES.map(async (state) => [state, (await data(api.GET('/dags/{dagId}/dagRuns', { params: { path: { dagId: '~' }, query: { limit: 1, state: [state] } }, signal }))).totalEntries] as const)),
  });
  const tiCounts = useQuery({
    queryKey: ['tis', '~', 'counts'],
    queryFn: async ({ signal }) => Promise.all(TI_STATES.map(async (state) => [state, (await data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances', { params: { path: { dagId: '~', dagRunId: '~' }, query: { limit: 1, state: [state] } }, signal }))).totalEntries] as const)),
  });
  const h = health.data;
  return (
    <>
      <h1>Dashboard</h1>
      <div className="dashboard">
        <section className="card" aria-labelledby="health-title">
          <h2 id="health-title">Health</h2>
          {health.isError ? (
            <p role="alert" className="error-box">
              {health.error.message}
            </p>
          ) : null}
          {h ? (
            <ul className="health-list">
              <HealthItem name="Metadata database" ok={h.metadatabase.status === 'healthy'} heartbeat={undefined} />
              <HealthItem name="Scheduler" ok={h.scheduler.status === 'healthy'} heartbeat={h.scheduler.latestHeartbeat} />
              <HealthItem name="Triggerer" ok={h.triggerer.status === 'healthy'} heartbeat={h.triggerer.latestHeartbeat} />
              <HealthItem name="DAG processor" ok={h.dagProcessor.status === 'healthy'} heartbeat={h.dagProcessor.latestHeartbeat} />
            </ul>
          ) : (
            <p role="status">Loading…</p>
          )}
        </section>
        <section className="card" aria-labelledby="runs-title">
          <h2 id="runs-title">DAG runs by state</h2>
          <ul className="count-list">
            {(runCounts.data ?? []).map(([state, n]) => (
              <li key={state}>
                <Link to={`/runs?state=${state}`}>
                  <StateBadge state={state} /> <strong>{n}</strong>
                </Link>
              </li>
            ))}
          </ul>
          <h2>Task instances by state</h2>
          <ul className="count-list">
            {(tiCounts.data ?? []).map(([state, n]) => (
              <li key={state}>
                <Link to={`/task-instances?tiState=${state}`}>
                  <StateBadge state={state} /> <strong>{n}</strong>
                </Link>
              </li>
            ))}
          </ul>
        </section>
        {importErrors.data ? (
          <section className="card" aria-labelledby="ie-title">
            <h2 id="ie-title">Import errors</h2>
            {importErrors.data.totalEntries === 0 ? (
              <p className="ok-text">Every DAG file parses.</p>
            ) : (
              <p>
                <Link to="/browse/import-errors" className="bad-text">
                  {importErrors.data.totalEntries} DAG file{importErrors.data.totalEntries === 1 ? '' : 's'} failed to parse
                </Link>
                : {importErrors.data.importErrors.map((e) => e.filename.split('/').pop()).join(', ')}
              </p>
            )}
          </section>
        ) : null}
        {pools.data ? (
          <section className="card" aria-labelledby="pools-title">
            <h2 id="pools-title">Pools</h2>
            <table className="table compact">
              <caption className="visually-hidden">Pool usage</caption>
              <thead>
                <tr>
                  <th scope="col">Pool</th>
                  <th scope="col">Running</th>
                  <th scope="col">Queued</th>
                  <th scope="col">Deferred</th>
                  <th scope="col">Open</th>
                </tr>
              </thead>
              <tbody>
                {pools.data.pools.map((p) => (
                  <tr key={p.name}>
                    <td>{p.name}</td>
                    <td>{p.runningSlots}</td>
                    <td>{p.queuedSlots}</td>
                    <td>{p.deferredSlots}</td>
                    <td>{p.slots < 0 ? '∞' : `${p.openSlots} of ${p.slots}`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ) : null}
      </div>
    </>
  );
}

function HealthItem({ name, ok, heartbeat }: { name: string; ok: boolean; heartbeat: string | null | undefined }) {
  return (
    <li className="health-item">
      <span className={`state-dot ${ok ? 'state-success' : 'state-failed'}`} aria-hidden="true" />
      <strong>{name}</strong> <span className={ok ? 'ok-text' : 'bad-text'}>{ok ? 'healthy' : 'unhealthy'}</span>
      {heartbeat !== undefined ? <span className="muted"> — {heartbeat ? `heartbeat ${formatAgo(heartbeat)} (${formatTime(heartbeat)})` : 'no heartbeat'}</span> : null}
    </li>
  );
}
