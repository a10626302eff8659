/**
 * Dynamic task mapping: one task instance per element of a list known only at run time.
 *
 * - `files` returns a list; `countLines.expand({ file: files() })` becomes one task instance per file
 *   (map index 0, 1, 2…), and `summarize` receives their results as one array, in map-index order.
 * - `partial` fixes the arguments every index shares; `expand` over several inputs is their cross product.
 * - Classic operators map the same way: `BashOperator.partial({...}).expand({ bashCommand: [...] })`, or
 *   `.expandKwargs([...])` with one options object per index.
 * - An empty list skips the mapped task (`optional` below), and skipping propagates per trigger rules.
 *
 * See docs/dynamic-task-mapping.md.
 */
import { BashOperator, dag, getCurrentContext, task } from 'capstan';

interface FileStat {
  file: string;
  lines: number;
}

const files = task({ taskId: 'files' }, (): string[] => ['orders.csv', 'customers.csv', 'refunds.csv']);

const countLines = task({ taskId: 'count_lines', retries: 1, retryDelay: '1s' }, (p: { file: string; header: boolean }): FileStat => {
  const ctx = getCurrentContext();
  ctx.log.info(`map index ${ctx.mapIndex}: counting ${p.file}`);
  // A stand-in for reading the file: the name's length, minus the header line when there is one.
  return { file: p.file, lines: p.file.length - (p.header ? 1 : 0) };
});

const summarize = task({ taskId: 'summarize' }, (stats: FileStat[]) => ({
  files: stats.map((s) => s.file),
  totalLines: stats.reduce((sum, s) => sum + s.lines, 0),
}));

const combine = task({ taskId: 'combine' }, (p: { region: string; tier: string }) => `${p.region}/${p.tier}`);

const nothingToDo = task({ taskId: 'nothing_to_do' }, (): string[] => []);
const optional = task({ taskId: 'optional' }, (item: string) => item.toUpperCase());

export default dag(
  {
    dagId: 'dynamic_mapping',
    description: 'Mapping over an upstream list, literals, a cross product, BashOperator expand/expandKwargs, and an empty list',
    schedule: null,
    tags: ['example', 'mapping'],
  },
  () => {
    // Upstream list → one instance per file → a reduce over the ordered results.
    summarize(countLines.partial({ header: true }).expand({ file: files() }));

    // Cross product: 2 regions × 2 tiers = 4 instances (the last input varies fastest).
    combine.expand({ region: ['eu', 'us'], tier: ['free', 'pro'] });

    // A classic operator: the command is templated per index ({{ ti.map_index }}).
    BashOperator.partial({ taskId: 'greet', env: { GREETING: 'hello' } }).expand({
      bashCommand: ['echo "$GREETING from {{ ti.map_index }}: eu"', 'echo "$GREETING from {{ ti.map_index }}: us"'],
    });

    // One options object per index.
    BashOperator.partial({ taskId: 'export' }).expandKwargs([
      { bashCommand: 'echo "exporting $TABLE"', env: { TABLE: 'orders' } },
      { bashCommand: 'echo "exporting $TABLE"', env: { TABLE: 'refunds' } },
    ]);

    // An empty list: `optional` is skipped (zero instances). A downstream with the default all_success
    // would be skipped too; with none_failed it runs.
    const upper = optional.expand(nothingToDo());
    new BashOperator({ taskId: 'after_optional', bashCommand: 'echo "runs even though optional was skipped"', triggerRule: 'none_failed' }).after(upper);
  },
);
