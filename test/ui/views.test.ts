/**
 * The DAG page's Gantt, calendar, code, backfill and audit views, the task instance's XCom tab, run notes,
 * the roles page and bulk clear on a filtered selection — in Chromium against a real engine with the example
 * DAGs, each view on real data, axe-checked, with screenshots in light and dark themes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { waitFor } from '../support/processes.ts';
import { CHROMIUM_MISSING, chromiumPath, collectPageProblems, launchChromium, screenshot, seriousA11yViolations, type PageDocument } from './support/browser.ts';
import { newPage, signIn, startUiServer, type UiTestServer } from './support/uiServer.ts';

/** The page's document, inside page callbacks. */
declare const document: PageDocument;

/** Two tasks that always fail, one that succeeds. */
const UI_BULK = `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'ui_bulk', schedule: null, tags: ['ui'] }, () => {
  new BashOperator({ taskId: 'fail_a', retries: 0, bashCommand: 'exit 4' });
  new BashOperator({ taskId: 'fail_b', retries: 0, bashCommand: 'exit 5' });
  new BashOperator({ taskId: 'fine', bashCommand: 'echo fine' });
});
`;

/** A task whose XCom holds a secret-named field: the server masks it, so the page never sees it. */
const UI_XCOM = `
import { dag, task } from 'capstan';
const login = task({ taskId: 'login' }, () => ({ user: 'etl', password: 'hunter2-not-shown' }));
export default dag({ dagId: 'ui_xcom', schedule: null }, () => { login(); });
`;

/** A pod task whose connection does not exist, on a server with no cluster: the Kubernetes tab is offered and says why it has nothing. */
const UI_POD = `
import { dag, KubernetesPodOperator } from 'capstan';
export default dag({ dagId: 'ui_pod', schedule: null }, () => {
  new KubernetesPodOperator({ taskId: 'in_pod', kubernetesConnId: 'no_such_cluster', image: 'busybox:1.36', cmds: ['true'], retries: 0 });
});
`;

interface Run {
  dagRunId: string;
  state: string;
  note: string | null;
}

describe('web UI: DAG views, XCom, notes, roles, bulk actions', { skip: chromiumPath ? false : CHROMIUM_MISSING }, () => {
  let s: UiTestServer;
  let browser: Browser;
  const json = async <T,>(path: string, init?: RequestInit): Promise<T> => {
    const r = await s.t.apiFetch(path, init);
    assert.ok(r.ok, `${init?.method ?? 'GET'} ${path}: HTTP ${r.status} ${await r.clone().text()}`);
    return (await r.json()) as T;
  };
  const send = (method: string, path: string, body: unknown) => json<unknown>(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const runOf = (dagId: string, runId: string) => json<Run>(`/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}`);
  /** Trigger `dagId` through the API and wait until the run ends; answers its id. */
  const runToEnd = async (dagId: string): Promise<string> => {
    await waitFor(async () => (await s.t.apiFetch(`/api/v2/dags/${dagId}`)).ok, `${dagId} parsed`, 60_000);
    await send('PATCH', `/api/v2/dags/${dagId}`, { isPaused: false });
    const run = (await send('POST', `/api/v2/dags/${dagId}/dagRuns`, {})) as Run;
    await waitFor(async () => ['success', 'failed'].includes((await runOf(dagId, run.dagRunId)).state), `${dagId} run ends`, 120_000);
    return run.dagRunId;
  };

  before(async () => {
    [s, browser] = await Promise.all([startUiServer({ dags: { 'ui_bulk.ts': UI_BULK, 'ui_xcom.ts': UI_XCOM, 'ui_pod.ts': UI_POD } }), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  test('Gantt of a run, code with parse time, XCom entries with masked values on demand', { timeout: 240_000 }, async () => {
    const [bashRun, flowRun, secretRun] = await Promise.all([runToEnd('example_bash'), runToEnd('example_taskflow'), runToEnd('ui_xcom')]);
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url, undefined, undefined, `/dags/example_bash/gantt?run=${encodeURIComponent(bashRun)}`);
    await page.locator('.gantt-row').nth(4).waitFor();
    assert.equal(await page.locator('.gantt-row').count(), 5, 'a row per task');
    assert.equal(await page.locator('.gantt-bar-link[data-state="success"]').count(), 4, 'start, greet, count and finish ran');
    assert.equal(await page.locator('.gantt-bar-link[data-state="skipped"]').count(), 1, 'maybe_skip skipped');
    const greet = page.getByRole('link', { name: /^greet try 1: success, ran/ });
    await greet.hover();
    const tip = page.getByRole('tooltip');
    await tip.waitFor();
    assert.match((await tip.textContent()) ?? '', /greet.*try 1.*Queued.*Started.*Ended.*Ran/s);
    assert.deepEqual(await seriousA11yViolations(page), [], 'gantt');
    await screenshot(page, 'dag-gantt');
    await greet.click();
    await page.waitForURL(/\/runs\/[^/]+\/tasks\/greet\?try=1$/);

    // (The bundled examples live outside core.dagsFolder, whose files alone the API server reads.)
    await waitFor(async () => (await s.t.apiFetch('/api/v2/dags/ui_bulk')).ok, 'ui_bulk parsed', 60_000);
    await page.goto(`${s.url}/dags/ui_bulk/code`);
    const source = page.getByLabel(/^Source of .*ui_bulk\.ts$/);
    await source.waitFor();
    assert.match((await source.textContent()) ?? '', /dagId: 'ui_bulk'/);
    const details = (await page.getByRole('region', { name: 'DAG source' }).locator('dl').textContent()) ?? '';
    assert.match(details, /Parse time\d+(\.\d)? (ms|s)/, `parse time shown: ${details}`);
    assert.deepEqual(await seriousA11yViolations(page), [], 'code');
    await screenshot(page, 'dag-code');

    await page.goto(`${s.url}/dags/example_taskflow/runs/${encodeURIComponent(flowRun)}/tasks/extract?tab=xcom`);
    const row = page.locator('tr[data-xcom-key="return_value"]');
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /return_value\d+ B/);
    await row.getByRole('button', { name: 'Show value of return_value' }).click();
    const value = page.getByLabel('Value of return_value');
    await value.waitFor();
    assert.deepEqual(JSON.parse((await value.textContent()) ?? ''), { rows: [3, 1, 4, 1, 5, 9] });
    assert.deepEqual(await seriousA11yViolations(page), [], 'xcom tab');
    await screenshot(page, 'ti-xcom');

    await page.goto(`${s.url}/dags/ui_xcom/runs/${encodeURIComponent(secretRun)}/tasks/login?tab=xcom`);
    await page.getByRole('button', { name: 'Show value of return_value' }).click();
    const masked = (await page.getByLabel('Value of return_value').textContent()) ?? '';
    assert.deepEqual(JSON.parse(masked), { user: 'etl', password: '***' }, 'the secret-named field is masked');
    assert.ok(!(await page.content()).includes('hunter2'), 'the secret is nowhere in the page');

    // Browse › XComs: across DAGs, filtered by exact ids on submit.
    await page.goto(`${s.url}/browse/xcoms`);
    await page.getByRole('heading', { name: 'XComs', level: 1 }).waitFor();
    await page.getByLabel('DAG id').fill('example_taskflow');
    await page.getByLabel('Task id').fill('transform');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/dag=example_taskflow.*task=transform/);
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1 && (document.querySelector('tbody tr')?.textContent ?? '').includes('transform'));
    await page.getByRole('button', { name: 'Show value of return_value' }).click();
    assert.equal((await page.getByLabel('Value of return_value').textContent())?.trim(), '23', 'transform summed the rows');
    assert.deepEqual(await seriousA11yViolations(page), [], 'xcom browse');
    await screenshot(page, 'browse-xcoms');

    // A note on the run, kept by the server: shown again after a reload.
    await page.goto(`${s.url}/dags/example_bash/runs/${encodeURIComponent(bashRun)}`);
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.getByRole('textbox', { name: `Note of run ${bashRun}` }).fill('checked by the UI test');
    await page.getByRole('button', { name: 'Save note' }).click();
    await page.getByText('checked by the UI test').waitFor();
    assert.equal((await runOf('example_bash', bashRun)).note, 'checked by the UI test');
    await page.reload();
    await page.getByText('checked by the UI test').waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], 'run with note');
    await screenshot(page, 'run-note');
    await page.getByRole('link', { name: 'Gantt chart of this run' }).click();
    await page.waitForURL((u) => u.pathname === '/dags/example_bash/gantt' && u.searchParams.get('run') === bashRun);
    await page.locator('.gantt-row').nth(4).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('backfill: the dry run lists its runs, then create, pause, unpause, cancel; calendar and audit show it', { timeout: 240_000 }, async () => {
    await waitFor(async () => (await s.t.apiFetch('/api/v2/dags/example_branching')).ok, 'example_branching parsed', 60_000);
    await send('PATCH', '/api/v2/dags/example_branching', { isPaused: false });
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url, undefined, undefined, '/dags/example_branching/backfills');
    const form = page.getByRole('form', { name: 'New backfill' });
    await form.getByLabel('From (logical date)').fill('2026-10-01');
    await form.getByLabel('To (inclusive)').fill('2026-10-30');
    await form.getByLabel('Runs at once').fill('1');
    await page.waitForURL(/bfFrom=2026-10-01.*bfTo=2026-10-30.*bfMax=1/);
    await form.getByRole('button', { name: 'Preview runs' }).click();
    await page.getByRole('status').filter({ hasText: 'This backfill would make 30 runs' }).waitFor();
    assert.equal(await page.locator('.backfill-plan tr[data-action="create"]').count(), 30);
    assert.match((await page.locator('.backfill-plan tbody tr').first().textContent()) ?? '', /2026-10-01.*backfill__2026-10-01.*create/);
    assert.equal(((await json<{ totalEntries: number }>('/api/v2/backfills?dagId=example_branching')).totalEntries), 0, 'the dry run made nothing');
    assert.deepEqual(await seriousA11yViolations(page), [], 'backfill dry run');
    await screenshot(page, 'dag-backfill-dry-run');

    await page.getByRole('button', { name: 'Create backfill' }).click();
    await page.getByRole('status').filter({ hasText: /Backfill \d+ created: 30 runs queued/ }).waitFor();
    const row = page.locator('tr[data-backfill]').first();
    await row.locator('.backfill-status', { hasText: 'running' }).waitFor();
    await row.getByRole('button', { name: /^Pause backfill/ }).click();
    await row.locator('.backfill-status', { hasText: 'paused' }).waitFor();
    const id = Number(await row.getAttribute('data-backfill'));
    assert.equal((await json<{ isPaused: boolean }>(`/api/v2/backfills/${id}`)).isPaused, true);
    await row.getByRole('button', { name: /^Unpause backfill/ }).click();
    await row.locator('.backfill-status', { hasText: 'running' }).waitFor();
    await row.getByRole('button', { name: /^Cancel backfill/ }).click();
    await page.getByRole('dialog', { name: `Cancel backfill ${id}` }).getByRole('button', { name: 'Cancel backfill' }).click();
    await row.locator('.backfill-status', { hasText: 'cancelled' }).waitFor();
    const ended = await json<{ completedAt: string | null; runs: { failed: number; total: number } }>(`/api/v2/backfills/${id}`);
    assert.ok(ended.completedAt, 'cancelled on the server');
    assert.ok(ended.runs.failed > 0, `its queued runs failed (${JSON.stringify(ended.runs)})`);
    assert.deepEqual(await seriousA11yViolations(page), [], 'backfill list');
    await screenshot(page, 'dag-backfills');

    await page.getByRole('link', { name: 'Calendar' }).click();
    await page.waitForURL(/\/dags\/example_branching\/calendar$/);
    const oct5 = page.locator('button.calendar-day[data-day="2026-10-05"]');
    await oct5.waitFor();
    assert.match((await oct5.getAttribute('aria-label')) ?? '', /^2026-10-05: 1 run \(1 (success|failed|running|queued)\)$/);
    const days = await page.locator('button.calendar-day').count();
    assert.ok(days >= 30, `a square per day with runs (${days})`);
    assert.ok((await page.locator('button.calendar-day.state-fill-failed').count()) > 0, 'the cancelled runs show as failed days');
    await oct5.click();
    await page.waitForURL(/day=2026-10-05/);
    await page.getByRole('heading', { name: /^2026-10-05: 1 run/ }).waitFor();
    await page.getByRole('link', { name: /^backfill__2026-10-05/ }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], 'calendar');
    await screenshot(page, 'dag-calendar');

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(/\/dags\/example_branching\/audit$/);
    await page.locator('tbody code', { hasText: 'backfill.cancel' }).waitFor();
    await page.locator('tbody code', { hasText: 'dag.backfill' }).first().waitFor();
    await page.getByRole('textbox', { name: 'Event' }).fill('backfill.cancel');
    await page.waitForURL(/event=backfill.cancel/);
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
    assert.deepEqual(await seriousA11yViolations(page), [], 'dag audit');
    await screenshot(page, 'dag-audit');

    // The same views in the dark theme (the system's, as the browser reports it).
    const dark = await newPage(browser, { colorScheme: 'dark' });
    const darkProblems = collectPageProblems(dark.page);
    await signIn(dark.page, s.url, undefined, undefined, '/dags/example_branching/calendar?day=2026-10-05');
    await dark.page.locator('button.calendar-day[aria-pressed="true"]').waitFor();
    assert.equal(await dark.page.evaluate(() => document.documentElement.dataset['theme']), 'dark');
    assert.deepEqual(await seriousA11yViolations(dark.page), [], 'calendar, dark');
    await screenshot(dark.page, 'dag-calendar-dark');
    await dark.page.goto(`${s.url}/dags/example_branching/backfills`);
    await dark.page.locator('tr[data-backfill]').first().waitFor();
    assert.deepEqual(await seriousA11yViolations(dark.page), [], 'backfills, dark');
    await screenshot(dark.page, 'dag-backfills-dark');
    await dark.page.goto(`${s.url}/dags/example_bash/gantt`);
    await dark.page.locator('.gantt-bar-link').first().waitFor();
    assert.deepEqual(await seriousA11yViolations(dark.page), [], 'gantt, dark');
    await screenshot(dark.page, 'dag-gantt-dark');
    assert.deepEqual([...problems, ...darkProblems], []);
    await dark.context.close();
    await context.close();
  });

  test('bulk clear on a filtered selection: the dry run lists every instance, then they rerun', { timeout: 240_000 }, async () => {
    const runs = [await runToEnd('ui_bulk'), await runToEnd('ui_bulk')];
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url, undefined, undefined, '/task-instances?tiState=failed&task=fail_&limit=3');
    await page.getByRole('heading', { name: 'Task instances', level: 1 }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('tbody tr input[type=checkbox]').length === 3);
    await page.getByRole('checkbox', { name: 'Select every task instance on this page' }).check();
    await page.getByRole('button', { name: 'Select all 4 that match the filter' }).click();
    await page.getByRole('status').filter({ hasText: '4 task instances selected (everything the filter matches)' }).waitFor();
    await page.getByRole('button', { name: 'Clear selected' }).click();
    const dialog = page.getByRole('dialog', { name: 'Clear the selected task instances' });
    await dialog.getByText('These 4 task instances will be cleared:').waitFor();
    const listed = (await dialog.locator('.bulk-preview li').allTextContents()).sort();
    assert.deepEqual(
      listed,
      runs.flatMap((r) => ['fail_a', 'fail_b'].map((t) => `${t} in ui_bulk / ${r} (now failed)`)).sort(),
    );
    assert.deepEqual(await seriousA11yViolations(page), [], 'bulk confirmation');
    await screenshot(page, 'bulk-clear-confirm');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.waitFor({ state: 'hidden' });
    // Each cleared instance runs (and fails) once more: try 2.
    for (const r of runs) {
      await waitFor(
        async () => {
          const tis = await json<{ taskInstances: Array<{ taskId: string; tryNumber: number; state: string }> }>(`/api/v2/dags/ui_bulk/dagRuns/${encodeURIComponent(r)}/taskInstances`);
          return tis.taskInstances.every((t) => (t.taskId === 'fine' ? t.tryNumber === 1 : t.tryNumber === 2 && t.state === 'failed'));
        },
        `the failed tasks of ${r} reran and the fine one did not`,
        120_000,
      );
    }
    // Mark success on two picked rows.
    await page.goto(`${s.url}/task-instances?tiState=failed&task=fail_`);
    await page.waitForFunction(() => document.querySelectorAll('tbody tr input[type=checkbox]').length === 4);
    await page.getByRole('checkbox', { name: `Select fail_a of ui_bulk / ${runs[0]}` }).check();
    await page.getByRole('checkbox', { name: `Select fail_b of ui_bulk / ${runs[0]}` }).check();
    await page.getByRole('button', { name: 'Mark selected success' }).click();
    const mark = page.getByRole('dialog', { name: 'Mark the selected as success' });
    await mark.getByText('These 2 task instances will be marked success:').waitFor();
    await mark.getByRole('button', { name: 'Confirm' }).click();
    await mark.waitFor({ state: 'hidden' });
    const first = await json<{ taskInstances: Array<{ state: string }> }>(`/api/v2/dags/ui_bulk/dagRuns/${encodeURIComponent(runs[0] ?? '')}/taskInstances`);
    assert.deepEqual(first.taskInstances.map((t) => t.state).sort(), ['success', 'success', 'success']);
    assert.deepEqual(await seriousA11yViolations(page), [], 'task instances with selection');
    await screenshot(page, 'bulk-task-instances');

    // One task's clear reaching earlier and later runs: the dry run names the instance in both runs.
    await page.goto(`${s.url}/dags/ui_bulk/runs/${encodeURIComponent(runs[1] ?? '')}/tasks/fail_a?tab=details`);
    await page.getByRole('button', { name: 'Clear', exact: true }).click();
    const clear = page.getByRole('dialog', { name: 'Clear task instances' });
    await clear.getByText('These 1 task instance will be cleared:').waitFor();
    await clear.getByLabel('Earlier runs').check();
    await clear.getByText('These 2 task instances will be cleared:').waitFor();
    assert.deepEqual((await clear.locator('.preview-list li').allTextContents()).sort(), runs.map((r) => `fail_a in ${r} (now ${r === runs[0] ? 'success' : 'failed'})`).sort());
    await clear.getByLabel('Later runs').check();
    await clear.getByLabel('Downstream tasks').check();
    await clear.getByText('These 2 task instances will be cleared:').waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], 'clear across runs');
    await screenshot(page, 'clear-across-runs');
    await clear.getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a Viewer sees the views but no backfill form or buttons, no bulk checkboxes, no note editing, no audit tab', { timeout: 120_000 }, async () => {
    await s.t.engine.auth.createUser({ username: 'viewer', password: 'viewer-password', role: 'Viewer' });
    const runId = (await json<{ dagRuns: Run[] }>('/api/v2/dags/ui_bulk/dagRuns?orderBy=-id&limit=1')).dagRuns[0]?.dagRunId;
    assert.ok(runId, 'an earlier test ran ui_bulk');
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url, 'viewer', 'viewer-password', '/dags/example_branching/backfills');
    await page.locator('tr[data-backfill]').first().waitFor();
    assert.equal(await page.getByRole('form', { name: 'New backfill' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /^(Pause|Unpause|Cancel) backfill/ }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Audit log' }).count(), 0, 'no audit tab without audit_log:read');
    await page.goto(`${s.url}/task-instances?task=fail_`);
    await page.locator('tbody tr', { hasText: 'fail_a' }).first().waitFor();
    assert.equal(await page.getByRole('checkbox').count(), 0);
    assert.equal(await page.getByRole('group', { name: 'Bulk actions' }).count(), 0);
    await page.goto(`${s.url}/dags/ui_bulk/runs/${encodeURIComponent(runId)}`);
    await page.getByText('No note.').waitFor();
    assert.equal(await page.getByRole('button', { name: /note$/ }).count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('the Kubernetes tab is offered for a pod task only, and shows what the API says about its pods', { timeout: 120_000 }, async () => {
    const [podRun, otherRun] = await Promise.all([runToEnd('ui_pod'), runToEnd('ui_xcom')]);
    const { context, page } = await newPage(browser);
    // No executor cluster, and the task's own connection is not defined: the pod routes answer 404 naming it, which the tab shows.
    const problems = collectPageProblems(page, { allowStatuses: [401, 404] });
    await signIn(page, s.url, undefined, undefined, `/dags/ui_pod/runs/${encodeURIComponent(podRun)}/tasks/in_pod`);
    await page.getByRole('tab', { name: 'Kubernetes' }).click();
    await page.waitForURL(/tab=k8s/);
    await page.getByText(/Kubernetes connection 'no_such_cluster' is not defined/).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], 'kubernetes tab');
    await screenshot(page, 'ti-kubernetes-no-cluster');
    await page.goto(`${s.url}/dags/ui_xcom/runs/${encodeURIComponent(otherRun)}/tasks/login`);
    await page.getByRole('tab', { name: 'XCom' }).waitFor();
    assert.equal(await page.getByRole('tab', { name: 'Kubernetes' }).count(), 0, 'no Kubernetes tab for a TaskFlow task on the LocalExecutor');
    assert.deepEqual(problems.filter((p) => !/HTTP 404 GET .*\/tries\/1\/pods/.test(p)), []);
    await context.close();
  });

  test('roles: built-in and custom roles, create and edit a custom role; API tokens listed and revoked', async () => {
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url, undefined, undefined, '/');
    await page.getByRole('button', { name: /^Admin/ }).click();
    await page.getByRole('link', { name: 'Roles' }).click();
    await page.getByRole('heading', { name: 'Roles', level: 1 }).waitFor();
    await page.getByRole('list', { name: 'Permissions of Admin' }).getByText('role:edit').waitFor();
    const form = page.getByRole('form', { name: 'New role' });
    await form.getByLabel('Name').fill('bash_viewers');
    await form.getByLabel('DAG tags (comma-separated)').fill('bash, example');
    await form.getByRole('button', { name: 'Add role' }).click();
    const row = page.locator('tr[data-role="bash_viewers"]');
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /bash_viewersViewer.*bash, example/);
    await row.getByRole('button', { name: 'Edit role bash_viewers' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit role bash_viewers' });
    await dialog.getByLabel('Based on').selectOption('Op');
    await dialog.getByLabel('Description').fill('operators of the bash DAGs');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await row.getByText('operators of the bash DAGs').waitFor();
    const stored = await json<{ baseRole: string; dagTags: string[] }>('/api/v2/roles/bash_viewers');
    assert.deepEqual(stored, { ...stored, baseRole: 'Op', dagTags: ['bash', 'example'] });
    assert.deepEqual(await seriousA11yViolations(page), [], 'roles');
    await screenshot(page, 'admin-roles');

    // Every user's API tokens: listed without secrets, revoked from here.
    // (Minted by the page's session: a token may not mint tokens.)
    const token = await page.evaluate(async () => {
      const csrf = /capstan_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '';
      const r = await fetch('/auth/tokens', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf) }, body: JSON.stringify({ name: 'nightly-export' }) });
      return (await r.json()) as { tokenId: string; token: string };
    });
    assert.ok(token.tokenId, JSON.stringify(token));
    await page.goto(`${s.url}/admin/tokens`);
    const tokenRow = page.locator(`tr[data-token="${token.tokenId}"]`);
    await tokenRow.getByRole('cell', { name: 'nightly-export', exact: true }).waitFor();
    assert.ok(!(await page.content()).includes(token.token), 'the secret is not shown');
    assert.deepEqual(await seriousA11yViolations(page), [], 'tokens');
    await screenshot(page, 'admin-tokens');
    await tokenRow.getByRole('button', { name: 'Revoke token nightly-export of admin' }).click();
    await tokenRow.waitFor({ state: 'detached' });
    // A click, not check(): the box follows the URL, which lags the click a little under load.
    await page.getByLabel('Show revoked tokens').click();
    await page.waitForURL(/revoked=1/);
    await tokenRow.getByText(/^revoked /).waitFor();
    const refused = await fetch(`${s.url}/api/v2/version`, { headers: { authorization: `Bearer ${token.token}` } });
    assert.equal(refused.status, 401, 'the revoked token no longer works');
    assert.deepEqual(problems, []);
    await context.close();
  });
});
