/**
 * DAG processing: the DagProcessor that parses DAG files in isolated workers and writes serialized DAGs to
 * the store, the isolated-call helper, and the DAG-file loader. Other folders import it through this module
 * or, on the task path, through the light entry loader.ts (lint: eslint-rules/noDeepImports.js).
 *
 * Not re-exported: parseWorker.ts is a worker entry (it acts when loaded; parseFile.ts starts it by file URL),
 * so only its ParseResult type is here.
 *
 * @example
 * import { DagProcessor, parseDagFileIsolated } from '../dagprocessing/index.ts';
 * const result = await parseDagFileIsolated('/dags/etl.ts', { timeoutMs: 30_000 });
 * const processor = new DagProcessor(deps);
 */
export * from './errorLine.ts';
export * from './isolatedCall.ts';
export * from './loader.ts';
export * from './parseFile.ts';
export type { ParseResult } from './parseWorker.ts';
export * from './processor.ts';
