/**
 * Clear, mark success or mark failed on a selection of task instances — picked rows, or everything the
 * filter matches. The API acts per DAG run (clear: one call per run with its task ids; mark: one call per
 * task, which covers every map index), so the selection is grouped that way; each call runs first as a
 * dry run and the confirmation lists the union of what the server says would change.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { api, data } from '../../api/v2.ts';
import { Dialog } from '../../components/Dialog.tsx';
import '../../views.css';

/** A task instance's identity. */
export interface TiKey {
  dagId: string;
  dagRunId: string;
  taskId: string;
  mapIndex: number;
}

export const tiKeyString = (k: TiKey) => `${k.dagId}|${k.dagRunId}|${k.taskId}|${k.mapIndex}`;

/** Picked rows, or every row the filter matches (fetched when the action is asked for). */
export type BulkSelection = { kind: 'rows'; keys: TiKey[] } | { kind: 'filter'; total: number; fetchAll: () => Promise<TiKey[]> };

type BulkAction = 'clear' | 'success' | 'failed';
const TITLES: Record<BulkAction, string> = { clear: 'Clear the selected task instances', success: 'Mark the selected as success', failed: 'Mark the selected as failed' };

interface Change {
  dagId: string;
  dagRunId: string;
  taskId: string;
  mapIndex: number;
  previousState: string;
}

/** Run `work` over `items`, at most `n` at a time (the browser and server each get a bounded load). */
async function pool<T, R>(items: T[], n: number, work: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  return out;
}

/** The selection's runs, each with its distinct task ids. */
function byRun(keys: TiKey[]): Array<{ dagId: string; dagRunId: string; taskIds: string[] }> {
  const groups = new Map<string, { dagId: string; dagRunId: string; taskIds: Set<string> }>();
  for (const k of keys) {
    const id = `${k.dagId}|${k.dagRunId}`;
    const g = groups.get(id) ?? { dagId: k.dagId, dagRunId: k.dagRunId, taskIds: new Set<string>() };
    g.taskIds.add(k.taskId);
    groups.set(id, g);
  }
  return [...groups.values()].map((g) => ({ dagId: g.dagId, dagRunId: g.dagRunId, taskIds: [...g.taskIds] }));
}

async function act(action: BulkAction, keys: TiKey[], dryRun: boolean): Promise<Change[]> {
  const groups = byRun(keys);
  if (action === 'clear') {
    const results = await pool(groups, 4, async (g) => {
      const r = await data(api.POST('/dags/{dagId}/clearTaskInstances', { params: { path: { dagId: g.dagId } }, body: { dryRun, dagRunId: g.dagRunId, taskIds: g.taskIds, includeUpstream: false, includeDownstream: false, onlyFailed: false } }));
      return r.taskInstances.map((t) => ({ ...t, dagId: g.dagId }));
    });
    return results.flat();
  }
  const calls = groups.flatMap((g) => g.taskIds.map((taskId) => ({ dagId: g.dagId, dagRunId: g.dagRunId, taskId })));
  const results = await pool(calls, 4, async (c) => {
    const r = await data(
      api.PATCH('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}', {
        params: { path: c },
        body: { newState: action, dryRun, includeUpstream: false, includeDownstream: false, includePast: false, includeFuture: false },
      }),
    );
    return r.taskInstances.map((t) => ({ ...t, dagId: c.dagId }));
  });
  return results.flat();
}

export function BulkActions({ selection, onDone }: { selection: BulkSelection | undefined; onDone: () => void }) {
  const qc = useQueryClient();
  const [action, setAction] = useState<BulkAction | undefined>();
  // A fresh preview every time the dialog opens: states move between openings.
  const opened = useRef(0);
  const count = selection ? (selection.kind === 'rows' ? selection.keys.length : selection.total) : 0;
  const keys = async () => (selection?.kind === 'filter' ? selection.fetchAll() : (selection?.keys ?? []));
  const preview = useQuery({
    queryKey: ['bulkPreview', action, opened.current],
    queryFn: async () => {
      const k = await keys();
      return { keys: k, changes: await act(action as BulkAction, k, true) };
    },
    enabled: action !== undefined && selection !== undefined,
    staleTime: Infinity,
    gcTime: 0,
    retry: false,
  });
  const apply = useMutation({
    // The very rows the dry run was asked about (a filter's matches may have moved since).
    mutationFn: async () => act(action as BulkAction, preview.data?.keys ?? [], false),
    onSuccess: async () => {
      setAction(undefined);
      onDone();
      await Promise.all([qc.invalidateQueries({ queryKey: ['tis'] }), qc.invalidateQueries({ queryKey: ['ti'] }), qc.invalidateQueries({ queryKey: ['runs'] }), qc.invalidateQueries({ queryKey: ['grid'] })]);
    },
  });
  const open = (a: BulkAction) => {
    opened.current += 1;
    apply.reset();
    setAction(a);
  };
  const changes = preview.data?.changes ?? [];
  const verb = action === 'clear' ? 'cleared' : `marked ${action ?? ''}`;
  return (
    <div className="bulk-bar" role="group" aria-label="Bulk actions">
      <span role="status">
        {count} task instance{count === 1 ? '' : 's'} selected{selection?.kind === 'filter' ? ' (everything the filter matches)' : ''}
      </span>
      <button type="button" className="button small" disabled={count === 0} onClick={() => open('clear')}>
        Clear selected
      </button>
      <button type="button" className="button small" disabled={count === 0} onClick={() => open('success')}>
        Mark selected success
      </button>
      <button type="button" className="button small danger" disabled={count === 0} onClick={() => open('failed')}>
        Mark selected failed
      </button>
      <button type="button" className="button small" disabled={count === 0} onClick={onDone}>
        Deselect all
      </button>
      <Dialog open={action !== undefined} title={action ? TITLES[action] : ''} onClose={() => setAction(undefined)}>
        <div className="confirm">
          {preview.isError ? (
            <p role="alert" className="error-box">
              {preview.error.message}
            </p>
          ) : preview.isSuccess ? (
            <>
              <p>{changes.length === 0 ? 'Nothing would change.' : `These ${changes.length} task instance${changes.length === 1 ? '' : 's'} will be ${verb}:`}</p>
              <ul className="preview-list bulk-preview" tabIndex={0} aria-label="What will change">
                {changes.map((t) => (
                  <li key={tiKeyString(t)}>
                    <code>{t.taskId}</code>
                    {t.mapIndex >= 0 ? `[${t.mapIndex}]` : ''} in {t.dagId} / {t.dagRunId} (now {t.previousState})
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
            <button type="button" className="button primary" disabled={changes.length === 0 || apply.isPending} onClick={() => apply.mutate()}>
              Confirm
            </button>
          </div>
        </div>
      </Dialog>
    </div>
  );
}
