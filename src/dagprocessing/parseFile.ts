/**
 * Parse a DAG file in a fresh child process with a timeout.
 */
import { fork } from 'node:child_process';
import type { AuthoringDefaults } from '../sdk/authoring.ts';
import type { ParseResult } from './parseWorker.ts';

const WORKER = new URL('./parseWorker.ts', import.meta.url);

export async function parseDagFileIsolated(path: string, options: { timeoutMs: number; defaults: Partial<AuthoringDefaults> }): Promise<ParseResult> {
  const child = fork(WORKER, [path], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, CAPSTAN_AUTHORING_DEFAULTS: JSON.stringify(options.defaults) },
    serialization: 'advanced',
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    if (stderr.length < 4000) stderr += b.toString();
  });
  return new Promise<ParseResult>((resolve) => {
    let settled = false;
    const finish = (r: ParseResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ ok: false, error: `${path}: import timed out after ${options.timeoutMs} ms (dagProcessor.parseTimeoutMs); the file was killed` });
    }, options.timeoutMs);
    child.on('message', (m) => finish(m as ParseResult));
    child.on('exit', (code, signal) => {
      finish({ ok: false, error: `${path}: parser exited (${signal ?? `code ${code}`}) without a result${stderr ? `: ${stderr.trim().slice(-2000)}` : ''}` });
    });
  });
}
