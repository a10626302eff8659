/**
 * Backfills of a DAG (`/dags/<id>/backfills`): a form whose dry run lists the runs it would make (or
 * re-run, or skip, and why) before anything is created; the DAG's backfills with their progress, pause,
 * unpause and cancel. The form's fields live in the URL (`bfFrom`, `bfTo`, `bfReprocess`, `bfMax`).
 */
import { useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { can } from '../../api/auth.ts';
import { liveKeys } from '../../api/events.ts';
import { ApiError } from '../../api/http.ts';
import { api, data, type Schemas } from '../../api/v2.ts';
import { useMe } from '../../auth/session.tsx';
import { Dialog } from '../../components/Dialog.tsx';
import { formatTime } from '../../components/format.ts';
import { useUrlState } from '../../components/urlState.ts';
import '../../views.css';

type Reprocess = Schemas['BackfillCreate']['reprocessBehavior'];
const REPROCESS: Array<{ id: NonNullable<Reprocess>; label: string }> = [
  { id: 'none', label: 'Skip dates that have a run' },
  { id: 'failed', label: 'Re-run failed runs' },
  { id: 'completed', label: 'Re-run every finished run' },
];

function backfillsKey(dagId: string) {
  // Under the runs prefix: a backfill's progress moves with its runs, which the events stream reports.
  return [...liveKeys.runs(dagId), 'backfills'] as const;
}

function ErrorText({ error }: { error: Error | null }) {
  if (!error) return null;
  return (
    <p role="alert" className="error-box">
      {error instanceof ApiError && error.field ? `${error.field}: ` : ''}
      {error.message}
    </p>
  );
}

export function BackfillsView({ dagId }: { dagId: string }) {
  const me = useMe().data;
  return (
    <>
      {can(me, 'backfill', 'create') ? <NewBackfill dagId={dagId} /> : null}
      <BackfillList dagId={dagId} mayEdit={can(me, 'backfill', 'edit')} />
    </>
  );
}

function NewBackfill({ dagId }: { dagId: string }) {
  const u = useUrlState();
  const qc = useQueryClient();
  const from = u.get('bfFrom') ?? '';
  const to = u.get('bfTo') ?? '';
  const reprocess = (REPROCESS.find((r) => r.id === u.get('bfReprocess'))?.id ?? 'none') as NonNullable<Reprocess>;
  const max = u.get('bfMax') ?? '';
  const [conf, setConf] = useState('');
  const [confError, setConfError] = useState<string | undefined>();
  const body = (): Schemas['BackfillCreate'] | undefined => {
    let dagRunConf: Record<string, unknown> | undefined;
    if (conf.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(conf);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('must be a JSON object');
        dagRunConf = parsed as Record<string, unknown>;
      } catch (e) {
        setConfError(`Conf ${e instanceof Error ? e.message : 'is not JSON'}`);
        return undefined;
      }
    }
    setConfError(undefined);
    return { dagId, fromDate: from, toDate: to, reprocessBehavior: reprocess, ...(max ? { maxActiveRuns: Number(max) } : {}), ...(dagRunConf ? { dagRunConf } : {}) };
  };
  const dryRun = useMutation({ mutationFn: (b: Schemas['BackfillCreate']) => data(api.POST('/backfills/dryRun', { body: b })) });
  const create = useMutation({
    mutationFn: (b: Schemas['BackfillCreate']) => data(api.POST('/backfills', { body: b })),
    onSuccess: async () => {
      dryRun.reset();
      await qc.invalidateQueries({ queryKey: liveKeys.runs(dagId) });
    },
  });
  const set = (values: Record<string, string>) => {
    dryRun.reset();
    create.reset();
    u.set(values, { replace: true });
  };
  const plan = dryRun.data;
  const making = plan ? plan.plan.filter((p) => p.action !== 'skip').length : 0;
  return (
    <section className="card" aria-labelledby="new-backfill-title">
      <h2 id="new-backfill-title">New backfill</h2>
      <form
        className="inline-form"
        aria-label="New backfill"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          const b = body();
          if (b) dryRun.mutate(b);
        }}
      >
        <label className="field">
          <span>From (logical date)</span>
          <input type="date" required value={from} onChange={(e) => set({ bfFrom: e.target.value })} />
        </label>
        <label className="field">
          <span>To (inclusive)</span>
          <input type="date" required value={to} onChange={(e) => set({ bfTo: e.target.value })} />
        </label>
        <label className="field">
          <span>Existing runs</span>
          <select value={reprocess} onChange={(e) => set({ bfReprocess: e.target.value === 'none' ? '' : e.target.value })}>
            {REPROCESS.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Runs at once</span>
          <input type="number" min={1} className="narrow-input" placeholder="DAG's" value={max} onChange={(e) => set({ bfMax: e.target.value })} />
        </label>
        <label className="field backfill-conf">
          <span>Conf (JSON, optional)</span>
          <textarea className="code-input" rows={1} value={conf} onChange={(e) => setConf(e.target.value)} aria-invalid={confError !== undefined} />
        </label>
        <button type="submit" className="button" disabled={dryRun.isPending}>
          Preview runs
        </button>
      </form>
      {confError ? (
        <p role="alert" className="error-box">
          {confError}
        </p>
      ) : null}
      <ErrorText error={dryRun.error ?? create.error} />
      {create.data ? (
        <p role="status" className="notice-inline">
          Backfill {create.data.backfill.id} created: {create.data.plan.filter((p) => p.action !== 'skip').length} runs queued.
        </p>
      ) : null}
      {plan ? (
        <div className="backfill-plan">
          <p role="status">
            {making === 0 ? 'This backfill would make no run.' : `This backfill would make ${making} run${making === 1 ? '' : 's'}`}
            {plan.plan.length > making ? ` and skip ${plan.plan.length - making} date${plan.plan.length - making === 1 ? '' : 's'}` : ''}.
            {plan.notEnded.length > 0 ? ` ${plan.notEnded.length} interval${plan.notEnded.length === 1 ? ' has' : 's have'} not ended yet and would not run.` : ''}
          </p>
          <div className="table-wrap preview-list" tabIndex={0} role="region" aria-label="Runs the backfill would make">
            <table className="table compact">
              <caption className="visually-hidden">Runs the backfill would make</caption>
              <thead>
                <tr>
                  <th scope="col">Logical date</th>
                  <th scope="col">Run id</th>
                  <th scope="col">Action</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {plan.plan.map((p) => (
                  <tr key={p.dagRunId} data-action={p.action}>
                    <td className="nowrap">{formatTime(p.logicalDate)}</td>
                    <td>
                      <code>{p.dagRunId}</code>
                    </td>
                    <td>{p.action}</td>
                    <td className="muted">{p.action === 'skip' ? `${p.reason ?? ''}${p.existingState ? ` (${p.existingState})` : ''}` : p.existingState ? `was ${p.existingState}` : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="dialog-actions">
            <button type="button" className="button" onClick={() => dryRun.reset()}>
              Discard
            </button>
            <button
              type="button"
              className="button primary"
              disabled={making === 0 || create.isPending}
              onClick={() => {
                const b = body();
                if (b) create.mutate(b);
              }}
            >
              Create backfill
            </button>
          </div>
        </div>
      ) : null}
    </section>
  );
}

function BackfillList({ dagId, mayEdit }: { dagId: string; mayEdit: boolean }) {
  const qc = useQueryClient();
  const query = { dagId, limit: 50, offset: 0 };
  const list = useQuery({ queryKey: [...backfillsKey(dagId), query], queryFn: ({ signal }) => data(api.GET('/backfills', { params: { query }, signal })) });
  const backfills = list.data?.backfills ?? [];
  const details = useQueries({
    queries: backfills.map((b) => ({
      queryKey: [...backfillsKey(dagId), 'detail', b.id],
      queryFn: ({ signal }: { signal: AbortSignal }) => data(api.GET('/backfills/{backfillId}', { params: { path: { backfillId: b.id } }, signal })),
    })),
  });
  const [cancelling, setCancelling] = useState<number | undefined>();
  const change = useMutation({
    mutationFn: ({ id, action }: { id: number; action: 'pause' | 'unpause' | 'cancel' }) => {
      const path = { path: { backfillId: id } };
      if (action === 'pause') return data(api.PUT('/backfills/{backfillId}/pause', { params: path }));
      if (action === 'unpause') return data(api.PUT('/backfills/{backfillId}/unpause', { params: path }));
      return data(api.PUT('/backfills/{backfillId}/cancel', { params: path }));
    },
    onSuccess: async () => {
      setCancelling(undefined);
      await qc.invalidateQueries({ queryKey: liveKeys.runs(dagId) });
    },
  });
  return (
    <section aria-labelledby="backfills-title">
      <h2 id="backfills-title">Backfills</h2>
      <ErrorText error={list.error ?? change.error} />
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">Backfills of {dagId}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Dates</th>
              <th scope="col">Status</th>
              <th scope="col">Runs</th>
              <th scope="col">Existing runs</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {backfills.map((b, i) => {
              const d = details[i]?.data;
              // A cancel pauses the backfill for good and completes it.
              const status = b.completedAt ? (b.isPaused ? 'cancelled' : 'completed') : b.isPaused ? 'paused' : 'running';
              return (
                <tr key={b.id} data-backfill={b.id}>
                  <td>{b.id}</td>
                  <td className="nowrap">
                    {formatTime(b.fromDate).slice(0, 10)} → {formatTime(b.toDate).slice(0, 10)}
                  </td>
                  <td>
                    <span className={`backfill-status ${status}`}>{status}</span>
                    {b.completedAt ? <span className="muted small"> {formatTime(b.completedAt)}</span> : null}
                  </td>
                  <td>{d ? `${d.runs.success} ok, ${d.runs.failed} failed, ${d.runs.running} running, ${d.runs.queued} queued of ${d.runs.total}` : '…'}</td>
                  <td>{b.reprocessBehavior}</td>
                  <td className="nowrap">{formatTime(b.createdAt)}</td>
                  <td className="nowrap">
                    {mayEdit && !b.completedAt ? (
                      <>
                        <button type="button" className="button small" disabled={change.isPending} onClick={() => change.mutate({ id: b.id, action: b.isPaused ? 'unpause' : 'pause' })}>
                          {b.isPaused ? 'Unpause' : 'Pause'} <span className="visually-hidden">backfill {b.id}</span>
                        </button>{' '}
                        <button type="button" className="button small danger" onClick={() => setCancelling(b.id)}>
                          Cancel <span className="visually-hidden">backfill {b.id}</span>
                        </button>
                      </>
                    ) : null}
                  </td>
                </tr>
              );
            })}
            {list.isSuccess && backfills.length === 0 ? (
              <tr>
                <td colSpan={7} className="muted">
                  No backfills of this DAG.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <Dialog open={cancelling !== undefined} title={`Cancel backfill ${cancelling ?? ''}`} onClose={() => setCancelling(undefined)}>
        <div className="confirm">
          <p>Its queued runs will be failed and it ends for good; runs already running finish.</p>
          <div className="dialog-actions">
            <button type="button" className="button" onClick={() => setCancelling(undefined)}>
              Keep it
            </button>
            <button type="button" className="button danger" disabled={change.isPending} onClick={() => cancelling !== undefined && change.mutate({ id: cancelling, action: 'cancel' })}>
              Cancel backfill
            </button>
          </div>
        </div>
      </Dialog>
    </section>
  );
}
