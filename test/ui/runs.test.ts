/**
 * The seed's user story in Chromium against a real engine, with no CLI: trigger a DAG through its params
 * form (a bad value is refused inline by the server), watch its tasks turn green in the grid and graph
 * without reloading, read a running task's log as new lines arrive, read why a task failed, clear it and
 * watch the rerun succeed, mark a task, browse runs and task instances across DAGs; a Viewer is offered
 * none of the actions and is refused (403) when calling the API anyway.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_MISSING, chromiumPath, collectPageProblems, launchChromium, screenshot, seriousA11yViolations, type PageDocument } from './support/browser.ts';

/** The page's document, inside page callbacks. */
declare const document: PageDocument;
import { newPage, signIn, startUiServer, type UiTestServer } from './support/uiServer.ts';

const markerDir = mkdtempSync(join(tmpdir(), 'capstan-ui-marker-'));
const MARKER = join(markerDir, 'fixed');

const UI_FLOW = `
import { BashOperator, chain, dag } from 'capstan';
export default dag(
  {
    dagId: 'ui_flow',
    schedule: null,
    tags: ['ui'],
    params: {
      lines: { default: 3, type: 'integer', minimum: 1, maximum: 50, description: 'lines the stream task prints' },
      mode: { default: 'fast', enum: ['fast', 'slow'] },
    },
  },
  () => {
    const prepare = new BashOperator({ taskId: 'prepare', bashCommand: 'echo preparing' });
    const stream = new BashOperator({
      taskId: 'stream',
      env: { LINES: '{{ params.lines }}', MODE: '{{ params.mode }}' },
      appendEnv: true,
      bashCommand: 'for i in $(seq 1 "$LINES"); do printf "\\\\033[32mline %s\\\\033[0m\\\\n" "$i"; if [ "$MODE" = slow ]; then sleep 0.5; fi; done',
    });
    const flaky = new BashOperator({ taskId: 'flaky', retries: 0, bashCommand: 'test -f ${MARKER} || { echo "marker missing"; exit 3; }' });
    chain(prepare, [stream, flaky]);
  },
);
`;

/** The grid cell of `taskId` in the newest run shown. */
function cell(page: Page, taskId: string) {
  return page.locator(`.grid-cell[aria-label^="${taskId} in "]`).last();
}

describe('web UI: trigger, watch, read logs, fix a failure', { skip: chromiumPath ? false : CHROMIUM_MISSING }, () => {
  let s: UiTestServer;
  let browser: Browser;
  before(async () => {
    [s, browser] = await Promise.all([startUiServer({ dags: { 'ui_flow.ts': UI_FLOW } }), launchChromium()]);
    await s.t.engine.auth.createUser({ username: 'viewer', password: 'viewer-password', role: 'Viewer' });
    const unpause = await s.t.apiFetch('/api/v2/dags/ui_flow', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"isPaused":false}' });
    assert.equal(unpause.status, 200);
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
    rmSync(markerDir, { recursive: true, force: true });
  });

  test('params form → inline server error → run → grid, graph and log live → failure explained → clear → success; mark', { timeout: 180_000 }, async () => {
    const { context, page } = await newPage(browser);
    // The refused trigger is an expected 400.
    const problems = collectPageProblems(page, { allowStatuses: [400, 401] });
    await signIn(page, s.url, undefined, undefined, '/dags/ui_flow');
    await page.getByText('No runs yet: trigger one.').waitFor();
    await page.getByRole('button', { name: '▶ Trigger' }).click();
    const dialog = page.getByRole('dialog', { name: 'Trigger ui_flow' });
    await dialog.getByLabel(/^lines/).waitFor();
    assert.deepEqual(await dialog.getByLabel(/^mode/).locator('option').allTextContents(), ['(default)', 'fast', 'slow'], 'an enum param is a dropdown');
    assert.match((await dialog.textContent()) ?? '', /lines the stream task prints/);
    await dialog.getByLabel(/^lines/).fill('0');
    await dialog.getByRole('button', { name: 'Trigger', exact: true }).click();
    await dialog.locator('.field-error').filter({ hasText: /must be >= 1/ }).waitFor();
    assert.equal(await dialog.getByLabel(/^lines/).getAttribute('aria-invalid'), 'true');
    assert.deepEqual(await seriousA11yViolations(page), [], 'trigger form');
    await screenshot(page, 'trigger-form-error');
    const refused = await s.t.apiFetch('/api/v2/dags/ui_flow/dagRuns');
    assert.equal(((await refused.json()) as { totalEntries: number }).totalEntries, 0, 'the refused conf made no run');

    await dialog.getByLabel(/^lines/).fill('14');
    await dialog.getByLabel(/^mode/).selectOption('slow');
    await dialog.getByRole('button', { name: 'Trigger', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('status').filter({ hasText: /^Triggered manual__/ }).waitFor();
    // No reload from here on: the events stream moves the grid.
    await page.waitForFunction(() => document.querySelector('.grid-cell[aria-label^="prepare in "]')?.getAttribute('data-state') === 'success', undefined, { timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('.grid-cell[aria-label^="stream in "]')?.getAttribute('data-state') === 'running', undefined, { timeout: 60_000 });
    assert.deepEqual(await seriousA11yViolations(page), [], 'grid');
    await screenshot(page, 'grid-running');

    // The running task's log follows live: lines arrive while the page is open.
    await cell(page, 'stream').click();
    await page.waitForURL(/\/dags\/ui_flow\/runs\/manual__[^/]+\/tasks\/stream$/);
    await page.getByRole('log', { name: 'Log lines' }).waitFor();
    await page.getByText('● following live').waitFor();
    const linesNow = async () => page.locator('.log-line .ansi-green-fg').count();
    await page.waitForFunction(() => document.querySelectorAll('.log-line .ansi-green-fg').length > 0);
    const first = await linesNow();
    await page.locator('.log-line', { hasText: 'line 14' }).waitFor({ timeout: 60_000 });
    assert.ok((await linesNow()) > first, `new lines arrived (${first} → ${await linesNow()})`);
    await page.getByText('complete', { exact: true }).waitFor();
    await page.getByLabel('Search the log').fill('line 1');
    await page.getByText(/^1 of 6$/).waitFor(); // line 1, line 10 … line 14
    assert.ok((await page.locator('.log-line mark').count()) >= 6);
    assert.deepEqual(await seriousA11yViolations(page), [], 'log view');
    await screenshot(page, 'task-log');

    // The failed task says why; after the fix, a clear reruns it.
    await page.getByRole('link', { name: 'ui_flow' }).click();
    await page.waitForFunction(() => document.querySelector('.grid-cell[aria-label^="flaky in "]')?.getAttribute('data-state') === 'failed', undefined, { timeout: 60_000 });
    await cell(page, 'flaky').click();
    await page.getByRole('tab', { name: 'Details' }).click();
    await page.getByText(/exit code 3/).waitFor();
    await page.getByRole('tab', { name: 'Logs' }).click();
    await page.locator('.log-line', { hasText: 'marker missing' }).first().waitFor();
    await page.getByRole('tab', { name: 'Try history' }).click();
    await page.getByRole('button', { name: 'Log of try 1' }).waitFor();
    await page.getByRole('tab', { name: "Why isn't it running?" }).click();
    await page.getByLabel('Why this task is not running').waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], 'task instance panel');
    await screenshot(page, 'task-why');
    writeFileSync(MARKER, 'ok');
    await page.getByRole('button', { name: 'Clear', exact: true }).click();
    const confirm = page.getByRole('dialog', { name: 'Clear task instances' });
    await confirm.getByText(/These 1 task instance will be cleared/).waitFor();
    assert.match((await confirm.locator('.preview-list').textContent()) ?? '', /flaky.*\(now failed\)/);
    await screenshot(page, 'clear-confirm');
    await confirm.getByRole('button', { name: 'Confirm' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await page.locator('.dag-header .state-badge', { hasText: 'success' }).waitFor({ timeout: 60_000 });
    assert.match((await page.locator('.dag-header').textContent()) ?? '', /try 2 of 1|try 2/);

    // Graph: laid out by the worker, states of the run.
    await page.getByRole('link', { name: 'ui_flow' }).click();
    await page.getByRole('link', { name: 'Graph' }).click();
    await page.locator('.graph-canvas[data-laid-out="true"]').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__node.state-border-success').length === 3, undefined, { timeout: 30_000 });
    await page.getByLabel('Find a task').fill('flaky');
    await page.locator('.react-flow__node.match').waitFor();
    await page.locator('.react-flow__node', { hasText: 'prepare' }).click();
    await page.waitForURL(/task=prepare/);
    assert.equal(await page.locator('.react-flow__node.downstream').count(), 2, 'downstream of prepare highlighted');
    assert.deepEqual(await seriousA11yViolations(page), [], 'graph');
    await screenshot(page, 'graph');

    // Mark: stream as failed (confirmed against the dry run).
    const runId = ((await (await s.t.apiFetch('/api/v2/dags/ui_flow/dagRuns')).json()) as { dagRuns: Array<{ dagRunId: string }> }).dagRuns[0]?.dagRunId ?? '';
    await page.goto(`${s.url}/dags/ui_flow/runs/${encodeURIComponent(runId)}/tasks/stream?tab=details`);
    await page.getByRole('button', { name: 'Mark failed' }).click();
    const mark = page.getByRole('dialog', { name: 'Mark as failed' });
    await mark.getByText(/These 1 task instance will be marked failed/).waitFor();
    await mark.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('.dag-header .state-badge', { hasText: 'failed' }).waitFor();

    // Browse across DAGs.
    await page.getByRole('link', { name: 'Runs', exact: true }).first().click();
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    await page.getByRole('link', { name: runId }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], 'runs browse');
    await screenshot(page, 'browse-runs');
    await page.getByRole('link', { name: 'Task instances', exact: true }).click();
    await page.getByRole('heading', { name: 'Task instances', level: 1 }).waitFor();
    await page.getByLabel('State').selectOption('failed');
    await page.waitForURL(/tiState=failed/);
    await page.locator('tbody tr', { hasText: 'stream' }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], 'task instances browse');
    await screenshot(page, 'browse-task-instances');
    await page.goto(`${s.url}/dags/ui_flow/runs/${encodeURIComponent(runId)}`);
    await page.getByRole('heading', { name: 'Task instances' }).waitFor();
    await page.locator('tbody tr').nth(2).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], 'run page');
    await screenshot(page, 'run');
    assert.deepEqual(problems.filter((p) => !/HTTP 400 POST .*\/dagRuns$/.test(p)), []);
    await context.close();
  });

  test('a Viewer is offered no trigger, clear or mark, and the API refuses it anyway', async () => {
    const runId = ((await (await s.t.apiFetch('/api/v2/dags/ui_flow/dagRuns')).json()) as { dagRuns: Array<{ dagRunId: string }> }).dagRuns[0]?.dagRunId;
    assert.ok(runId, 'the first test made a run');
    const { context, page } = await newPage(browser);
    await signIn(page, s.url, 'viewer', 'viewer-password', `/dags/ui_flow/runs/${encodeURIComponent(runId)}/tasks/prepare`);
    await page.getByRole('heading', { name: 'prepare', level: 1 }).waitFor();
    await page.locator('.dag-header .state-badge').waitFor();
    for (const name of ['Clear', 'Mark success', 'Mark failed']) assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, name);
    await page.goto(`${s.url}/dags/ui_flow`);
    await page.getByRole('heading', { name: 'ui_flow', level: 1 }).waitFor();
    await page.locator('.grid-cell').first().waitFor();
    assert.equal(await page.getByRole('button', { name: '▶ Trigger' }).count(), 0);
    // The same session calling the API directly, CSRF header and all, is refused.
    const status = await page.evaluate(async () => {
      const csrf = /capstan_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '';
      const r = await fetch('/api/v2/dags/ui_flow/dagRuns', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf) }, body: '{}' });
      return r.status;
    });
    assert.equal(status, 403);
    await context.close();
  });
});
