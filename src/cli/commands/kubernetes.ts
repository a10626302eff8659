/**
 * Kubernetes commands: `capstan tasks render-pod <dag> <task>` prints the exact manifest a Kubernetes task
 * would create — the pod of a KubernetesPodOperator, the Job of a KubernetesJobOperator, the SparkApplication
 * of a SparkKubernetesOperator — with its templated fields rendered for a run (a dry run: no cluster is
 * contacted). `--raw` prints the manifest with the templates as written, and says so.
 */
import { InvalidArgument } from '../../core/errors.ts';
import type { JsonObject } from '../../core/serialized.ts';
import { createEngine } from '../../app/components.ts';
import { KubernetesJobOperator } from '../../kubernetes/operators/jobOperator.ts';
import { KubernetesPodOperator } from '../../kubernetes/operators/podOperator.ts';
import { SparkKubernetesOperator } from '../../kubernetes/operators/sparkOperator.ts';
import { findDagRun, makeRunId } from '../../store/dagRuns.ts';
import { ConnectionStore } from '../../store/connections.ts';
import { SecretsLookup } from '../../secrets/index.ts';
import { applyRenderedFields } from '../../templating/index.ts';
import { renderTaskInProcess } from '../../testing/index.ts';
import type { RegisterCommands } from '../context.ts';
import { importDagForCli, parseConf, parseLogicalDate } from '../inProcess.ts';
import { cliFernet } from './audit.ts';

interface RenderPodOptions { runId?: string; logicalDate?: string; conf?: string; try?: string; mapIndex: string; file?: string; raw?: boolean }

export const registerKubernetesCommands: RegisterCommands = (program, ctx) => {
  const tasks = program.commands.find((c) => c.name() === 'tasks') ?? program.command('tasks');
  tasks
    .command('render-pod <dagId> <taskId>')
    .description('print the manifest (YAML) a Kubernetes pod, Job or Spark task would create, its templates rendered for a run; contacts no cluster')
    .option('--run-id <id>', "render with this stored run's dates, conf and XComs (and its id in the labels)")
    .option('--logical-date <iso>', 'without --run-id: render for a manual run at this logical date (default now)')
    .option('--conf <json>', 'without --run-id: run configuration (JSON object)')
    .option('--try <n>', 'try number used in labels (default: the run’s current try, else 1)')
    .option('--map-index <n>', 'map index', '-1')
    .option('--file <path>', 'import the DAG from this file (default: the file the metadata DB knows it from)')
    .option('--raw', 'do not render the templates: print them as written (the output says so)')
    .action(async (dagId: string, taskId: string, opts: RenderPodOptions) => {
      if (opts.runId !== undefined && (opts.logicalDate !== undefined || opts.conf !== undefined)) {
        throw new InvalidArgument('--run-id cannot be combined with --logical-date or --conf', 'the run has its own logical date and conf');
      }
      const mapIndex = Number(opts.mapIndex);
      if (!Number.isInteger(mapIndex) || mapIndex < -1) throw new InvalidArgument(`--map-index must be -1 or a whole number ≥ 0, got '${opts.mapIndex}'`);
      const tryOption = opts.try === undefined ? undefined : Number(opts.try);
      if (tryOption !== undefined && (!Number.isInteger(tryOption) || tryOption < 1)) throw new InvalidArgument(`--try must be a whole number ≥ 1, got '${opts.try}'`);
      const logicalDate = parseLogicalDate(opts.logicalDate);
      const conf = parseConf(opts.conf) as JsonObject | undefined;
      const m = await ctx.db();
      const { dag, fileloc } = await importDagForCli(ctx, dagId, opts.file);
      const task = dag.getTask(taskId);
      if (!(task instanceof KubernetesPodOperator || task instanceof KubernetesJobOperator || task instanceof SparkKubernetesOperator)) {
        throw new InvalidArgument(`task '${taskId}' is a ${task.operatorName}, not a KubernetesPodOperator, KubernetesJobOperator or SparkKubernetesOperator`,
          'render-pod prints the manifests of Kubernetes pod, Job and Spark tasks');
      }
      if (opts.runId !== undefined && (await findDagRun(m, dagId, opts.runId)) === undefined) {
        throw new InvalidArgument(`DAG '${dagId}' has no run '${opts.runId}'`, 'omit --run-id to render for a manual run (--logical-date picks its date)');
      }

      let runId = opts.runId ?? makeRunId('manual', logicalDate ?? Date.now());
      let tryNumber = tryOption ?? 1;
      let header = '';
      if (opts.raw === true) {
        header = '# templates not rendered (--raw): {{ … }} appear as written\n';
      } else {
        const rendered = await renderTaskInProcess({
          db: m, dag, taskId, fileloc, mapIndex,
          secrets: createEngine(ctx.config(), { db: m }).secrets,
          ...(opts.runId === undefined ? {} : { runId: opts.runId }),
          ...(logicalDate === undefined ? {} : { logicalDate }),
          ...(conf === undefined ? {} : { conf }),
        });
        applyRenderedFields(task, rendered.renderedFields);
        runId = rendered.runId;
        tryNumber = tryOption ?? rendered.tryNumber;
        header = `# rendered for run ${runId} (secrets masked)\n`;
      }
      const connId = task instanceof KubernetesPodOperator ? task.runOptions.kubernetesConnId
        : task instanceof KubernetesJobOperator ? task.runOptions.kubernetesConnId : task.kubernetesConnId;
      const secrets = new SecretsLookup({ env: process.env, connections: new ConnectionStore(m, { fernet: cliFernet(ctx) }) });
      const connection = connId ? await secrets.requireConnection(connId) : undefined;
      const yaml = await task.dryRun(
        { dagId, taskId, runId, tryNumber, mapIndex },
        connection ? { ...connection, extra: connection.extra as never } : undefined,
      );
      process.stdout.write(header + yaml);
    });
};
