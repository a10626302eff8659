/**
 * Live state changes from the API's Server-Sent Events stream (`/api/v2/dags/{dagId}/events`): every page
 * showing runs or task instances of a DAG refreshes the queries a change touches, within about a second of
 * its commit and with no polling. EventSource reconnects by itself and resumes from Last-Event-ID.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';

export interface StateChange {
  kind: 'dagRun' | 'taskInstance';
  dagId: string;
  dagRunId: string;
  taskId?: string;
  state: string;
}

/** Query keys that start with these hold run or task-instance state of a DAG. */
export const liveKeys = {
  grid: (dagId: string) => ['grid', dagId] as const,
  graph: (dagId: string) => ['graph', dagId] as const,
  runs: (dagId: string) => ['runs', dagId] as const,
  run: (dagId: string, runId: string) => ['run', dagId, runId] as const,
  taskInstances: (dagId: string) => ['tis', dagId] as const,
  taskInstance: (dagId: string, runId: string, taskId: string) => ['ti', dagId, runId, taskId] as const,
};

/** Follow the DAG's (or with `~`, every visible DAG's) changes while mounted; `onChange` sees each one. */
export function useLiveChanges(dagId: string, onChange?: (c: StateChange) => void): void {
  const qc = useQueryClient();
  useEffect(() => {
    const source = new EventSource(`/api/v2/dags/${encodeURIComponent(dagId)}/events`, { withCredentials: true });
    // Changes come in bursts (a run starting flips many tasks): refresh once per burst.
    const dirty = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      for (const k of dirty) void qc.invalidateQueries({ queryKey: JSON.parse(k) as unknown[] });
      dirty.clear();
    };
    const touch = (...keys: ReadonlyArray<readonly unknown[]>) => {
      for (const k of keys) dirty.add(JSON.stringify(k));
      timer ??= setTimeout(flush, 150);
    };
    const handle = (kind: StateChange['kind']) => (e: MessageEvent<string>) => {
      const c = { kind, ...(JSON.parse(e.data) as Omit<StateChange, 'kind'>) };
      touch(liveKeys.grid(c.dagId), liveKeys.graph(c.dagId), liveKeys.runs(c.dagId), liveKeys.run(c.dagId, c.dagRunId), liveKeys.taskInstances(c.dagId), ['runs', '~'], ['tis', '~'], ['dags']);
      if (c.taskId !== undefined) touch(liveKeys.taskInstance(c.dagId, c.dagRunId, c.taskId));
      onChange?.(c);
    };
    source.addEventListener('dagRun', handle('dagRun'));
    source.addEventListener('taskInstance', handle('taskInstance'));
    return () => {
      source.close();
      if (timer) clearTimeout(timer);
    };
  }, [dagId, qc, onChange]);
}
