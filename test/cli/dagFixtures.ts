/**
 * DAG files for the CLI tests, and a helper that writes them into a suite's home (with the bundled
 * examples turned off) and parses them once with `capstan dag-processor --once`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLimited } from '../../src/core/async.ts';
import type { CliResult, CliSuite } from './capstan.ts';

/** TaskFlow values through XCom, a pushed extra key, params, and a Bash task. */
export const ETL_DAG = `
import { BashOperator, dag, getCurrentContext, task } from 'capstan';
const extract = task({ taskId: 'extract' }, () => ({ rows: [3, 1, 4] }));
const total = task({ taskId: 'total' }, (b: { rows: number[] }) => {
  getCurrentContext().log.info('summing ' + b.rows.length + ' rows');
  return b.rows.reduce((a, c) => a + c, 0);
});
const report = task({ taskId: 'report' }, async (n: number) => {
  const ctx = getCurrentContext();
  await ctx.xcomPush('label', 'total=' + n);
  return ctx.params['prefix'] + ':' + n;
});
export default dag({ dagId: 'etl', schedule: null, params: { prefix: 'sum' }, tags: ['cli'] }, () => {
  report(total(extract())).before(new BashOperator({ taskId: 'notify', bashCommand: 'echo "notified $CAPSTAN_CTX_RUN_ID"' }));
});
`;

/**
 * A run that fails: \`bad\` fails so \`after_bad\` (a leaf) is upstream_failed; \`skip\` skips and its
 * downstream is skipped; \`flaky\` succeeds on its second try (its retry delay is an hour, so tests pass
 * --skip-retry-delay); \`cleanup\` runs whatever happened (all_done).
 */
export const RULES_DAG = `
import { BashOperator, chain, dag, EmptyOperator } from 'capstan';
export default dag({ dagId: 'rules', schedule: null }, () => {
  const ok = new BashOperator({ taskId: 'ok', bashCommand: 'echo ok' });
  const flaky = new BashOperator({ taskId: 'flaky', bashCommand: 'test "$CAPSTAN_CTX_TRY_NUMBER" -ge 2', retries: 1, retryDelay: '1h' });
  const bad = new BashOperator({ taskId: 'bad', bashCommand: 'echo broken >&2; exit 3' });
  const skip = new BashOperator({ taskId: 'skip', bashCommand: 'exit 99' });
  const afterBad = new EmptyOperator({ taskId: 'after_bad' });
  const afterSkip = new EmptyOperator({ taskId: 'after_skip' });
  const cleanup = new BashOperator({ taskId: 'cleanup', bashCommand: 'echo cleanup', triggerRule: 'all_done' });
  ok.before([flaky, bad, skip]);
  bad.before(afterBad);
  skip.before(afterSkip);
  chain([flaky, afterSkip], cleanup);
});
`;

export const BROKEN_DAG = `throw new Error('boom at import');\n`;

/** Write the DAG files and config into the suite's home and parse them once. */
export async function setUpDags(t: CliSuite, files: Record<string, string>): Promise<string> {
  const dags = join(t.home, 'dags');
  mkdirSync(dags, { recursive: true });
  writeFileSync(join(t.home, 'capstan.yaml'), 'core:\n  loadExamples: false\nlogging:\n  level: warn\n');
  for (const [name, source] of Object.entries(files)) writeFileSync(join(dags, name), source);
  const parsed = await t.run(['dag-processor', '--once']);
  const summary = JSON.parse(parsed.stdout.trim().split('\n').at(-1) ?? '{}') as { errors?: number };
  const broken = Object.values(files).filter((s) => s === BROKEN_DAG).length;
  if (summary.errors !== broken) throw new Error(`dag-processor --once: ${parsed.stdout} ${parsed.stderr}`);
  return dags;
}

/**
 * Run many commands, at most `limit` at a time (each is a Node process; a 2-core machine running other
 * test files at the same time should not be flooded), and return their results in order.
 */
export async function runMany(t: CliSuite, commands: string[][], limit = 3): Promise<CliResult[]> {
  const results: CliResult[] = new Array<CliResult>(commands.length);
  await runLimited(
    commands.map((args, i) => ({ args, i })),
    limit,
    async ({ args, i }) => {
      results[i] = await t.run(args);
    },
  );
  return results;
}
