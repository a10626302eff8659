/**
 * The web UI in a real Chromium against a real Capstan: the served files and their headers, signing in and
 * out (deep links survive the login), the shell (navigation, user menu with role, theme, shortcut help),
 * the account page generating a working API token, and axe-core on every page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { UI_CSP } from '../../src/api/ui/index.ts';
import { CHROMIUM_MISSING, chromiumPath, collectPageProblems, launchChromium, screenshot, seriousA11yViolations, type PageDocument } from './support/browser.ts';

/** The page's document, inside page callbacks. */
declare const document: PageDocument;
import { newPage, signIn, startUiServer, type UiTestServer } from './support/uiServer.ts';

describe('web UI: files, sign-in and the shell', { skip: chromiumPath ? false : CHROMIUM_MISSING }, () => {
  let s: UiTestServer;
  let browser: Browser;
  before(async () => {
    [s, browser] = await Promise.all([startUiServer(), launchChromium()]);
    await s.t.engine.auth.createUser({ username: 'viewer', password: 'viewer-password', role: 'Viewer', displayName: 'Vera Viewer' });
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  test('pages are index.html with the UI policy and no-cache; hashed assets are immutable; API answers keep their own policy', async () => {
    for (const path of ['/', '/login', '/dags', '/dags/example_bash/grid', '/admin/pools', '/account']) {
      const res = await fetch(`${s.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/, path);
      assert.equal(res.headers.get('cache-control'), 'no-cache', path);
      assert.equal(res.headers.get('content-security-policy'), UI_CSP, path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      const html = await res.text();
      assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, `${path}: an inline script would be refused by the CSP`);
      const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      assert.ok(script, `${path}: the page loads its module from /assets`);
      const asset = await fetch(`${s.url}${script}`);
      assert.equal(asset.status, 200);
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
    }
    const missing = await fetch(`${s.url}/assets/nope-123.js`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
    for (const bad of ['/assets/..%2Fpackage.json', '/assets/.env', '/assets/x.exe']) assert.equal((await fetch(`${s.url}${bad}`)).status, 404, bad);
    const api = await fetch(`${s.url}/auth/me`);
    assert.equal(api.status, 401);
    assert.match(api.headers.get('content-security-policy') ?? '', /^default-src 'none'/);
    assert.equal(api.headers.get('cache-control'), 'no-store');
    // Still JSON where no page is: an unknown top-level path, and a write to a page.
    assert.equal((await fetch(`${s.url}/nope`)).status, 404);
    // A browser navigating to an unknown page gets the UI (its own "page not found"), still a 404; never under the API.
    const html = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' };
    for (const path of ['/nope', '/connections', '/dagz/example_bash']) {
      const res = await fetch(`${s.url}${path}`, { headers: html });
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/, path);
      assert.equal(res.headers.get('content-security-policy'), UI_CSP, path);
      assert.match(await res.text(), /<script type="module"/, path);
    }
    for (const path of ['/api/v2/nope', '/auth/nope', '/execution/v1/nope', '/assets/nope-123.js']) {
      const res = await fetch(`${s.url}${path}`, { headers: html });
      assert.ok(res.status === 404 || res.status === 401, `${path}: ${res.status}`); // the Execution API asks for its token first
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/, path);
    }
    assert.equal((await fetch(`${s.url}/dags`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 405);
  });

  test('a mistyped link shows the UI’s "Page not found" with its navigation', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, s.url);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    const res = await page.goto(`${s.url}/connections`);
    assert.equal(res?.status(), 404);
    await page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'DAGs' }).first().waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, 'not-found');
    await context.close();
  });

  test('signed out, a deep link shows the login page; a wrong password says so; signing in returns to the link', async () => {
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await page.goto(`${s.url}/account`);
    await page.waitForURL(/\/login\?next=%2Faccount$/);
    await page.getByRole('heading', { name: 'Sign in to Capstan' }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, 'login');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
    await page.getByLabel('Password').fill('test-admin-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${s.url}/account`);
    await page.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
    // The session cookie is HttpOnly; the CSRF cookie is what the UI echoes.
    const cookies = await context.cookies();
    assert.equal(cookies.find((c) => c.name === 'capstan_session')?.httpOnly, true);
    assert.equal(cookies.find((c) => c.name === 'capstan_csrf')?.httpOnly, false);
    assert.deepEqual(problems.filter((p) => !p.includes('/auth/login')), []);
    await context.close();
  });

  test('dashboard and shell: navigation, user menu with role, theme, shortcut help; axe finds nothing serious', async () => {
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await page.getByText('Metadata database').waitFor();
    for (const role of ['Scheduler', 'Triggerer', 'DAG processor']) await page.locator('.health-item', { hasText: role }).waitFor();
    await page.getByRole('heading', { name: 'DAG runs by state' }).waitFor();
    await page.getByRole('heading', { name: 'Pools' }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, 'dashboard');

    await page.getByRole('button', { name: /Administrator|admin/ }).click();
    const menu = page.locator('#user-menu');
    await menu.getByText('Signed in as').waitFor();
    assert.match((await menu.textContent()) ?? '', /admin.*\(Admin\)/);
    await screenshot(page, 'user-menu');
    await page.keyboard.press('Escape');

    await page.getByLabel('Theme').selectOption('dark');
    assert.equal(await page.evaluate(() => document.documentElement.dataset['theme']), 'dark');
    assert.deepEqual(await seriousA11yViolations(page), [], 'dark theme');
    await screenshot(page, 'dashboard-dark');
    await page.reload();
    assert.equal(await page.evaluate(() => document.documentElement.dataset['theme']), 'dark', 'the choice survives a reload');
    await page.getByLabel('Theme').selectOption('system');
    assert.equal(await page.evaluate(() => document.documentElement.dataset['theme']), 'light', 'system follows prefers-color-scheme (light here)');

    await page.locator('body').press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor();
    assert.match((await help.textContent()) ?? '', /Go to Dashboard/);
    assert.deepEqual(await seriousA11yViolations(page), [], 'shortcut help');
    await screenshot(page, 'shortcut-help');
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });

    // `g h` goes to the dashboard from anywhere.
    await page.goto(`${s.url}/account`);
    await page.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
    await page.locator('body').press('g');
    await page.locator('body').press('h');
    await page.waitForURL(`${s.url}/`);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('account: generate an API token (shown once) that works as a bearer token, then revoke it', async () => {
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url, 'admin', 'test-admin-password', '/account');
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('laptop-cli');
    await page.getByLabel('Role').selectOption('Viewer');
    await page.getByRole('button', { name: 'Generate token' }).click();
    const shown = page.getByLabel('New API token');
    await shown.waitFor();
    const token = await shown.inputValue();
    assert.ok(token.length > 20);
    const me = await fetch(`${s.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { role: string }).role, 'Viewer');
    await page.getByRole('cell', { name: 'laptop-cli', exact: true }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, 'account');
    await page.getByRole('button', { name: 'Revoke token laptop-cli' }).click();
    // Revoked tokens leave the list.
    await page.getByRole('cell', { name: 'laptop-cli', exact: true }).waitFor({ state: 'detached' });
    assert.equal((await fetch(`${s.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a Viewer sees its role and may give a token no more than Viewer; signing out ends the session', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, s.url, 'viewer', 'viewer-password', '/account');
    await page.getByRole('heading', { name: 'You' }).waitFor();
    assert.match((await page.locator('.details').textContent()) ?? '', /Viewer/);
    assert.deepEqual(await page.getByLabel('Role').locator('option').allTextContents(), ['Viewer'], 'a token never holds more than its owner');
    await page.getByRole('button', { name: /Vera Viewer/ }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    // The old session no longer works: a reload of a page goes back to the login.
    await page.goto(`${s.url}/account`);
    await page.waitForURL(/\/login\?next=/);
    await context.close();
  });
});
