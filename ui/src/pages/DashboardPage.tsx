/** The dashboard: is the installation healthy (metadata database, scheduler heartbeat). */
import { useQuery } from '@tanstack/react-query';
import { formatAgo, formatTime } from '../components/format.ts';

interface HealthReport {
  status: 'healthy' | 'unhealthy';
  metadatabase: { status: 'healthy' | 'unhealthy'; error?: string };
  scheduler: { status: 'healthy' | 'unhealthy'; latestHeartbeat: string | null };
}

/** `/health` answers 503 with the same report when unhealthy: read it either way. */
async function health(signal: AbortSignal): Promise<HealthReport> {
  const res = await fetch('/health', { signal, headers: { accept: 'application/json' } });
  return (await res.json()) as HealthReport;
}

export function DashboardPage() {
  const h = useQuery({ queryKey: ['health'], queryFn: ({ signal }) => health(signal), refetchInterval: 10_000 });
  return (
    <>
      <h1>Dashboard</h1>
      <section className="card" aria-labelledby="health-title">
        <h2 id="health-title">Health</h2>
        {h.isPending ? <p role="status">Loading…</p> : null}
        {h.isError ? (
          <p role="alert" className="error-box">
            {h.error.message}
          </p>
        ) : null}
        {h.data ? (
          <ul className="health-list">
            <HealthItem name="Metadata database" ok={h.data.metadatabase.status === 'healthy'} detail={h.data.metadatabase.error ?? 'answering'} />
            <HealthItem
              name="Scheduler"
              ok={h.data.scheduler.status === 'healthy'}
              detail={h.data.scheduler.latestHeartbeat ? `heartbeat ${formatAgo(h.data.scheduler.latestHeartbeat)} (${formatTime(h.data.scheduler.latestHeartbeat)})` : 'no heartbeat'}
            />
          </ul>
        ) : null}
      </section>
    </>
  );
}

function HealthItem({ name, ok, detail }: { name: string; ok: boolean; detail: string }) {
  return (
    <li className="health-item" data-testid={`health-${name}`}>
      <span className={`state-dot ${ok ? 'state-success' : 'state-failed'}`} aria-hidden="true" />
      <strong>{name}</strong> <span className={ok ? 'ok-text' : 'bad-text'}>{ok ? 'healthy' : 'unhealthy'}</span>
      <span className="muted"> — {detail}</span>
    </li>
  );
}
