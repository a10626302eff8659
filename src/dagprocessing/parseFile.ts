/**
 * Parse a DAG file in a fresh child process with a timeout.
 */
import { callIsolated } from './isolatedCall.ts';
import type { AuthoringDefaults } from '../sdk/authoring.ts';
import type { ParseResult } from './parseWorker.ts';

const WORKER = new URL('./parseWorker.ts', import.meta.url);

/**
 * `env`: the environment the parser starts with (user code runs in it: the roles pass the task
 * environment, never the whole of theirs); default this process's.
 */
export async function parseDagFileIsolated(path: string, options: { timeoutMs: number; defaults: Partial<AuthoringDefaults>; env?: Readonly<Record<string, string | undefined>> }): Promise<ParseResult> {
  const r = await callIsolated<ParseResult>(WORKER, {
    args: [path],
    env: { ...(options.env ?? process.env), CAPSTAN_AUTHORING_DEFAULTS: JSON.stringify(options.defaults) },
    timeoutMs: options.timeoutMs,
    serialization: 'advanced',
  });
  switch (r.kind) {
    case 'reply':
      return r.value;
    case 'timeout':
      return { ok: false, error: `${path}: import timed out after ${options.timeoutMs} ms (dagProcessor.parseTimeoutMs); the file was killed` };
    case 'exited':
      return { ok: false, error: `${path}: parser exited (${r.detail}) without a result` };
  }
}
