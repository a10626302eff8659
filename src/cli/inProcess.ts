/**
 * What `dags test` and `tasks test` share: finding and importing the DAG's file, and printing task log lines
 * and outcomes as they happen. In `--output json` mode progress goes to stderr so stdout carries only the final
 * JSON document.
 */
import { NotFound } from '../core/index.ts';
import { getDag } from '../store/dags.ts';
import type { TaskLogLine, TaskOutcomeEvent } from '../testing/index.ts';
import type { Dag } from '../sdk/dag.ts';
import type { CliContext } from './context.ts';

/** Import the DAG from `file`, or from the file the metadata DB knows it from. */
export async function importDagForCli(ctx: CliContext, dagId: string, file: string | undefined): Promise<{ dag: Dag; fileloc: string }> {
  let path = file;
  if (path === undefined) {
    const m = await ctx.db();
    const known = await getDag(m, dagId).catch((err: unknown) => {
      if (err instanceof NotFound) throw new NotFound(err.message, 'check the id with `capstan dags list`, or name the DAG file with --file <path>');
      throw err;
    });
    path = known.fileloc;
  }
  // Loaded here, not at the top: `dags trigger` and `dags list` share this module and must not pay for the SDK.
  const [{ loadDagFromFile }, { authoringDefaultsFrom }] = await Promise.all([import('../testing/index.ts'), import('../app/components.ts')]);
  return loadDagFromFile(path, dagId, authoringDefaultsFrom(ctx.config()));
}

/** Prints progress to stdout (tables) or stderr (json). */
export class ProgressPrinter {
  readonly #out: NodeJS.WritableStream;

  constructor(ctx: CliContext) {
    this.#out = ctx.output === 'json' ? process.stderr : process.stdout;
  }

  line(text: string): void {
    this.#out.write(text + '\n');
  }

  log(l: TaskLogLine): void {
    for (const part of l.message.split('\n')) this.#out.write(`  ${l.taskId} | ${l.level.padEnd(5)} ${part}\n`);
  }

  outcome(e: TaskOutcomeEvent): void {
    const tries = e.tryNumber === 0 ? 'not run' : `try ${e.tryNumber}/${e.maxTries}`;
    const took = e.durationMs === null ? '' : `  ${e.durationMs} ms`;
    const retry = e.nextRetryAt === null ? '' : `  (next try at ${new Date(e.nextRetryAt).toISOString()})`;
    const reason = e.reason && e.state !== 'success' ? `  ${e.reason.split('\n')[0]}` : '';
    this.line(`${e.state.padEnd(15)} ${e.taskId}  ${tries}${took}${retry}${reason}`);
  }
}
