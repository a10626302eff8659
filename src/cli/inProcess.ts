/**
 * What `dags test` and `tasks test` share: finding and importing the DAG's file, parsing `--logical-date`
 * and `--conf`, and printing task log lines and outcomes as they happen. In `--output json` mode progress
 * goes to stderr so stdout carries only the final JSON document.
 */
import { InvalidArgument, NotFound } from '../core/errors.ts';
import type { JsonValue } from '../core/serialized.ts';
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

/** `--logical-date` as epoch ms, or undefined when absent. */
export function parseLogicalDate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new InvalidArgument(`--logical-date '${text}' is not a date`, 'use ISO-8601, e.g. 2026-01-01T00:00:00Z');
  return at;
}

/** `--conf` as JSON, or undefined when absent. */
export function parseConf(text: string | undefined): JsonValue | undefined {
  if (text === undefined) return undefined;
  let conf: JsonValue;
  try {
    conf = JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new InvalidArgument(`--conf is not valid JSON: ${(err as Error).message}`, `e.g. --conf '{"key": "value"}'`);
  }
  if (typeof conf !== 'object' || conf === null || Array.isArray(conf)) throw new InvalidArgument('--conf must be a JSON object', `e.g. --conf '{"key": "value"}'`);
  return conf;
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
