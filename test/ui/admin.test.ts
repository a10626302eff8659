/**
 * Browse and admin pages in Chromium over /api/v2: every page reachable from the navigation menus, axe on
 * each, and a create/delete round trip per resource checked on the server; a connection's password is
 * never shown; a Viewer's menus offer none of the admin pages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_MISSING, chromiumPath, collectPageProblems, launchChromium, screenshot, seriousA11yViolations, type PageDocument } from './support/browser.ts';

/** The page's document, inside page callbacks. */
declare const document: PageDocument;
import { newPage, signIn, startUiServer, type UiTestServer } from './support/uiServer.ts';

async function openFromMenu(page: Page, menu: string, item: string): Promise<void> {
  await page.getByRole('button', { name: menu, exact: true }).click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: item }).click();
  await page.getByRole('heading', { name: item, level: 1 }).waitFor();
}

describe('web UI: browse and admin pages', { skip: chromiumPath ? false : CHROMIUM_MISSING }, () => {
  let s: UiTestServer;
  let browser: Browser;
  before(async () => {
    [s, browser] = await Promise.all([startUiServer({ dags: { 'broken.ts': "import { dag } from 'capstan';\nexport default dag({ dagId: 'broken' }, () => { throw new Error('boom at parse'); });\n" } }), launchChromium()]);
    await s.t.engine.auth.createUser({ username: 'viewer', password: 'viewer-password', role: 'Viewer' });
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  test('pools, variables, connections, users: create and delete through the pages; audit log and import errors', async () => {
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page, { allowStatuses: [401, 403] });
    await signIn(page, s.url);

    await openFromMenu(page, 'Admin', 'Pools');
    await page.getByRole('cell', { name: 'default_pool', exact: true }).waitFor();
    await page.getByRole('form', { name: 'New pool' }).getByLabel('Name').fill('ui_pool');
    await page.getByRole('form', { name: 'New pool' }).getByLabel('Slots').fill('7');
    await page.getByRole('button', { name: 'Add pool' }).click();
    await page.getByRole('cell', { name: 'ui_pool', exact: true }).waitFor();
    assert.equal(((await (await s.t.apiFetch('/api/v2/pools/ui_pool')).json()) as { slots: number }).slots, 7);
    assert.deepEqual(await seriousA11yViolations(page), [], 'pools');
    await screenshot(page, 'admin-pools');
    await page.getByRole('button', { name: 'Delete pool ui_pool' }).click();
    await page.getByRole('cell', { name: 'ui_pool', exact: true }).waitFor({ state: 'detached' });
    assert.equal((await s.t.apiFetch('/api/v2/pools/ui_pool')).status, 404);

    await openFromMenu(page, 'Admin', 'Variables');
    await page.getByRole('form', { name: 'New variable' }).getByLabel('Key').fill('api_password');
    await page.getByRole('form', { name: 'New variable' }).getByLabel('Value').fill('s3cret-value');
    await page.getByRole('button', { name: 'Add variable' }).click();
    await page.getByRole('cell', { name: 'api_password', exact: true }).waitFor();
    assert.equal(await page.getByText('s3cret-value').count(), 0, 'a sensitive key is masked');
    assert.deepEqual(await seriousA11yViolations(page), [], 'variables');
    await screenshot(page, 'admin-variables');

    await openFromMenu(page, 'Admin', 'Connections');
    const form = page.getByRole('form', { name: 'New connection' });
    await form.getByLabel('Connection id').fill('ui_http');
    await form.getByLabel('Host').fill('127.0.0.1');
    await form.getByLabel('Login').fill('bob');
    await form.getByLabel('Password (write-only)').fill('hunter2-pass');
    await page.getByRole('button', { name: 'Add connection' }).click();
    await page.getByRole('cell', { name: 'ui_http', exact: true }).waitFor();
    await page.getByText('set (hidden)').waitFor();
    assert.equal(await page.getByText('hunter2-pass').count(), 0, 'the password is never shown');
    await page.getByRole('button', { name: 'Test connection ui_http' }).click();
    // Testing is off unless api.testConnection is set: the row then says the server refused.
    await page.getByRole('status').filter({ hasText: /^\s*(OK|failed|not tested):/ }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], 'connections');
    await screenshot(page, 'admin-connections');

    await openFromMenu(page, 'Admin', 'Users');
    await page.getByRole('form', { name: 'New user' }).getByLabel('Username').fill('ui_made');
    await page.getByRole('form', { name: 'New user' }).getByLabel('Password').fill('a-long-password');
    await page.getByRole('form', { name: 'New user' }).getByLabel('Role').selectOption('Op');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByRole('cell', { name: 'ui_made', exact: true }).first().waitFor();
    assert.equal(((await (await s.t.apiFetch('/api/v2/users/ui_made')).json()) as { role: string }).role, 'Op');
    assert.deepEqual(await seriousA11yViolations(page), [], 'users');
    await screenshot(page, 'admin-users');

    await openFromMenu(page, 'Browse', 'Audit log');
    await page.getByRole('cell', { name: 'user.create', exact: true }).first().waitFor();
    await page.getByLabel('Event').fill('pool.create');
    await page.waitForURL(/event=pool\.create/);
    await page.waitForFunction(() => [...document.querySelectorAll('tbody tr td:nth-child(2)')].every((td) => td.textContent === 'pool.create'));
    assert.deepEqual(await seriousA11yViolations(page), [], 'audit log');
    await screenshot(page, 'browse-audit-log');

    await openFromMenu(page, 'Admin', 'Configuration');
    // Served only where an operator allows it; either the options (secrets redacted) or the server's refusal.
    await page.locator('h2#cfg-core, [role=alert]').first().waitFor();
    assert.equal(await page.getByText(/fernet/i).filter({ hasText: /[A-Za-z0-9_-]{40,}=/ }).count(), 0, 'no key material on the page');
    assert.deepEqual(await seriousA11yViolations(page), [], 'config');
    await screenshot(page, 'admin-config');

    await openFromMenu(page, 'Browse', 'Import errors');
    await page.getByText('boom at parse').first().waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], 'import errors');
    await screenshot(page, 'browse-import-errors');
    // Testing connections and reading the config are off by default: those two refusals are expected.
    assert.deepEqual(problems.filter((p) => !/ (POST \S+\/connections\/ui_http\/test|GET \S+\/api\/v2\/config)$/.test(p)), []);
    await context.close();
  });

  test("a Viewer's menus hold no admin page", async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, s.url, 'viewer', 'viewer-password');
    assert.equal(await page.getByRole('button', { name: 'Admin', exact: true }).count(), 1, 'Viewers read pools');
    await page.getByRole('button', { name: 'Admin', exact: true }).click();
    assert.deepEqual(await page.locator('#nav-admin a').allTextContents(), ['Pools'], 'no variables, connections, users or config');
    assert.equal(await page.getByRole('button', { name: 'Add pool' }).count(), 0);
    await context.close();
  });
});
