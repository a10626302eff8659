/**
 * Kubernetes commands.
 *
 * `capstan kubernetes cleanup-pods` deletes leftover task pods: the KubernetesExecutor's worker pods (succeeded,
 * failed, evicted, Pending too long) and the KubernetesPodOperator's pods its tasks let go of (kept by the finish
 * action, or Pending too long); `capstan kubernetes generate-dag-yaml <dag>` prints (or writes) the worker pod
 * of every task of a DAG as the executor would create it, contacting no cluster.
 *
 * `capstan tasks render-pod <dag> <task>` prints the exact manifest a Kubernetes task
 * would create — the pod of a KubernetesPodOperator, the Job of a KubernetesJobOperator, the SparkApplication
 * of a SparkKubernetesOperator — with its templated fields rendered for a run (a dry run: no cluster is
 * contacted). `--raw` prints the manifest with the templates as written, and says so.
 */
import { InvalidArgument } from '../../core/index.ts';
import type { JsonObject } from '../../core/index.ts';
import { createEngine } from '../../app/components.ts';
import { KubernetesJobOperator, KubernetesPodOperator, SparkKubernetesOperator } from '../../kubernetes/operators.ts';
import { findDagRun, makeRunId } from '../../store/dagRuns.ts';
import { ConnectionStore } from '../../store/connections.ts';
import { SecretsLookup } from '../../secrets/index.ts';
import { applyRenderedFields } from '../../templating/index.ts';
import { renderTaskInProcess } from '../../testing/index.ts';
import type { RegisterCommands } from '../context.ts';
import { parseConf, parseLogicalDate } from '../dagArguments.ts';
import { importDagForCli } from '../inProcess.ts';
import { cliFernet } from './audit.ts';

import { printRows } from '../output.ts';

interface RenderPodOptions { runId?: string; logicalDate?: string; conf?: string; try?: string; mapIndex: string; file?: string; raw?: boolean }

export const registerKubernetesCommands: RegisterCommands = (program, ctx) => {
  const kubernetes = program.command('kubernetes').description('KubernetesExecutor housekeeping: leftover worker pods, worker pod YAML');
  kubernetes
    .command('cleanup-pods')
    .description("delete this system's finished worker pods and KubernetesPodOperator pods kept by their finish action, and those Pending longer than --min-pending-minutes")
    .option('--namespace <ns>', 'namespace (default: kubernetesExecutor.namespace)')
    .option('--min-pending-minutes <n>', 'delete Pending pods older than this many minutes', '30')
    .option('--dry-run', 'list the pods that would be deleted; delete nothing')
    .action(async (opts: { namespace?: string; minPendingMinutes: string; dryRun?: boolean }) => {
      const minutes = Number(opts.minPendingMinutes);
      if (!Number.isFinite(minutes) || minutes < 0) throw new InvalidArgument(`--min-pending-minutes must be a number ≥ 0, got '${opts.minPendingMinutes}'`);
      const config = ctx.config();
      const namespace = opts.namespace ?? config.kubernetesExecutor.namespace;
      if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) throw new InvalidArgument(`--namespace: '${namespace}' is not a namespace name`, 'namespaces are DNS-1123 labels');
      // Loaded here: the Kubernetes client is large and most commands never need it.
      const [{ executorClusterClients }, { cleanupPods }] = await Promise.all([import('../../executors/kubernetes/workerPods.ts'), import('../../executors/kubernetes/index.ts')]);
      // The cluster connection (kubernetesExecutor.kubernetesConnId) may be stored in the metadata DB.
      const clients = await executorClusterClients(config, createEngine(config, { db: await ctx.db() }).secrets);
      const victims = await cleanupPods(clients, { namespace, minPendingMs: minutes * 60_000, now: Date.now(), dryRun: opts.dryRun === true });
      printRows(victims.map((v) => ({ ...v, action: opts.dryRun ? 'would delete' : 'deleted' })), ['namespace', 'name', 'kind', 'phase', 'reason', 'action'], ctx.output);
    });
  kubernetes
    .command('generate-dag-yaml <dagId>')
    .description('print the worker pod YAML of every task of a DAG as the KubernetesExecutor would create it (token left out); contacts no cluster')
    .option('--output-path <dir>', 'write <dir>/<dagId>/<taskId>.yaml files instead of printing')
    .option('--run-id <id>', 'run id used in labels (default: a manual run now)')
    .action(async (dagId: string, opts: { outputPath?: string; runId?: string }) => {
      const config = ctx.config();
      const engine = createEngine(config, { db: await ctx.db() });
      const { renderDagWorkerPods } = await import('../../executors/kubernetes/workerPods.ts');
      const files = await renderDagWorkerPods(engine, dagId, { runId: opts.runId ?? makeRunId('manual', Date.now()) });
      if (opts.outputPath === undefined) {
        process.stdout.write(files.map((f) => `# task ${f.taskId}\n${f.yaml}`).join('---\n'));
        return;
      }
      const { mkdir, writeFile } = await import('node:fs/promises');
      const { join } = await import('node:path');
      const dir = join(opts.outputPath, dagId);
      await mkdir(dir, { recursive: true });
      const written = [];
      for (const f of files) {
        const path = join(dir, `${f.taskId}.yaml`);
        await writeFile(path, f.yaml);
        written.push({ taskId: f.taskId, path });
      }
      printRows(written, ['taskId', 'path'], ctx.output);
    });

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

