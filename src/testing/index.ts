/**
 * Running DAGs and tasks inside the current process — `capstan dags test`, `capstan tasks test`, and the
 * base of the DAG authors' test kit.
 */
export { runDagInProcess, IN_PROCESS_EXECUTOR, type InProcessRunOptions, type InProcessRunResult, type TaskOutcomeEvent } from './inProcessRun.ts';
export { testTaskInProcess, type TaskTestOptions, type TaskTestResult } from './taskTest.ts';
export { loadDagFromFile } from './loadDag.ts';
export { createInProcessContext, MemoryXComs, type TaskLogLine, type XComBackend, type TaskIdentity, type LogLevel } from './context.ts';
export { renderTaskInProcess, renderedText, type RenderTaskOptions, type RenderTaskResult } from './renderTask.ts';
