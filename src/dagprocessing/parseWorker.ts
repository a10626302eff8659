/**
 * Child-process entry that parses one DAG file and sends back its serialized DAGs over IPC. Running each
 * parse in its own process means a file that throws, hangs or leaks cannot harm the processor.
 */
import { errorMessage } from '../core/index.ts';
import type { SerializedDag } from '../core/index.ts';
import { setAuthoringDefaults, type AuthoringDefaults } from '../sdk/authoring.ts';
import { errorLineIn } from './errorLine.ts';
import { importDagFile } from './loader.ts';

/** The message a parse worker sends to its parent; `line` is the line of the file the error points at, when known. */
export type ParseResult = { ok: true; dags: SerializedDag[] } | { ok: false; error: string; line?: number | null };

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error('usage: parseWorker.ts <dag file>');
  const defaults = process.env.CAPSTAN_AUTHORING_DEFAULTS;
  if (defaults) setAuthoringDefaults(JSON.parse(defaults) as Partial<AuthoringDefaults>);
  let result: ParseResult;
  try {
    const dags = await importDagFile(path);
    result = { ok: true, dags: dags.map((d) => d.serialize(path)) };
  } catch (err) {
    result = { ok: false, error: errorMessage(err), line: errorLineIn(path, err) };
  }
  process.send?.(result, () => process.exit(0));
}

await main();
