/**
 * The grid's mapped tasks and the log viewer's backwards reading, in Chromium against a real engine: a mapped
 * task shows one summary cell per run and expands into a row per map index (each opening that index); a log
 * longer than one read opens at its tail and "Load earlier lines" reads back to its first line, losing and
 * repeating no line at the chunk boundaries.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { CHROMIUM_MISSING, chromiumPath, collectPageProblems, launchChromium, seriousA11yViolations, type PageDocument } from './support/browser.ts';
import { newPage, signIn, startUiServer, type UiTestServer } from './support/uiServer.ts';

/** The page's document, inside page callbacks. */
declare const document: PageDocument;

/** Lines the long task prints: about 1.3 MB of log, five reads of the viewer's 256 KiB. */
const LONG_LINES = 15_000;

const DAG = `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'ui_mapped', schedule: null }, () => {
  BashOperator.partial({ taskId: 'fan', retries: 0 }).expand({ bashCommand: ['echo zero', 'echo one; exit 3', 'echo two'] });
  // The text comes from the environment, so a line of the command itself (if logged) cannot match it.
  new BashOperator({ taskId: 'long_log', env: { TEXT: 'of a long log, padded so that it fills more bytes' }, appendEnv: true, bashCommand: 'for i in $(seq 1 ${LONG_LINES}); do echo "row $i $TEXT"; done' });
});
`;

describe('web UI: mapped tasks in the grid, a long log read backwards', { skip: chromiumPath ? false : CHROMIUM_MISSING }, () => {
  let s: UiTestServer;
  let browser: Browser;
  let runId: string;
  before(async () => {
    [s, browser] = await Promise.all([startUiServer({ dags: { 'ui_mapped.ts': DAG } }), launchChromium()]);
    const unpause = await s.t.apiFetch('/api/v2/dags/ui_mapped', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"isPaused":false}' });
    assert.equal(unpause.status, 200);
    runId = (await s.t.trigger('ui_mapped')).run_id;
    const run = await s.t.waitForRun('ui_mapped', runId, { timeoutMs: 120_000 });
    assert.equal(run.state, 'failed', 'map index 1 fails the run');
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  test('a mapped task: summary cell, expanded into its map indexes, each opening its instance', { timeout: 90_000 }, async () => {
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url);
    await page.goto(`${s.url}/dags/ui_mapped/grid`);
    const summary = page.locator(`.grid-cell[aria-label^="fan in ${runId}"]`);
    await summary.waitFor();
    assert.equal(await summary.getAttribute('data-state'), 'failed', 'the summary shows the most urgent index');
    assert.match((await summary.getAttribute('aria-label')) ?? '', /\(3 mapped: (2 success, 1 failed|1 failed, 2 success)\)/);
    assert.equal(await page.locator('.grid-cell[aria-label^="fan["]').count(), 0, 'collapsed at first');

    const expand = page.getByRole('button', { name: 'Expand the map indexes of fan' });
    await expand.click();
    await page.locator(`.grid-cell[aria-label^="fan[2] in ${runId}"]`).waitFor();
    const states = await page.evaluate(() => Array.from(document.querySelectorAll('.grid-cell[aria-label^="fan["]')).map((c) => `${(c.getAttribute('aria-label') ?? '').split(' in ')[0]}=${c.getAttribute('data-state')}`));
    assert.deepEqual(states.sort(), ['fan[0]=success', 'fan[1]=failed', 'fan[2]=success']);
    assert.equal(await page.getByRole('button', { name: 'Collapse the map indexes of fan' }).getAttribute('aria-expanded'), 'true');
    assert.deepEqual(await seriousA11yViolations(page), [], 'grid with an expanded mapped task');

    await page.locator(`.grid-cell[aria-label^="fan[1] in ${runId}"]`).click();
    await page.waitForURL(/\/tasks\/fan\?map=1$/);
    await page.getByRole('heading', { name: 'fan', level: 1 }).waitFor();
    await page.locator('.log-line', { hasText: /\bone\s*$/ }).first().waitFor();

    await page.goBack();
    await page.getByRole('button', { name: 'Collapse the map indexes of fan' }).click();
    await page.getByRole('button', { name: 'Expand the map indexes of fan' }).waitFor();
    assert.equal(await page.locator('.grid-cell[aria-label^="fan["]').count(), 0, 'collapsed again');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a log longer than one read: opened at its tail, earlier lines read back to the first, none lost or repeated', { timeout: 90_000 }, async () => {
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url);
    await page.goto(`${s.url}/dags/ui_mapped/runs/${encodeURIComponent(runId)}/tasks/long_log`);
    await page.locator('.log-line', { hasText: `row ${LONG_LINES} of a long log` }).waitFor();
    // "Load earlier lines", or "Loading earlier lines…" while a read is under way.
    const earlier = page.getByRole('button', { name: /^Load(ing)? earlier lines/ });
    assert.equal(await earlier.count(), 1, 'the start is not loaded yet');
    const lineCount = async () => Number(await page.locator('.log-lines').getAttribute('data-line-count'));
    const moreThan = (n: number) => page.waitForFunction((k) => Number(document.querySelector('.log-lines')?.getAttribute('data-line-count')) > k, n);
    const idle = () => page.waitForFunction(() => !Array.from(document.querySelectorAll('button')).some((b) => b.textContent === 'Loading earlier lines…'));

    // Scrolling to the top of what is loaded reads the part before it.
    const atTail = await lineCount();
    assert.ok(atTail > 0 && atTail < LONG_LINES, `only the tail is loaded (${atTail} lines)`);
    await page.locator('.log-lines').evaluate((el) => {
      (el as unknown as { scrollTop: number }).scrollTop = 0;
    });
    await moreThan(atTail);
    await idle();
    let reads = 1;
    while ((await earlier.count()) > 0) {
      const before = await lineCount();
      await earlier.click();
      await moreThan(before);
      await idle();
      assert.ok(++reads < 20, 'reads back to the start in a few steps');
    }
    assert.ok(reads >= 3, `several reads (${reads})`);
    const search = page.getByRole('searchbox', { name: 'Search the log' });
    await search.fill('of a long log');
    const shown = Number(/of (\d+)/.exec((await page.locator('.log-toolbar [aria-live="polite"]').textContent()) ?? '')?.[1] ?? 0);
    assert.equal(shown, LONG_LINES, 'every line once');
    await search.fill(`row 1 of a long log`);
    await page.locator('.log-line', { hasText: /row 1 of a long log/ }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });
});
