/**
 * Templated values never run as shell code: the `shquote` filter makes any value one shell word (checked
 * by a real bash), and the bundled templating example, triggered with hostile run ids, runs none of the
 * commands they carry while still printing the run id as text.
 */
import { triggerDagRun } from '../../src/services/triggerRun.ts';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EXAMPLE_DAGS_FOLDER } from '../../src/app/roles.ts';
import { taskLogPath } from '../../src/logging/taskLog.ts';
import { shellQuote } from '../../src/templating/index.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const HOSTILE = ["it's", 'a"b', '$(id)', '`id`', '$HOME', 'a\nb', '; rm -rf x', "'", '', '\\', '*'];

describe('shquote', () => {
  test('bash reads every quoted value back as exactly that value', () => {
    for (const value of HOSTILE) {
      const out = execFileSync('bash', ['-c', `printf %s ${shellQuote(value)}`], { encoding: 'utf8' });
      assert.equal(out, value, `value ${JSON.stringify(value)}`);
    }
  });

  test('numbers, null, plain objects and values with their own text', () => {
    assert.equal(shellQuote(3), "'3'");
    assert.equal(shellQuote(null), "''");
    assert.equal(shellQuote({ a: 1 }), `'{"a":1}'`);
    assert.equal(shellQuote(new Date(0)), `'${String(new Date(0))}'`);
  });
});

describe('the templating example with hostile run ids', () => {
  let t: TestEngine;
  const markers = mkdtempSync(join(tmpdir(), 'capstan-pwned-'));
  const marker = (name: string) => join(markers, name);
  before(async () => {
    t = await startTestEngine();
    for (const f of ['example_templating.ts', 'example_templating_report.sh']) copyFileSync(join(EXAMPLE_DAGS_FOLDER, f), join(t.dagsFolder, f));
    await t.processor.processOnce();
  });
  after(async () => {
    await t.stop();
    rmSync(markers, { recursive: true, force: true });
  });

  test('no command in a run id runs; the report prints the run id as text', async () => {
    const runIds = [`r$(touch ${marker('dollar')})`, `r\`touch ${marker('backtick')}\``, `r'; touch ${marker('quote')}; echo '`, `r"; touch ${marker('dquote')}; echo "`];
    // The default core.allowedRunIdPattern refuses these ids; the example must stay safe where an operator loosened it.
    for (const runId of runIds) await triggerDagRun(t.engine.db, { dagId: 'example_templating', runId, runIdPattern: '^.+$' }, Date.now());
    t.scheduler.wake();
    for (const runId of runIds) {
      const run = await t.waitForRun('example_templating', runId, { timeoutMs: 60_000 });
      assert.equal(run.state, 'success', `${runId}: ${JSON.stringify(await t.taskStates('example_templating', runId))}`);
      const log = readFileSync(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'example_templating', runId, taskId: 'report', mapIndex: -1, tryNumber: 1 }), 'utf8');
      assert.ok(log.includes(`(run ${runId}, try 1)`), `the report did not print run id ${runId} as text:\n${log}`);
    }
    for (const name of ['dollar', 'backtick', 'quote', 'dquote']) assert.equal(existsSync(marker(name)), false, `the run id's command ran (${name})`);
  });
});
