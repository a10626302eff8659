/**
 * Kubernetes commands: `capstan tasks render-pod <dag> <task>` prints the exact pod manifest a
 * KubernetesPodOperator task would create (a dry run: no cluster is contacted).
 */
import { InvalidArgument } from '../../core/errors.ts';
import { importDagFile } from '../../dagprocessing/loader.ts';
import { KubernetesPodOperator } from '../../kubernetes/operators/podOperator.ts';
import { makeRunId } from '../../store/dagRuns.ts';
import { getSerializedDag } from '../../store/dags.ts';
import { ConnectionStore } from '../../store/connections.ts';
import { SecretsLookup } from '../../secrets/index.ts';
import type { RegisterCommands } from '../context.ts';
import { cliFernet } from './audit.ts';

export const registerKubernetesCommands: RegisterCommands = (program, ctx) => {
  const tasks = program.commands.find((c) => c.name() === 'tasks') ?? program.command('tasks');
  tasks
    .command('render-pod <dagId> <taskId>')
    .description('print the pod manifest (YAML) a KubernetesPodOperator task would create; contacts no cluster')
    .option('--run-id <id>', 'run id used in labels (default: a manual run id for now)')
    .option('--try <n>', 'try number used in labels', '1')
    .option('--map-index <n>', 'map index', '-1')
    .action(async (dagId: string, taskId: string, opts: { runId?: string; try: string; mapIndex: string }) => {
      const m = await ctx.db();
      const serialized = await getSerializedDag(m, dagId);
      const dag = (await importDagFile(serialized.fileloc)).find((d) => d.dagId === dagId);
      if (!dag) throw new InvalidArgument(`DAG '${dagId}' is no longer defined in ${serialized.fileloc}`);
      const task = dag.getTask(taskId);
      if (!(task instanceof KubernetesPodOperator)) {
        throw new InvalidArgument(`task '${taskId}' is a ${task.operatorName}, not a KubernetesPodOperator`, 'render-pod works on pod tasks only');
      }
      const tryNumber = Number(opts.try);
      const mapIndex = Number(opts.mapIndex);
      if (!Number.isInteger(tryNumber) || tryNumber < 1) throw new InvalidArgument(`--try must be a whole number ≥ 1, got '${opts.try}'`);
      if (!Number.isInteger(mapIndex) || mapIndex < -1) throw new InvalidArgument(`--map-index must be -1 or a whole number ≥ 0, got '${opts.mapIndex}'`);
      const connId = task.runOptions.kubernetesConnId;
      const secrets = new SecretsLookup({ env: process.env, connections: new ConnectionStore(m, { fernet: cliFernet(ctx) }) });
      const connection = connId ? await secrets.requireConnection(connId) : undefined;
      const yaml = await task.dryRun(
        { dagId, taskId, runId: opts.runId ?? makeRunId('manual', Date.now()), tryNumber, mapIndex },
        connection ? { ...connection, extra: connection.extra as never } : undefined,
      );
      process.stdout.write(yaml);
    });
};
