/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser). Tests skip with
 * {@link CHROMIUM_MISSING} when the binary is absent, except in CI, which sets CAPSTAN_UI_REQUIRED=1 so a
 * missing browser fails instead (as CAPSTAN_HELM_REQUIRED does for the chart tests).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** The Chromium binary (CAPSTAN_CHROMIUM, default /usr/bin/chromium), or undefined when absent. */
export const chromiumPath: string | undefined = (() => {
  const p = process.env['CAPSTAN_CHROMIUM'] ?? '/usr/bin/chromium';
  return existsSync(p) ? p : undefined;
})();
if (!chromiumPath && process.env['CAPSTAN_UI_REQUIRED'] === '1') {
  throw new Error(`CAPSTAN_UI_REQUIRED=1 but no Chromium at ${process.env['CAPSTAN_CHROMIUM'] ?? '/usr/bin/chromium'}; install Debian's chromium (apt-get install chromium)`);
}
export const CHROMIUM_MISSING = 'Chromium not installed (apt-get install chromium, or set CAPSTAN_CHROMIUM); the browser tests are required in CI';

/** Flags known to work on shared CI machines; playwright gives each launch a fresh profile directory. */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchChromium(): Promise<Browser> {
  if (!chromiumPath) throw new Error(CHROMIUM_MISSING);
  return chromium.launch({ executablePath: chromiumPath, args: FLAGS, headless: true, timeout: 60_000 });
}

/** Where the tests leave screenshots for a person to look at (git-ignored). */
export const SCREENSHOT_DIR = join(REPO, '.capstan', 'ui-screenshots');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Problems the page reported: uncaught errors, console errors (Content-Security-Policy violations among
 * them) and failed same-origin requests other than expected refusals. A test asserts the list is empty.
 */
export function collectPageProblems(page: Page, options: { allowStatuses?: number[] } = {}): string[] {
  const problems: string[] = [];
  const allowed = new Set(options.allowStatuses ?? [401]);
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() !== 'error') return;
    // A refused API call shows up as a console error too; its status is checked below.
    if (/Failed to load resource: the server responded with a status of (\d+)/.exec(m.text())) return;
    problems.push(`console error: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !allowed.has(r.status())) problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  return problems;
}

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** An element as page callbacks (`page.evaluate`, `waitForFunction`) see it; the test program has no DOM lib. */
export interface PageElement {
  getAttribute(name: string): string | null;
  textContent: string | null;
}

/** The page's `document` inside page callbacks (declare it per file: `declare const document: PageDocument`). */
export interface PageDocument {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
  documentElement: { dataset: Record<string, string | undefined> };
  cookie: string;
}

/** One axe-core finding. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Run axe-core on the page as it stands and return its serious and critical violations (WCAG 2.1 A/AA and
 * best practices). axe is evaluated through the DevTools protocol, which the page's CSP does not govern.
 */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: PageDocument, o: object) => Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe;
    const r = await axe.run((globalThis as unknown as { document: PageDocument }).document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
