/** `FileTrigger`: waits until a path (or glob) matches at least one file. */
import { glob, stat } from 'node:fs/promises';
import { InvalidArgument, parseDuration } from '../core/index.ts';
import type { JsonObject } from '../core/index.ts';
import { builtinClasspath } from './classpath.ts';
import type { SerializedTrigger, Trigger, TriggerEnv, TriggerEvent } from './types.ts';

/** Kwargs of a {@link FileTrigger}. */
export interface FileTriggerKwargs extends JsonObject {
  /** A path, or a glob pattern (`*`, `**`, `?`, `[…]`). */
  filepath: string;
  /** Time between checks, ms. Default 5 s. */
  pokeIntervalMs: number;
}

const GLOB_CHARS = /[*?[\]{}]/;

/** The files `filepath` names now: itself when it exists, or the matches of a glob pattern (sorted). */
export async function matchingFiles(filepath: string): Promise<string[]> {
  if (!GLOB_CHARS.test(filepath)) {
    try {
      await stat(filepath);
      return [filepath];
    } catch {
      return [];
    }
  }
  const out: string[] = [];
  for await (const entry of glob(filepath)) out.push(entry);
  return out.sort();
}

/**
 * Fires with `{ filepath, files }` once `filepath` exists (or its glob matches); Airflow's `FileTrigger`.
 *
 * @example
 * this.defer({ trigger: new FileTrigger({ filepath: '/data/in/*.csv', pokeIntervalMs: 10_000 }), method: 'onFile' });
 */
export class FileTrigger implements Trigger {
  readonly kwargs: FileTriggerKwargs;

  constructor(kwargs: JsonObject) {
    const filepath = kwargs['filepath'];
    if (typeof filepath !== 'string' || filepath === '') throw new InvalidArgument('FileTrigger: filepath must be a non-empty string');
    const interval = kwargs['pokeIntervalMs'] ?? 5_000;
    this.kwargs = { filepath, pokeIntervalMs: parseDuration(interval as number, 'FileTrigger.pokeIntervalMs') };
  }

  serialize(): SerializedTrigger {
    return { classpath: builtinClasspath('FileTrigger'), kwargs: { ...this.kwargs } };
  }

  async *run(signal: AbortSignal, env: TriggerEnv): AsyncGenerator<TriggerEvent> {
    while (!signal.aborted) {
      const files = await matchingFiles(this.kwargs.filepath);
      if (files.length > 0) {
        yield { payload: { filepath: this.kwargs.filepath, files } };
        return;
      }
      await env.clock.sleep(this.kwargs.pokeIntervalMs, signal);
    }
  }
}
