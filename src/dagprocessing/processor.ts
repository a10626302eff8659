/**
 * The DAG processor: watches the DAG folders, parses new and changed files in isolated child processes,
 * stores their serialized DAGs, records import errors, and deactivates DAGs whose file or definition is
 * gone. A broken or hanging file only produces an import error; every other DAG keeps running.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuthoringDefaults } from '../sdk/authoring.ts';
import type { MetadataDb } from '../store/index.ts';
import {
  deactivateDagsOfFile,
  forgetDagFile,
  ImportErrorStore,
  JobRegistry,
  listDagFiles,
  listDags,
  recordDagFile,
  upsertSerializedDag,
} from '../store/index.ts';
import type { DagWarning, SerializedDag } from '../core/index.ts';
import { podTaskWarnings, type PodWarningChecks } from '../kubernetes/pods.ts';
import type { CapstanMetrics } from '../metrics/index.ts';
import { abortableDelay, runLimited } from '../core/index.ts';
import { DAG_FILE_PATTERN } from './loader.ts';
import { parseDagFileIsolated } from './parseFile.ts';
import type { ParseResult } from './parseWorker.ts';

export interface DagProcessorDeps {
  db: MetadataDb;
  /** Folders scanned recursively. */
  folders: string[];
  parseTimeoutMs: number;
  parallelism: number;
  defaults: Partial<AuthoringDefaults>;
  now: () => number;
  logger: Logger;
  metrics?: CapstanMetrics;
  /** Called after a pass that changed any DAG (so a scheduler in the same process can wake). */
  onChange?: () => void;
  /** Environment of the parsing processes (the task environment); default this process's. */
  env?: Record<string, string>;
  /** Authoring checks stored as each DAG's `warnings` (config `dagProcessor.warn…`). Default: all on. */
  warningChecks?: PodWarningChecks;
}

/** The DAG with the authoring warnings its tasks raise under `checks` (`warnings` absent when none). */
export function withAuthoringWarnings(dag: SerializedDag, checks: PodWarningChecks): SerializedDag {
  const { warnings: _previous, ...rest } = dag;
  const warnings: DagWarning[] = dag.tasks.flatMap((task) => podTaskWarnings(task, checks));
  return warnings.length === 0 ? rest : { ...rest, warnings };
}

export interface ProcessSummary {
  parsed: number;
  unchanged: number;
  errors: number;
  removed: number;
  dagsChanged: number;
}

interface ParsedFile {
  result: ParseResult;
  durationMs: number;
}

/** Recorded as the mtime of a file refused for a duplicate DAG id, so the next pass parses it again. */
const DUPLICATE_RETRY_MTIME = -1;

interface FileInfo {
  fileloc: string;
  mtimeMs: number;
}

export class DagProcessor {
  readonly #deps: DagProcessorDeps;
  readonly #importErrors: ImportErrorStore;

  constructor(deps: DagProcessorDeps) {
    this.#deps = deps;
    this.#importErrors = new ImportErrorStore(deps.db);
  }

  /** One pass over every folder. */
  async processOnce(): Promise<ProcessSummary> {
    const { db } = this.#deps;
    const files = await this.#listFiles();
    const known = await listDagFiles(db);
    const summary: ProcessSummary = { parsed: 0, unchanged: 0, errors: 0, removed: 0, dagsChanged: 0 };
    const toParse: Array<FileInfo & { hash: string }> = [];
    for (const f of files) {
      const prev = known.get(f.fileloc);
      if (prev && prev.mtimeMs === f.mtimeMs) {
        summary.unchanged++;
        continue;
      }
      const hash = createHash('sha256').update(await readFile(f.fileloc)).digest('hex');
      if (prev && prev.hash === hash) {
        await recordDagFile(db, { fileloc: f.fileloc, mtimeMs: f.mtimeMs, hash, parsedAt: this.#deps.now(), durationMs: 0 });
        summary.unchanged++;
        continue;
      }
      toParse.push({ ...f, hash });
    }
    // Parsed in parallel, stored one file at a time in path order: which file owns a DAG id both define
    // does not depend on which parse finished first.
    const parsed = new Map<string, ParsedFile>();
    await runLimited(toParse, this.#deps.parallelism, async (f) => {
      parsed.set(f.fileloc, await this.#parse(f));
    });
    const present = new Set(files.map((f) => f.fileloc));
    for (const f of toParse) {
      const changed = await this.#store(f, parsed.get(f.fileloc) as ParsedFile, present);
      summary.parsed++;
      if (changed < 0) summary.errors++;
      else summary.dagsChanged += changed;
    }
    for (const fileloc of known.keys()) {
      if (present.has(fileloc)) continue;
      const gone = await deactivateDagsOfFile(db, fileloc, []);
      await this.#importErrors.clear(fileloc);
      await forgetDagFile(db, fileloc);
      summary.removed++;
      summary.dagsChanged += gone.length;
      this.#deps.logger.info({ fileloc, deactivated: gone }, 'DAG file deleted; its DAGs are deactivated');
    }
    this.#deps.metrics?.dagImportErrors.set((await this.#importErrors.list()).length);
    if (summary.dagsChanged > 0) this.#deps.onChange?.();
    return summary;
  }

  /**
   * Parse passes until the signal aborts, registered as a `dag_processor` job that heartbeats every
   * `heartbeatIntervalMs` (default 5 s) whatever a pass takes, so health checks see a live processor.
   */
  async run(signal: AbortSignal, intervalMs: number, heartbeatIntervalMs = 5000): Promise<void> {
    const jobs = new JobRegistry(this.#deps.db, { now: this.#deps.now });
    const jobId = await jobs.register('dag_processor');
    const beat = setInterval(() => {
      jobs.heartbeat(jobId).catch((err: unknown) => this.#deps.logger.warn({ err }, 'DAG processor heartbeat failed'));
    }, heartbeatIntervalMs);
    try {
      while (!signal.aborted) {
        try {
          await this.processOnce();
        } catch (err) {
          this.#deps.logger.error({ err }, 'DAG processing pass failed');
        }
        await abortableDelay(intervalMs, signal);
      }
    } finally {
      clearInterval(beat);
      await jobs.end(jobId, 'success').catch((err: unknown) => this.#deps.logger.warn({ err }, 'could not end the DAG processor job'));
    }
  }

  async #parse(f: FileInfo): Promise<ParsedFile> {
    const started = performance.now();
    const result = await parseDagFileIsolated(f.fileloc, { timeoutMs: this.#deps.parseTimeoutMs, defaults: this.#deps.defaults, ...(this.#deps.env ? { env: this.#deps.env } : {}) });
    const durationMs = performance.now() - started;
    this.#deps.metrics?.dagParseDuration.observe({ file: f.fileloc }, durationMs / 1000);
    return { result, durationMs };
  }

  /**
   * Store one parsed file. Returns the number of DAGs whose stored form changed, or -1 on an import error.
   * A DAG id another present file already owns (an active DAG stored from it) is an import error of this
   * file, which stores none of its DAGs: the first file keeps the DAG instead of the two taking it over
   * in turn on every edit. Such a file is parsed again every pass, so it takes the DAG over once the
   * owner no longer defines it.
   */
  async #store(f: FileInfo & { hash: string }, parsed: ParsedFile, present: ReadonlySet<string>): Promise<number> {
    const { db, logger, metrics } = this.#deps;
    let result = parsed.result;
    const durationMs = parsed.durationMs;
    const now = this.#deps.now();
    let mtimeMs = f.mtimeMs;
    if (result.ok) {
      const owners = new Map((await listDags(db)).map((d) => [d.dag_id, d.fileloc]));
      const taken = result.dags.flatMap((s) => {
        const owner = owners.get(s.dagId);
        return owner !== undefined && owner !== f.fileloc && present.has(owner) ? [`DAG id '${s.dagId}' is already defined in ${owner}`] : [];
      });
      if (taken.length > 0) {
        result = { ok: false, error: `${f.fileloc}: ${taken.join('; ')} (a DAG id belongs to the file that defined it first: rename the DAG here, or remove it from the other file)` };
        mtimeMs = DUPLICATE_RETRY_MTIME;
      }
    }
    await recordDagFile(db, { fileloc: f.fileloc, mtimeMs, hash: mtimeMs === DUPLICATE_RETRY_MTIME ? '' : f.hash, parsedAt: now, durationMs });
    if (!result.ok) {
      await this.#importErrors.record(f.fileloc, result.error, now, result.line ?? null);
      metrics?.dagProcessingFiles.inc({ outcome: 'error' });
      logger.warn({ fileloc: f.fileloc, error: result.error }, 'DAG file failed to import');
      return -1;
    }
    await this.#importErrors.clear(f.fileloc);
    let changed = 0;
    const checks = this.#deps.warningChecks ?? { latestImage: true, missingResourceRequests: true };
    for (const parsedDag of result.dags) {
      const s = withAuthoringWarnings(parsedDag, checks);
      if (await upsertSerializedDag(db, s, now)) {
        changed++;
        for (const w of s.warnings ?? []) logger.warn({ fileloc: f.fileloc, dagId: s.dagId, taskId: w.taskId, code: w.code }, `DAG warning: ${w.message}`);
      }
    }
    changed += (await deactivateDagsOfFile(db, f.fileloc, result.dags.map((d) => d.dagId))).length;
    metrics?.dagProcessingFiles.inc({ outcome: 'ok' });
    logger.info({ fileloc: f.fileloc, dags: result.dags.map((d) => d.dagId), ms: Math.round(durationMs) }, 'DAG file parsed');
    return changed;
  }

  async #listFiles(): Promise<FileInfo[]> {
    const out: FileInfo[] = [];
    for (const folder of this.#deps.folders) await walk(folder, out);
    return out.sort((a, b) => a.fileloc.localeCompare(b.fileloc));
  }
}

async function walk(dir: string, out: FileInfo[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && DAG_FILE_PATTERN.test(e.name) && !e.name.endsWith('.d.ts')) {
      out.push({ fileloc: p, mtimeMs: Math.trunc((await stat(p)).mtimeMs) });
    }
  }
}
