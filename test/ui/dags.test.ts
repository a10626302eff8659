/**
 * The DAG list in Chromium over /api/v2: server-side search, filters, sort and pagination kept in the URL
 * (reload and back work), the pause toggle and bulk pause changing the server's state, and a Viewer who is
 * offered neither.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_MISSING, chromiumPath, collectPageProblems, launchChromium, screenshot, seriousA11yViolations, type PageDocument } from './support/browser.ts';

/** The page's document, inside page callbacks. */
declare const document: PageDocument;
import { newPage, signIn, startUiServer, type UiTestServer } from './support/uiServer.ts';

/** DAG ids in the table, top to bottom. */
async function listedDags(page: Page): Promise<string[]> {
  return page.locator('tbody .dag-link').allTextContents();
}

describe('web UI: DAG list', { skip: chromiumPath ? false : CHROMIUM_MISSING }, () => {
  let s: UiTestServer;
  let browser: Browser;
  const paused = async (dagId: string): Promise<boolean> => ((await (await s.t.apiFetch(`/api/v2/dags/${dagId}`)).json()) as { isPaused: boolean }).isPaused;
  before(async () => {
    [s, browser] = await Promise.all([startUiServer(), launchChromium()]);
    await s.t.engine.auth.createUser({ username: 'viewer', password: 'viewer-password', role: 'Viewer' });
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  test('search, tag filter, sort and pages are server-side and live in the URL', async () => {
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url, undefined, undefined, '/dags');
    await page.getByRole('heading', { name: 'DAGs', level: 1 }).waitFor();
    await page.locator('tbody .dag-link', { hasText: 'example_bash' }).waitFor();
    const all = await listedDags(page);
    assert.ok(all.length >= 9, `the example DAGs are listed: ${all.join(', ')}`);
    assert.deepEqual(all, [...all].sort(), 'sorted by DAG id');
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, 'dag-list');

    await page.getByRole('searchbox').fill('templat');
    await page.waitForURL(/[?&]q=templat/);
    await page.waitForFunction(() => document.querySelectorAll('tbody .dag-link').length === 1);
    assert.deepEqual(await listedDags(page), ['example_templating']);

    await page.getByRole('searchbox').fill('');
    await page.waitForURL((u) => !u.search.includes('q='));
    await page.getByRole('button', { name: 'Filter by tag params' }).click();
    await page.waitForURL(/tag=params/);
    await page.waitForFunction(() => document.querySelectorAll('tbody .dag-link').length === 1);
    assert.deepEqual(await listedDags(page), ['example_params_and_variables']);
    await page.getByRole('button', { name: 'Remove tag filter params' }).click();
    await page.waitForFunction(() => document.querySelectorAll('tbody .dag-link').length > 1);

    // Descending by id, 3 per page, second page: each step is the server's answer for the URL.
    // Sorted ascending by id already: one click turns it around.
    await page.getByRole('button', { name: 'DAG', exact: true }).click();
    await page.waitForURL(/sort=-dagId/);
    await page.goto(`${page.url()}&limit=3&offset=3`);
    await page.getByRole('status').filter({ hasText: /^4–6 of \d+$/ }).waitFor();
    const desc = [...all].sort().reverse();
    assert.deepEqual(await listedDags(page), desc.slice(3, 6));
    await page.getByRole('button', { name: 'Previous' }).click();
    await page.getByRole('status').filter({ hasText: /^1–3 of/ }).waitFor();
    assert.deepEqual(await listedDags(page), desc.slice(0, 3));
    await page.goBack();
    await page.getByRole('status').filter({ hasText: /^4–6 of/ }).waitFor();
    assert.equal(await page.locator('th', { has: page.getByRole('button', { name: 'DAG', exact: true }) }).getAttribute('aria-sort'), 'descending');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('the pause switch and bulk pause change the server; a Viewer gets neither', async () => {
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url, undefined, undefined, '/dags?q=example_b');
    const bash = page.getByRole('switch', { name: 'example_bash active' });
    await bash.waitFor();
    const before = await paused('example_bash');
    assert.equal(await bash.getAttribute('aria-checked'), String(!before));
    await bash.click();
    await page.waitForFunction((b) => document.querySelector('[aria-label="example_bash active"]')?.getAttribute('aria-checked') === String(b), before);
    assert.equal(await paused('example_bash'), !before);

    await page.getByRole('checkbox', { name: 'Select every DAG on this page' }).check();
    await page.getByRole('button', { name: 'Pause selected', exact: true }).click();
    await page.getByText('0 selected').waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('[role=switch]')].every((e) => e.getAttribute('aria-checked') === 'false'));
    assert.equal(await paused('example_bash'), true);
    assert.equal(await paused('example_branching'), true);
    await page.getByLabel('Status').selectOption('true');
    await page.waitForURL(/paused=true/);
    await screenshot(page, 'dag-list-paused');
    await page.getByRole('link', { name: 'Trigger example_bash' }).click();
    await page.getByRole('dialog', { name: 'Trigger example_bash' }).waitFor();
    await page.waitForURL(/\/dags\/example_bash\?trigger=1$/);
    assert.deepEqual(problems, []);
    await context.close();

    const viewer = await newPage(browser);
    await signIn(viewer.page, s.url, 'viewer', 'viewer-password', '/dags');
    await viewer.page.getByRole('switch', { name: 'example_bash active' }).waitFor();
    assert.equal(await viewer.page.getByRole('switch', { name: 'example_bash active' }).isDisabled(), true);
    assert.equal(await viewer.page.getByRole('button', { name: 'Pause selected', exact: true }).count(), 0);
    assert.equal(await viewer.page.getByRole('link', { name: 'Trigger example_bash' }).count(), 0);
    assert.deepEqual(await seriousA11yViolations(viewer.page), []);
    await viewer.context.close();
  });

  test('a DAG row opens the DAG page; its tab is a deep link that survives a reload; an unknown DAG says so', async () => {
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page, { allowStatuses: [401, 404] });
    await signIn(page, s.url, undefined, undefined, '/dags?q=example_taskflow');
    await page.getByRole('link', { name: 'example_taskflow', exact: true }).click();
    await page.waitForURL(`${s.url}/dags/example_taskflow`);
    await page.getByRole('heading', { name: 'example_taskflow', level: 1 }).waitFor();
    await page.getByText('No runs yet: trigger one.').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Grid' }).getAttribute('aria-current'), 'page', 'the grid is the default tab');
    await page.getByRole('link', { name: 'Details' }).click();
    await page.waitForURL(`${s.url}/dags/example_taskflow/details`);
    await page.getByText('Typed TaskFlow tasks passing values through XCom').waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, 'dag-details');
    await page.reload();
    assert.equal(await page.getByRole('link', { name: 'Details' }).getAttribute('aria-current'), 'page');
    await page.getByText('Typed TaskFlow tasks passing values through XCom').waitFor();
    await page.goto(`${s.url}/dags/no_such_dag`);
    await page.getByRole('alert').filter({ hasText: "There is no DAG 'no_such_dag'" }).waitFor();
    assert.deepEqual(problems.filter((p) => !p.includes('/api/v2/dags/no_such_dag')), []);
    await context.close();
  });
});
