/**
 * `npm run bench:ui`: the web UI measured in Debian's Chromium (issue 15, "Performance, measured in the
 * browser"), against a real API server serving the built UI over the data `bench:api` seeds (5,000 DAGs,
 * 100,000 task instances, a 1,000-task DAG with 25 runs; see bench/support/seed.ts) on SQLite.
 *
 * Figures, each over several repetitions (p50/p95 in milliseconds), every one a fresh page load unless said:
 * - DAG list interactive: navigation start → the first page of DAG rows painted and no long task running.
 * - grid first paint: navigation start → the first grid cells painted.
 * - grid cell → panel: click on a cell → the task instance's page shown with its state.
 * - graph laid out: navigation start → the 1,000 nodes drawn at their ELK positions; meanwhile a key is
 *   pressed every 50 ms and each keydown's input delay (handler start − event time) is recorded, with the
 *   longest main-thread long task.
 * - state change visible: start of a PATCH (through the API, from this process) → the grid cell's new state
 *   in the DOM of an open page (wall clock on both sides; same machine).
 * - 50 MB log tail: navigation start (and the log request's start) → the log's last line painted; then
 *   "Load earlier lines" → the earlier lines painted.
 *
 * Times come from the page's own clock (performance.now(), a MutationObserver to see an element appear,
 * then the next animation frame for its paint; PerformanceObserver for long tasks), read over CDP by
 * playwright-core. Chromium is /usr/bin/chromium (or CAPSTAN_CHROMIUM) with a fresh profile; none is downloaded.
 *
 * The UI served is a copy of ui/dist taken at the start (other work may rebuild ui/dist meanwhile), or
 * the build in `--ui-dist DIR` (e.g. an older commit's, for before/after figures in one window).
 *
 * Flags: --quick (a tenth of the data, 3 repetitions), --reps N, --ui-dist DIR, --before DIR (a second
 * build measured on the same server and data, its repetitions interleaved with the first's: before/after).
 */
import { cpSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import type { Page } from 'playwright-core';
import { listen } from '../src/api/server.ts';
import { mountWebUi, WEB_UI_DIST } from '../src/api/ui/index.ts';
import { createEngine } from '../src/app/components.ts';
import { createApiAppFor } from '../src/app/roles.ts';
import { loadConfig } from '../src/config/index.ts';
import { END_OF_LOG_MESSAGE, taskLogPath } from '../src/logging/index.ts';
import { openMetadataDb } from '../src/store/db.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { launchChromium } from '../test/ui/support/browser.ts';
import { ensureUiBuilt, newPage, signIn } from '../test/ui/support/uiServer.ts';
import { ms, quantile } from './support/stats.ts';
import { BIG_DAG, bigTaskId, FULL_SEED, QUICK_SEED, seedBenchData } from './support/seed.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const size = quick ? QUICK_SEED : FULL_SEED;
const REPS = args.includes('--reps') ? Number(args[args.indexOf('--reps') + 1]) : quick ? 3 : 7;
const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const UI_DIST = flag('--ui-dist');
const BEFORE_DIST = flag('--before');
const LOG_BYTES = quick ? 5 * 1024 * 1024 : 50 * 1024 * 1024;
const USER = 'bench';
const PASSWORD = 'bench-password';

/** Issue 15's targets, in ms. */
const TARGETS: Record<string, number> = {
  'DAG list interactive': 500,
  'grid first paint': 1500,
  'grid cell → panel shown': 100,
  'graph laid out': 2000,
  'state change visible': 1000,
  'log tail shown (from navigation)': 1000,
};

/**
 * Installed before every page's own scripts: records long tasks, keydown input delays, and for each named
 * condition the paint time (the animation frame after the DOM first met it), checked on every DOM mutation.
 */
const PAGE_PROBE = `
(() => {
  const b = (window.__bench = { longTasks: [], keyDelays: [], first: {}, expect: null, expectSeen: null });
  try {
    new PerformanceObserver((l) => { for (const e of l.getEntries()) b.longTasks.push([e.startTime, e.duration]); }).observe({ type: 'longtask', buffered: true });
  } catch {}
  addEventListener('keydown', (e) => b.keyDelays.push(performance.now() - e.timeStamp), true);
  const conditions = {
    dagList: () => document.querySelectorAll('a.dag-link').length >= 10,
    gridCells: () => document.querySelector('[data-cell]') !== null,
    // Laid out: positions drawn and the view fitted to them (React Flow may draw only the nodes in view).
    graphDrawn: () => {
      const node = document.querySelector('.graph-canvas[data-laid-out="true"] .react-flow__node');
      const vp = document.querySelector('.react-flow__viewport');
      return !!node && !!vp && getComputedStyle(node).visibility !== 'hidden' && vp.style.transform !== '' && vp.style.transform !== 'translate(0px, 0px) scale(1)';
    },
    graphElk: () => document.querySelector('.graph-canvas[data-layout="elk"] .react-flow__node') !== null,
    logTail: () => Array.from(document.querySelectorAll('.log-line')).some((l) => (l.textContent || '').includes(${JSON.stringify(END_OF_LOG_MESSAGE)})),
  };
  const check = () => {
    for (const [name, pred] of Object.entries(conditions)) {
      if (b.first[name] !== undefined) continue;
      if (pred()) { b.first[name] = -1; requestAnimationFrame(() => { b.first[name] = performance.now(); }); }
    }
    const x = b.expect;
    if (x && b.expectSeen === null) {
      const el = document.querySelector(x.selector);
      if (el && el.getAttribute(x.attr) === x.value) b.expectSeen = Date.now();
    }
  };
  const start = () => new MutationObserver(check).observe(document.documentElement, { subtree: true, childList: true, attributes: true, attributeFilter: ['style', 'data-state', 'data-laid-out'], characterData: true });
  if (document.documentElement) start(); else addEventListener('DOMContentLoaded', start);
})();
`;

/** Resolves in the page at the paint after `pred` (a JS expression) first holds; returns performance.now(). */
const UNTIL = `(pred) => new Promise((resolve, reject) => {
  const deadline = performance.now() + 30000;
  const done = () => requestAnimationFrame(() => resolve(performance.now()));
  if (pred()) return done();
  const mo = new MutationObserver(() => { if (pred()) { mo.disconnect(); done(); } else if (performance.now() > deadline) { mo.disconnect(); reject(new Error('timed out')); } });
  mo.observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true });
})`;

/**
 * Poll `expr` in the page until truthy (the page's CSP forbids string evaluation inside it, which
 * playwright's waitForFunction needs; an evaluate over CDP is not subject to it).
 */
async function waitInPage(page: Page, expr: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate<boolean>(`!!(${expr})`).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting in the page for ${expr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function firstPaint(page: Page, name: string): Promise<number> {
  await waitInPage(page, `window.__bench && window.__bench.first[${JSON.stringify(name)}] > 0`);
  return page.evaluate<number>(`window.__bench.first[${JSON.stringify(name)}]`);
}

/** Figures by name, per UI build measured ('' when one). */
const figures = new Map<string, Map<string, number[]>>();
function record(ui: string, name: string, value: number): void {
  const byUi = figures.get(name) ?? figures.set(name, new Map()).get(name) ?? new Map<string, number[]>();
  (byUi.get(ui) ?? byUi.set(ui, []).get(ui) ?? []).push(value);
}

/** Write a `bytes`-long finished task log (ordinary lines, then the end marker) where the API reads it. */
function writeBigLog(path: string, bytes: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  const ts = new Date().toISOString();
  let written = 0;
  let n = 0;
  const block: string[] = [];
  while (written < bytes) {
    const line = `${ts} INFO line ${String(n++).padStart(8, '0')} of a long task log: \u001b[32mprocessed\u001b[0m batch ${n % 977} with ${n % 131} rows\n`;
    block.push(line);
    written += Buffer.byteLength(line);
    if (block.length === 4096) writeSync(fd, block.splice(0).join(''));
  }
  writeSync(fd, block.join('') + `${ts} INFO ${END_OF_LOG_MESSAGE}\n`);
  closeSync(fd);
}

/** One UI build served on its own port: the build's routes first, everything else by the API server's app. */
async function serveUi(apiApp: ReturnType<typeof createApiAppFor>, distDir: string) {
  const app = new Hono();
  mountWebUi(app, { distDir });
  app.all('*', (c) => apiApp.fetch(c.req.raw));
  return listen(app, '127.0.0.1', 0);
}

interface Slot {
  /** '' or 'before'/'after'. */
  ui: string;
  /** 0 for the first build, 1 for the second: keeps their state changes on different cells. */
  n: number;
  page: Page;
  base: string;
  token: string;
}

/** One repetition of every figure on one UI build. */
async function measureOnce(s: Slot, rep: number): Promise<void> {
  const { page, base } = s;
  const lastCol = size.bigRuns - 1;
  // DAG list.
  await page.goto(`${base}/dags`, { waitUntil: 'commit' });
  const listPaint = await firstPaint(page, 'dagList');
  await page.waitForTimeout(300);
  const lastLongEnd = await page.evaluate<number>(`Math.max(0, ...window.__bench.longTasks.filter(([s]) => s < ${listPaint}).map(([s, d]) => s + d))`);
  record(s.ui, 'DAG list interactive', Math.max(listPaint, lastLongEnd));

  // Grid: first paint, then a cell → the task instance's panel.
  await page.goto(`${base}/dags/${BIG_DAG}/grid`, { waitUntil: 'commit' });
  record(s.ui, 'grid first paint', await firstPaint(page, 'gridCells'));
  const row = 3 + rep;
  const taskId = bigTaskId(row);
  await page.waitForSelector(`[data-cell="${row}:${lastCol - 1}"]`);
  record(
    s.ui,
    'grid cell → panel shown',
    await page.evaluate<number>(`(async () => {
      const until = ${UNTIL};
      const cell = document.querySelector('[data-cell="${row}:${lastCol - 1}"]');
      const t0 = performance.now();
      cell.click();
      const t1 = await until(() => document.querySelector('h1')?.textContent === ${JSON.stringify(taskId)} && (document.querySelector('.dag-header')?.textContent || '').includes('try '));
      return t1 - t0;
    })()`),
  );

  // Graph: laid out, while a key is pressed every 50 ms.
  await page.goto(`${base}/dags/${BIG_DAG}/graph`, { waitUntil: 'commit' });
  let drawn = false;
  const presser = (async () => {
    while (!drawn) {
      await page.keyboard.press('Shift').catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const graphAt = await firstPaint(page, 'graphDrawn');
  record(s.ui, 'graph laid out', graphAt);
  // A build with the two-step layout also marks when ELK's refined layout is drawn; keys go on until then.
  const elkAt = (await page.evaluate<boolean>(`document.querySelector('.graph-canvas[data-layout]') !== null`)) ? await firstPaint(page, 'graphElk') : graphAt;
  if (elkAt !== graphAt) record(s.ui, 'graph: ELK layout drawn', elkAt);
  drawn = true;
  await presser;
  const probe = await page.evaluate<{ delays: number[]; longest: number }>(`({ delays: window.__bench.keyDelays, longest: Math.max(0, ...window.__bench.longTasks.filter(([s]) => s < ${elkAt}).map(([, d]) => d)) })`);
  record(s.ui, 'graph: keydown input delay while loading (max)', Math.max(0, ...probe.delays));
  record(s.ui, 'graph: longest main-thread task while loading', probe.longest);

  // A state change committed through the API, seen in an open grid.
  await page.goto(`${base}/dags/${BIG_DAG}/grid`, { waitUntil: 'commit' });
  await firstPaint(page, 'gridCells');
  await page.waitForTimeout(500); // the events stream opens
  const cellRow = 1 + rep * 2 + s.n;
  const runId = `run_${lastCol - 1}`;
  const newState = 'failed'; // a success cell, a different one each time
  await page.evaluate(`window.__bench.expect = { selector: '[data-cell="${cellRow}:${lastCol - 1}"]', attr: 'data-state', value: '${newState}' }; window.__bench.expectSeen = null;`);
  const t0 = Date.now();
  const res = await fetch(`${base}/api/v2/dags/${BIG_DAG}/dagRuns/${runId}/taskInstances/${encodeURIComponent(bigTaskId(cellRow))}`, { method: 'PATCH', headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ newState }) });
  if (res.status !== 200) throw new Error(`mark: ${res.status} ${await res.text()}`);
  await waitInPage(page, 'window.__bench.expectSeen !== null', 30_000);
  record(s.ui, 'state change visible', (await page.evaluate<number>('window.__bench.expectSeen')) - t0);

  // The 50 MB log: its tail, then earlier lines.
  await page.goto(`${base}/dags/${BIG_DAG}/runs/run_0/tasks/t0`, { waitUntil: 'commit' });
  const tailAt = await firstPaint(page, 'logTail');
  record(s.ui, 'log tail shown (from navigation)', tailAt);
  const logStart = await page.evaluate<number>(`Math.min(...performance.getEntriesByType('resource').filter((e) => /\\/logs\\/1\\?/.test(e.name)).map((e) => e.startTime))`);
  record(s.ui, 'log tail shown (from its request)', tailAt - logStart);
  if ((await page.getByRole('button', { name: 'Load earlier lines' }).count()) > 0) {
    record(
      s.ui,
      'log: load earlier → lines shown',
      await page.evaluate<number>(`(async () => {
        const until = ${UNTIL};
        const before = document.querySelector('.log-lines .log-inner')?.style.height;
        const button = Array.from(document.querySelectorAll('button')).find((b) => b.textContent === 'Load earlier lines');
        const t0 = performance.now();
        button.click();
        return (await until(() => document.querySelector('.log-lines .log-inner')?.style.height !== before)) - t0;
      })()`),
    );
  }
}

function report(): void {
  const uis = [...new Set([...figures.values()].flatMap((m) => [...m.keys()]))];
  const head = uis.map((u) => `${u ? `${u} ` : ''}p50 / p95`.padStart(20)).join('');
  process.stdout.write(`\n  ${'figure (ms)'.padEnd(48)}${head}   target\n`);
  for (const [name, byUi] of figures) {
    const cols = uis.map((u) => {
      const xs = byUi.get(u) ?? [];
      return `${ms(quantile(xs, 0.5))} / ${ms(quantile(xs, 0.95))}`.padStart(20);
    });
    const target = TARGETS[name];
    const last = byUi.get(uis[0] ?? '') ?? [];
    const p95 = quantile(last, 0.95);
    const verdict = target === undefined ? '' : `≤ ${target}: ${p95 <= target ? 'met' : `missed by ${ms(p95 - target)}`}${uis[0] ? ` (${uis[0]})` : ''}`;
    process.stdout.write(`  ${name.padEnd(48)}${cols.join('')}   ${verdict}\n`);
  }
}

async function main(): Promise<void> {
  process.stdout.write(`bench:ui — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}${quick ? ' (quick)' : ''}\n`);
  const home = mkdtempSync(join(tmpdir(), 'capstan-bench-ui-'));
  let distDir = UI_DIST;
  if (distDir === undefined) {
    await ensureUiBuilt();
    distDir = join(home, 'ui-dist');
    cpSync(WEB_UI_DIST, distDir, { recursive: true });
  }
  const builds = [{ ui: BEFORE_DIST ? 'after' : '', dist: distDir }, ...(BEFORE_DIST ? [{ ui: 'before', dist: BEFORE_DIST }] : [])];
  process.stdout.write(`  UI: ${UI_DIST ?? 'a copy of ui/dist'}${BEFORE_DIST ? `; before: ${BEFORE_DIST} (repetitions interleaved)` : ''}\n`);
  const db = openMetadataDb(`sqlite://${join(home, 'capstan.db')}`);
  await migrateToLatest(db);
  await seedBenchData(db, size);
  const config = loadConfig({ env: { CAPSTAN_HOME: home, CAPSTAN__CORE__LOAD_EXAMPLES: 'false', CAPSTAN__API__PORT: '0', CAPSTAN__LOGGING__LEVEL: 'error', CAPSTAN__AUTH__PASSWORD_HASH_COST: '10' } });
  const engine = createEngine(config, { db });
  const admin = await engine.auth.createUser({ username: USER, password: PASSWORD, role: 'Admin' });
  const { token } = await engine.auth.createApiToken(await engine.auth.principalFor(admin), { name: 'bench' });
  writeBigLog(taskLogPath(config.logging.baseLogFolder, { dagId: BIG_DAG, runId: 'run_0', taskId: 't0', tryNumber: 1 }), LOG_BYTES);
  const apiApp = createApiAppFor(engine);
  const servers = await Promise.all(builds.map((b) => serveUi(apiApp, b.dist)));
  const browser = await launchChromium();
  try {
    const slots: Slot[] = [];
    for (const [n, b] of builds.entries()) {
      const { context, page } = await newPage(browser);
      await context.addInitScript({ content: PAGE_PROBE });
      page.setDefaultTimeout(60_000);
      const base = (servers[n] as Awaited<ReturnType<typeof serveUi>>).url;
      await signIn(page, base, USER, PASSWORD);
      slots.push({ ui: b.ui, n, page, base, token });
    }
    for (let rep = 0; rep < REPS; rep++) {
      // Alternate which build goes first, so neither always runs on a cooler machine.
      for (const s of rep % 2 === 0 ? slots : [...slots].reverse()) await measureOnce(s, rep);
      process.stdout.write(`  repetition ${rep + 1}/${REPS} done\n`);
    }
  } finally {
    await browser.close();
    await Promise.all(servers.map((s) => s.close()));
    await db.close();
    rmSync(home, { recursive: true, force: true });
  }
  report();
  process.stdout.write(`  (${REPS} repetitions; load after: ${loadavg().map((x) => x.toFixed(1)).join(' ')})\n`);
}

await main();
