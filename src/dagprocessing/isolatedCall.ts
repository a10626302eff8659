/**
 * Run user code in a fresh child process and wait for its one reply over IPC, with a hard timeout: the
 * child is killed when time is up, and a child that exits without replying is reported with the tail of
 * its stderr. Used to import DAG files and to run DAG callbacks, so user code can never stall or crash
 * the component that asked.
 */
import { fork } from 'node:child_process';

export type IsolatedOutcome<T> =
  | { kind: 'reply'; value: T }
  | { kind: 'timeout' }
  /** `detail` names the exit code or signal, plus the end of stderr when there was any. */
  | { kind: 'exited'; detail: string };

export interface IsolatedCallOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Sent to the child once it is started (omit when the child needs only its arguments). */
  request?: unknown;
  timeoutMs: number;
  /** The child's stdout: dropped (default) or shared with this process. */
  stdout?: 'ignore' | 'inherit';
  serialization?: 'json' | 'advanced';
}

export function callIsolated<T>(entry: URL, o: IsolatedCallOptions): Promise<IsolatedOutcome<T>> {
  const child = fork(entry, o.args ?? [], {
    stdio: ['ignore', o.stdout ?? 'ignore', 'pipe', 'ipc'],
    ...(o.env ? { env: o.env } : {}),
    ...(o.serialization ? { serialization: o.serialization } : {}),
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    if (stderr.length < 4000) stderr += b.toString();
  });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: IsolatedOutcome<T>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ kind: 'timeout' });
    }, o.timeoutMs);
    child.on('message', (m) => finish({ kind: 'reply', value: m as T }));
    child.on('exit', (code, signal) => {
      const tail = stderr.trim().slice(-2000);
      finish({ kind: 'exited', detail: `${signal ?? `code ${code}`}${tail ? `: ${tail}` : ''}` });
    });
    if (o.request !== undefined) child.send(o.request as object);
  });
}
