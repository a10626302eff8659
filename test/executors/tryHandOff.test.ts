/**
 * What a reused task process does between tries since issue 18: it rehearses a try's path before its first one
 * (src/runtime/warmUp.ts), and it offers its slot as soon as it reports a try's outcome, taking the try queued
 * into that slot once its own is over (callbacks, end of log). Real task processes, one slot (parallelism 1), so
 * the order in which the tries write their marks file is the order in which they ran.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { waitFor } from '../support/processes.ts';
import { pullXCom } from '../../src/store/xcom.ts';

const folder = mkdtempSync(join(tmpdir(), 'capstan-handoff-test-'));
const MARKS = join(folder, 'marks.txt');

const DAGS = `
import { appendFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dag, task } from 'capstan';
const mark = (line: string) => appendFileSync(${JSON.stringify(MARKS)}, line + '\\n');
dag({ dagId: 'handoff', schedule: null }, () => {
  for (const id of ['a', 'b']) {
    task(
      {
        taskId: id,
        // A slow success callback: the next try must not start before it is over.
        onSuccess: async () => {
          await new Promise((r) => setTimeout(r, 300));
          mark('callback done ' + id);
        },
      },
      () => {
        mark('start ' + id);
        return { pid: process.pid, warmUpLeftovers: readdirSync(tmpdir()).filter((f) => f.startsWith('capstan-warm-up-' + process.pid + '-')) };
      },
    )();
  }
});
dag({ dagId: 'warm_up_left_nothing', schedule: null }, () => {
  task({ taskId: 'look' }, () => ({
    dags: Object.getOwnPropertyNames(globalThis).filter((n) => /warm/i.test(n)),
    leftovers: readdirSync(tmpdir()).filter((f) => f.startsWith('capstan-warm-up-' + process.pid + '-')),
  }))();
});
`;

describe('reused task processes: warm-up and hand-off', () => {
  let t: TestEngine;
  before(async () => {
    t = await startTestEngine({
      dags: { 'handoff.ts': DAGS },
      env: {
        CAPSTAN__CORE__PARALLELISM: '1',
        CAPSTAN__LOCAL_EXECUTOR__WARM_PROCESSES: '1',
        CAPSTAN__LOCAL_EXECUTOR__REUSE_PROCESSES: 'true',
      },
    });
  });
  after(async () => {
    await t.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  test('a try queued while the previous one reports waits for its callbacks, then runs in the same process', async () => {
    const r = await t.trigger('handoff');
    assert.equal((await t.waitForRun('handoff', r.run_id)).state, 'success');
    // The run ends with the last try's outcome; its callback may still be running.
    const read = (): string[] => readFileSync(MARKS, 'utf8').trim().split('\n');
    await waitFor(async () => read().length >= 4, `the last callback did not finish: ${read().join(' | ')}`);
    const lines = read();
    const [first, second] = lines[0] === 'start a' ? ['a', 'b'] : ['b', 'a'];
    assert.deepEqual(lines, [`start ${first}`, `callback done ${first}`, `start ${second}`, `callback done ${second}`], 'one slot: never two tries (or a try and a callback) at once');
    const a = (await pullXCom(t.engine.db, r.id, 'a', 'return_value')) as { pid: number; warmUpLeftovers: string[] };
    const b = (await pullXCom(t.engine.db, r.id, 'b', 'return_value')) as { pid: number; warmUpLeftovers: string[] };
    assert.equal(a.pid, b.pid, 'the second try was handed to the process the first one ran in');
    assert.deepEqual([...a.warmUpLeftovers, ...b.warmUpLeftovers], [], 'the warm-up removed its task log folder');
  });

  test('the warm-up leaves no global and no file to the first try of a process', async () => {
    const r = await t.trigger('warm_up_left_nothing');
    assert.equal((await t.waitForRun('warm_up_left_nothing', r.run_id)).state, 'success');
    assert.deepEqual(await pullXCom(t.engine.db, r.id, 'look', 'return_value'), { dags: [], leftovers: [] });
  });
});
