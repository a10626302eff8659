/**
 * An expanded mapped task's rows: one per map index, each with its state in every run shown. Read with the
 * batch task-instance list (the task in the grid's runs); the grid itself carries only per-run summaries.
 */
import { queryOptions } from '@tanstack/react-query';
import { liveKeys } from '../../../api/events.ts';
import { api, data, type Schemas } from '../../../api/v2.ts';

/** Most task instances one expansion reads (the batch list's page size). */
export const MAPPED_ROWS_LIMIT = 1000;

export interface MappedRows {
  /** Map indexes present in the runs shown, ascending. */
  indexes: number[];
  /** State by `${dagRunId}|${mapIndex}`. */
  states: Map<string, Schemas['TaskInstanceState']>;
  /** More instances exist than one read holds: only the first indexes are shown. */
  truncated: boolean;
}

/** The query of one expanded task (for `useQueries`); under the grid's live key, so live changes refresh it. */
export function mappedRowsQuery(dagId: string, taskId: string, dagRunIds: string[]) {
  return queryOptions({
    queryKey: [...liveKeys.grid(dagId), 'mapped', taskId, dagRunIds],
    queryFn: async ({ signal }): Promise<MappedRows> => {
      const page = await data(
        api.POST('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/list', {
          params: { path: { dagId: '~', dagRunId: '~' } },
          body: { dagIds: [dagId], dagRunIds, taskIds: [taskId], limit: MAPPED_ROWS_LIMIT, offset: 0, orderBy: 'mapIndex' },
          signal,
        }),
      );
      const states = new Map<string, Schemas['TaskInstanceState']>();
      const indexes = new Set<number>();
      for (const ti of page.taskInstances) {
        if (ti.mapIndex < 0) continue;
        indexes.add(ti.mapIndex);
        states.set(`${ti.dagRunId}|${ti.mapIndex}`, ti.state);
      }
      return { indexes: [...indexes].sort((a, b) => a - b), states, truncated: page.totalEntries > page.taskInstances.length };
    },
  });
}
