/**
 * The Kubernetes side of a pod-based try (`?tab=k8s&pod=&container=`): its pods (the executor's worker pod
 * and the pods its operator made) with name, namespace, node and phase; each container's state with exit
 * code and reason (OOMKilled, ImagePullBackOff…); the pod's events; and the container's log as the kubelet
 * has it, followed live over Server-Sent Events until the container ends. Pod statuses are not in the
 * events stream, so they are re-read every few seconds while the try is active.
 */
import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { liveKeys } from '../../api/events.ts';
import { ApiError } from '../../api/http.ts';
import { api, data, type Schemas } from '../../api/v2.ts';
import { formatTime } from '../../components/format.ts';
import { useUrlState } from '../../components/urlState.ts';
import '../../views.css';

interface TryRef {
  dagId: string;
  dagRunId: string;
  taskId: string;
  mapIndex: number;
  tryNumber: number;
}

/** Container reasons that mean the platform, not the task's code, ended or holds the container. */
const TROUBLE = /OOMKilled|ImagePull|ErrImage|CrashLoop|CreateContainer|Evicted|Error|DeadlineExceeded|ContainerCannotRun/;

/** True for an operator or executor whose tries run in pods (the tab is offered for those only). */
export function runsInPods(ti: { executor: string | null; operator: string }): boolean {
  return /kubernetes/i.test(ti.executor ?? '') || /Kubernetes|Pod|Job/.test(ti.operator);
}

function ErrorNote({ error }: { error: Error }) {
  return (
    <p role="alert" className={error instanceof ApiError && error.status === 404 ? 'muted' : 'error-box'}>
      {error.message}
      {error instanceof ApiError && error.hint ? ` (${error.hint})` : ''}
    </p>
  );
}

export function KubernetesTab({ t, active }: { t: TryRef; active: boolean }) {
  const u = useUrlState();
  const path = { dagId: t.dagId, dagRunId: t.dagRunId, taskId: t.taskId, tryNumber: t.tryNumber };
  const pods = useQuery({
    queryKey: [...liveKeys.taskInstance(t.dagId, t.dagRunId, t.taskId), 'pods', t.mapIndex, t.tryNumber],
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods', { params: { path, query: { mapIndex: t.mapIndex } }, signal })),
    retry: false,
    refetchInterval: active ? 5000 : false,
  });
  if (pods.isError) return <ErrorNote error={pods.error} />;
  if (!pods.data) return <p role="status">Asking the cluster for the try's pods…</p>;
  const list = pods.data.pods;
  const pod = list.find((p) => p.name === u.get('pod')) ?? list[0];
  if (!pod) return <p className="muted">This try has no pod.</p>;
  return (
    <div className="k8s">
      {list.length > 1 ? (
        <label className="field inline">
          <span>Pod</span>
          <select value={pod.name} onChange={(e) => u.set({ pod: e.target.value, container: undefined })}>
            {list.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name} ({p.kind ?? 'pod'}, {p.phase ?? 'unknown'})
              </option>
            ))}
          </select>
        </label>
      ) : null}
      <PodSummary pod={pod} />
      <Containers pod={pod} />
      <PodEvents t={t} pod={pod.name} active={active} />
      <PodLog t={t} pod={pod} />
    </div>
  );
}

function PodSummary({ pod }: { pod: Schemas['PodSummary'] }) {
  return (
    <section className="card" aria-label="Pod">
      <dl className="details">
        <dt>Pod</dt>
        <dd>
          <code>{pod.name}</code>
          {pod.kind ? <span className="muted"> ({pod.kind})</span> : null}
        </dd>
        <dt>Namespace</dt>
        <dd>{pod.namespace}</dd>
        <dt>Node</dt>
        <dd>{pod.node ?? '— (not scheduled)'}</dd>
        <dt>Phase</dt>
        <dd>
          <strong className={pod.phase === 'Failed' ? 'bad-text' : pod.phase === 'Succeeded' ? 'ok-text' : undefined}>{pod.phase ?? 'unknown'}</strong>
          {pod.reason ? ` — ${pod.reason}` : ''}
          {pod.message ? `: ${pod.message}` : ''}
          {pod.deleting ? ' (being deleted)' : ''}
        </dd>
        <dt>Pod IP</dt>
        <dd>{pod.podIp ?? '—'}</dd>
        <dt>Created</dt>
        <dd>{formatTime(pod.createdAt)}</dd>
        <dt>Started</dt>
        <dd>{formatTime(pod.startedAt)}</dd>
      </dl>
    </section>
  );
}

function Containers({ pod }: { pod: Schemas['PodSummary'] }) {
  const rows = [...pod.initContainers.map((c) => ({ ...c, init: true })), ...pod.containers.map((c) => ({ ...c, init: false }))];
  return (
    <section aria-labelledby="k8s-containers">
      <h2 id="k8s-containers">Containers</h2>
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">Containers of {pod.name}</caption>
          <thead>
            <tr>
              <th scope="col">Container</th>
              <th scope="col">State</th>
              <th scope="col">Reason</th>
              <th scope="col">Exit code</th>
              <th scope="col">Restarts</th>
              <th scope="col">Started</th>
              <th scope="col">Finished</th>
              <th scope="col">Image</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={`${c.init ? 'init' : 'main'}|${c.name}`} data-container={c.name}>
                <td>
                  <code>{c.name}</code>
                  {c.init ? <span className="muted"> (init)</span> : null}
                </td>
                <td>{c.state}</td>
                <td>
                  {c.reason ? <strong className={TROUBLE.test(c.reason) ? 'bad-text' : undefined}>{c.reason}</strong> : '—'}
                  {c.message ? <span className="muted small"> {c.message}</span> : null}
                  {c.lastTermination ? (
                    <span className="muted small">
                      {' '}
                      (before: {c.lastTermination.reason ?? 'ended'}, exit {c.lastTermination.exitCode})
                    </span>
                  ) : null}
                </td>
                <td>{c.exitCode ?? '—'}</td>
                <td>{c.restartCount}</td>
                <td className="nowrap">{formatTime(c.startedAt)}</td>
                <td className="nowrap">{formatTime(c.finishedAt)}</td>
                <td className="small">{c.image ?? ''}</td>
              </tr>
            ))}
            {rows.length === 0 ? (
              <tr>
                <td colSpan={8} className="muted">
                  No container has a status yet (the pod may wait to be scheduled: see its events).
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function PodEvents({ t, pod, active }: { t: TryRef; pod: string; active: boolean }) {
  const events = useQuery({
    queryKey: [...liveKeys.taskInstance(t.dagId, t.dagRunId, t.taskId), 'podEvents', t.mapIndex, t.tryNumber, pod],
    queryFn: ({ signal }) =>
      data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods/{podName}/events', { params: { path: { dagId: t.dagId, dagRunId: t.dagRunId, taskId: t.taskId, tryNumber: t.tryNumber, podName: pod }, query: { mapIndex: t.mapIndex } }, signal })),
    retry: false,
    refetchInterval: active ? 5000 : false,
  });
  return (
    <section aria-labelledby="k8s-events">
      <h2 id="k8s-events">Events</h2>
      {events.isError ? <ErrorNote error={events.error} /> : null}
      <div className="table-wrap">
        <table className="table compact">
          <caption className="visually-hidden">Events of {pod}, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Last seen</th>
              <th scope="col">Type</th>
              <th scope="col">Reason</th>
              <th scope="col">Message</th>
              <th scope="col">Count</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {(events.data?.events ?? []).map((e, i) => (
              <tr key={i}>
                <td className="nowrap">{formatTime(e.lastAt)}</td>
                <td className={e.type === 'Warning' ? 'bad-text' : undefined}>{e.type ?? ''}</td>
                <td>{e.reason ?? ''}</td>
                <td>{e.message ?? ''}</td>
                <td>{e.count}</td>
                <td>{e.source ?? ''}</td>
              </tr>
            ))}
            {events.isSuccess && events.data.events.length === 0 ? (
              <tr>
                <td colSpan={6} className="muted">
                  No events (the cluster keeps them about an hour).
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** The container's log: the kubelet's text so far, then what it writes, until the container ends. */
function PodLog({ t, pod }: { t: TryRef; pod: Schemas['PodSummary'] }) {
  const u = useUrlState();
  const names = pod.containers.map((c) => c.name);
  const container = names.find((n) => n === u.get('container')) ?? (names.includes('base') ? 'base' : names[0]);
  const [text, setText] = useState('');
  const [status, setStatus] = useState<{ kind: 'following' | 'ended' | 'failed'; detail?: string }>({ kind: 'following' });
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    if (container === undefined) return;
    setText('');
    setStatus({ kind: 'following' });
    const base = `/api/v2/dags/${encodeURIComponent(t.dagId)}/dagRuns/${encodeURIComponent(t.dagRunId)}/taskInstances/${encodeURIComponent(t.taskId)}/tries/${t.tryNumber}/pods/${encodeURIComponent(pod.name)}/log`;
    const q = new URLSearchParams({ mapIndex: String(t.mapIndex), container, tailLines: '5000' });
    const source = new EventSource(`${base}/stream?${q.toString()}`, { withCredentials: true });
    let opened = false;
    source.addEventListener('open', () => {
      opened = true;
    });
    source.addEventListener('log', (e: MessageEvent<string>) => {
      const { content } = JSON.parse(e.data) as { content: string };
      setText((prev) => prev + content);
    });
    source.addEventListener('end', (e: MessageEvent<string>) => {
      const end = JSON.parse(e.data) as { reason: string; message?: string };
      source.close();
      setStatus({ kind: 'ended', detail: end.reason === 'end' ? 'the container ended' : `the stream ended (${end.reason}${end.message ? `: ${end.message}` : ''})` });
    });
    source.addEventListener('error', () => {
      source.close();
      if (opened) {
        setStatus({ kind: 'ended', detail: 'the connection closed' });
        return;
      }
      // Refused before it opened (a 404 or 409): the plain read says why.
      void data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods/{podName}/log', { params: { path: { dagId: t.dagId, dagRunId: t.dagRunId, taskId: t.taskId, tryNumber: t.tryNumber, podName: pod.name }, query: { mapIndex: t.mapIndex, container } } }))
        .then((r) => {
          setText(r.content);
          setStatus({ kind: 'ended', detail: 'read once; following was refused' });
        })
        .catch((err: unknown) => setStatus({ kind: 'failed', detail: err instanceof Error ? err.message : String(err) }));
    });
    return () => source.close();
  }, [t.dagId, t.dagRunId, t.taskId, t.tryNumber, t.mapIndex, pod.name, container]);
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [text]);
  return (
    <section aria-labelledby="k8s-log">
      <h2 id="k8s-log">Pod log</h2>
      <div className="grid-tools">
        {names.length > 1 ? (
          <label className="field inline">
            <span>Container</span>
            <select value={container} onChange={(e) => u.set({ container: e.target.value })}>
              {names.map((n) => (
                <option key={n}>{n}</option>
              ))}
            </select>
          </label>
        ) : null}
        <span role="status" className="muted">
          {status.kind === 'following' ? '● following live' : status.kind === 'ended' ? `complete: ${status.detail ?? ''}` : ''}
        </span>
      </div>
      {status.kind === 'failed' ? (
        <p role="alert" className="muted">
          {status.detail}
        </p>
      ) : null}
      <pre
        ref={box}
        className="code-block pod-log"
        role="log"
        aria-label={`Log of container ${container ?? ''} of ${pod.name}`}
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {text || (status.kind === 'following' ? 'Waiting for the container to write…' : '')}
      </pre>
    </section>
  );
}
