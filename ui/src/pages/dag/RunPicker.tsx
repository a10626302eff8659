/** A choice of one of the DAG's latest runs, kept in the URL as `?run=` (the newest when absent). */
import { useQuery } from '@tanstack/react-query';
import { liveKeys } from '../../api/events.ts';
import { api, data, type Schemas } from '../../api/v2.ts';
import { formatTime } from '../../components/format.ts';
import { useUrlState } from '../../components/urlState.ts';

/** The latest runs (newest first) and the one chosen in the URL, or the newest. */
export function useChosenRun(dagId: string): { runs: Schemas['DagRun'][]; run: Schemas['DagRun'] | undefined; isLoading: boolean; error: Error | null } {
  const u = useUrlState();
  const query = { limit: 50, offset: 0, orderBy: '-id' as const };
  const runs = useQuery({
    queryKey: [...liveKeys.runs(dagId), 'picker', query],
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns', { params: { path: { dagId }, query }, signal })),
  });
  const list = runs.data?.dagRuns ?? [];
  const wanted = u.get('run');
  const listed = wanted === undefined ? list[0] : list.find((r) => r.dagRunId === wanted);
  // A deep link may name an older run than the picker lists.
  const older = useQuery({
    queryKey: liveKeys.run(dagId, wanted ?? ''),
    queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}', { params: { path: { dagId, dagRunId: wanted ?? '' } }, signal })),
    enabled: runs.isSuccess && wanted !== undefined && listed === undefined,
  });
  const run = listed ?? older.data;
  return { runs: run && !list.includes(run) ? [run, ...list] : list, run, isLoading: runs.isLoading || older.isLoading, error: runs.error ?? older.error };
}

export function RunPicker({ runs, chosen }: { runs: Schemas['DagRun'][]; chosen: string | undefined }) {
  const u = useUrlState();
  return (
    <label className="field inline">
      <span>Run</span>
      <select value={chosen ?? ''} onChange={(e) => u.set({ run: e.target.value })}>
        {runs.map((r) => (
          <option key={r.dagRunId} value={r.dagRunId}>
            {r.dagRunId} ({r.state}, {formatTime(r.logicalDate ?? r.queuedAt)})
          </option>
        ))}
      </select>
    </label>
  );
}
