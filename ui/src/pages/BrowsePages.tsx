/** Runs and task instances across every DAG the user may see, live. */
import { useLiveChanges } from '../api/events.ts';
import { RunsTable } from './runs/RunsTable.tsx';
import { TaskInstancesTable } from './runs/TaskInstancesTable.tsx';

export function RunsBrowsePage() {
  useLiveChanges('~');
  return (
    <>
      <h1>Runs</h1>
      <RunsTable dagId="~" />
    </>
  );
}

export function TaskInstancesBrowsePage() {
  useLiveChanges('~');
  return (
    <>
      <h1>Task instances</h1>
      <TaskInstancesTable dagId="~" dagRunId="~" />
    </>
  );
}
