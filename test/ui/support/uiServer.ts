/**
 * A Capstan for browser tests: the test engine (real API server, scheduler with the LocalExecutor, DAG
 * processor, triggerer) with the bundled example DAGs, serving the built UI at its URL. The UI is built
 * first when ui/dist is missing or older than its sources (once, under a lock, for concurrent test files).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestEngine, TEST_ADMIN_PASSWORD, type TestEngine, type TestEngineOptions } from '../../support/engine.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const UI = join(REPO, 'ui');

function newestMtime(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((f) => newestMtime(join(path, f))));
}

function uiIsCurrent(): boolean {
  const built = join(UI, 'dist', 'index.html');
  if (!existsSync(built)) return false;
  const sources = Math.max(...['src', 'public', 'index.html', 'vite.config.ts', 'package.json'].map((p) => newestMtime(join(UI, p))));
  return statSync(built).mtimeMs >= sources;
}

/** Build ui/dist unless it is current (the lock keeps two test files from building at once). */
export async function ensureUiBuilt(): Promise<void> {
  const lock = join(REPO, '.capstan', 'ui-build.lock');
  mkdirSync(join(REPO, '.capstan'), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} held for 2 minutes; remove it if no build runs`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (uiIsCurrent()) return;
    const r = spawnSync(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: UI, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface UiTestServer {
  t: TestEngine;
  url: string;
  stop(): Promise<void>;
}

/** Build the UI if needed and start a test engine with the example DAGs (plus `options.dags`). */
export async function startUiServer(options: TestEngineOptions = {}): Promise<UiTestServer> {
  await ensureUiBuilt();
  const t = await startTestEngine({ ...options, env: { CAPSTAN__CORE__LOAD_EXAMPLES: 'true', ...options.env } });
  return { t, url: t.api.url, stop: () => t.stop() };
}

/** A fresh browser context (no cookies) with one page, sized like a laptop screen. */
export async function newPage(browser: Browser, options: { colorScheme?: 'light' | 'dark' } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: options.colorScheme ?? 'light' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return { context, page };
}

/** Sign in through the login page as `username` (default the test engine's admin) and wait for the shell. */
export async function signIn(page: Page, baseUrl: string, username = 'admin', password = TEST_ADMIN_PASSWORD, path = '/'): Promise<void> {
  await page.goto(`${baseUrl}/login?next=${encodeURIComponent(path)}`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}
