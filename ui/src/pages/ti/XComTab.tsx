/**
 * The XCom entries a task instance pushed: key, size and when, each value read on demand as the server
 * answers it (secrets masked as in task logs — the UI never sees the unmasked value).
 */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { liveKeys } from '../../api/events.ts';
import { api, data } from '../../api/v2.ts';
import { formatTime } from '../../components/format.ts';
import '../../views.css';

interface TiRef {
  dagId: string;
  dagRunId: string;
  taskId: string;
  mapIndex: number;
}

/** `512 B`, `3.4 KiB`, `1.2 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function XComTab({ r }: { r: TiRef }) {
  const path = { dagId: r.dagId, dagRunId: r.dagRunId, taskId: r.taskId };
  const query = { mapIndex: r.mapIndex, limit: 100, offset: 0 };
  const entries = useQuery({
    queryKey: [...liveKeys.taskInstance(r.dagId, r.dagRunId, r.taskId), 'xcom', query],
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries', { params: { path, query }, signal })),
  });
  if (entries.isError) return <p role="alert" className="error-box">{entries.error.message}</p>;
  if (!entries.data) return <p role="status">Loading XCom entries…</p>;
  const list = entries.data.xcomEntries;
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">XCom entries of {r.taskId}</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Size</th>
            <th scope="col">Pushed</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {list.map((e) => (
            <tr key={e.key} data-xcom-key={e.key}>
              <td>
                <code>{e.key}</code>
              </td>
              <td className="nowrap">{formatBytes(e.sizeBytes)}</td>
              <td className="nowrap">{formatTime(e.timestamp)}</td>
              <td>
                <XComValue r={r} xcomKey={e.key} />
              </td>
            </tr>
          ))}
          {list.length === 0 ? (
            <tr>
              <td colSpan={4} className="muted">
                This task instance pushed no XCom.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {entries.data.totalEntries > list.length ? <p className="muted">The first {list.length} of {entries.data.totalEntries} entries.</p> : null}
    </div>
  );
}

export function XComValue({ r, xcomKey }: { r: TiRef; xcomKey: string }) {
  const [open, setOpen] = useState(false);
  const value = useQuery({
    queryKey: [...liveKeys.taskInstance(r.dagId, r.dagRunId, r.taskId), 'xcomValue', r.mapIndex, xcomKey],
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries/{xcomKey}', { params: { path: { dagId: r.dagId, dagRunId: r.dagRunId, taskId: r.taskId, xcomKey }, query: { mapIndex: r.mapIndex } }, signal })),
    enabled: open,
  });
  return (
    <>
      <button type="button" className="button small" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'Hide' : 'Show'} <span className="visually-hidden">value of {xcomKey}</span>
      </button>
      {open ? (
        value.isError ? (
          <p role="alert">{value.error.message}</p>
        ) : value.data ? (
          <pre className="code-block xcom-value" tabIndex={0} aria-label={`Value of ${xcomKey}`}>
            {JSON.stringify(value.data.value, null, 2)}
          </pre>
        ) : (
          <span role="status"> loading…</span>
        )
      ) : null}
    </>
  );
}
