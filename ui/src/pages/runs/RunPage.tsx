/** One DAG run: state, dates, conf and note, "clear run" (confirmed by the server's dry run), and its task instances. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { can } from '../../api/auth.ts';
import { liveKeys, useLiveChanges } from '../../api/events.ts';
import { api, data } from '../../api/v2.ts';
import { useMe } from '../../auth/session.tsx';
import { Dialog } from '../../components/Dialog.tsx';
import { formatDuration, formatTime } from '../../components/format.ts';
import { NoteEditor } from '../../components/NoteEditor.tsx';
import { StateBadge } from '../../components/StateBadge.tsx';
import { TaskInstancesTable } from './TaskInstancesTable.tsx';

export function RunPage() {
  const { dagId = '', runId = '' } = useParams();
  useLiveChanges(dagId);
  const me = useMe().data;
  const qc = useQueryClient();
  const run = useQuery({ queryKey: liveKeys.run(dagId, runId), queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}', { params: { path: { dagId, dagRunId: runId } }, signal })) });
  const r = run.data;
  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/dags">DAGs</Link> / <Link to={`/dags/${encodeURIComponent(dagId)}`}>{dagId}</Link> / <span aria-current="page">{runId}</span>
      </nav>
      <header className="dag-header">
        <h1>{runId}</h1>
        {r ? <StateBadge state={r.state} /> : null}
        <ClearRun dagId={dagId} runId={runId} />
      </header>
      {run.isError ? (
        <p role="alert" className="error-box">
          {run.error.message}
        </p>
      ) : null}
      {r ? (
        <section className="card" aria-label="Run details">
          <dl className="details">
            <dt>Type</dt>
            <dd>{r.runType}</dd>
            <dt>Logical date</dt>
            <dd>{formatTime(r.logicalDate)}</dd>
            <dt>Started</dt>
            <dd>{formatTime(r.startDate)}</dd>
            <dt>Ended</dt>
            <dd>{formatTime(r.endDate)}</dd>
            <dt>Duration</dt>
            <dd>{formatDuration(r.durationMs)}</dd>
            <dt>Timeline</dt>
            <dd>
              <Link to={`/dags/${encodeURIComponent(dagId)}/gantt?run=${encodeURIComponent(runId)}`}>Gantt chart of this run</Link>
            </dd>
            <dt>Conf</dt>
            <dd>
              <code>{JSON.stringify(r.conf)}</code>
            </dd>
            <dt>Note</dt>
            <dd>
              <NoteEditor
                label={`Note of run ${runId}`}
                note={r.note}
                mayEdit={can(me, 'dag_run', 'edit')}
                onSave={async (note) => {
                  const saved = await data(api.PATCH('/dags/{dagId}/dagRuns/{dagRunId}', { params: { path: { dagId, dagRunId: runId } }, body: { note } }));
                  qc.setQueryData(liveKeys.run(dagId, runId), saved);
                  await qc.invalidateQueries({ queryKey: liveKeys.runs(dagId) });
                }}
              />
            </dd>
          </dl>
        </section>
      ) : null}
      <h2>Task instances</h2>
      <TaskInstancesTable dagId={dagId} dagRunId={runId} />
    </>
  );
}

function ClearRun({ dagId, runId }: { dagId: string; runId: string }) {
  const me = useMe().data;
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [onlyFailed, setOnlyFailed] = useState(false);
  const clear = (dryRun: boolean) => data(api.POST('/dags/{dagId}/dagRuns/{dagRunId}/clear', { params: { path: { dagId, dagRunId: runId } }, body: { dryRun, onlyFailed } }));
  const preview = useQuery({ queryKey: ['clearRunPreview', dagId, runId, onlyFailed], queryFn: () => clear(true), enabled: open, staleTime: 0, gcTime: 0 });
  const apply = useMutation({
    mutationFn: () => clear(false),
    onSuccess: async () => {
      setOpen(false);
      await qc.invalidateQueries({ queryKey: liveKeys.run(dagId, runId) });
      await qc.invalidateQueries({ queryKey: liveKeys.taskInstances(dagId) });
    },
  });
  if (!can(me, 'task_instance', 'edit')) return null;
  return (
    <div className="actions">
      <button type="button" className="button" onClick={() => setOpen(true)}>
        Clear run
      </button>
      <Dialog open={open} title={`Clear run ${runId}`} onClose={() => setOpen(false)}>
        <div className="confirm">
          <label className="check">
            <input type="checkbox" checked={onlyFailed} onChange={(e) => setOnlyFailed(e.target.checked)} /> Only failed tasks
          </label>
          {preview.data ? (
            <>
              <p>{preview.data.taskInstances.length === 0 ? 'Nothing would be cleared.' : `These ${preview.data.taskInstances.length} task instances will be cleared:`}</p>
              <ul className="preview-list">
                {preview.data.taskInstances.map((t) => (
                  <li key={`${t.taskId}|${t.mapIndex}`}>
                    <code>{t.taskId}</code>
                    {t.mapIndex >= 0 ? `[${t.mapIndex}]` : ''} (now {t.previousState})
                  </li>
                ))}
              </ul>
            </>
          ) : preview.isError ? (
            <p role="alert">{preview.error.message}</p>
          ) : (
            <p role="status">Asking the server what would change…</p>
          )}
          {apply.isError ? <p role="alert">{apply.error.message}</p> : null}
          <div className="dialog-actions">
            <button type="button" className="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
            <button type="button" className="button primary" disabled={!preview.data || preview.data.taskInstances.length === 0 || apply.isPending} onClick={() => apply.mutate()}>
              Confirm
            </button>
          </div>
        </div>
      </Dialog>
    </div>
  );
}
