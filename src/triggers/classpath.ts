/** How a trigger names its class in the `trigger` table (see `SerializedTrigger.classpath`). */
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { INSTANCE_PARAM } from '../core/index.ts';

/** Prefix of built-in triggers: `capstan.DateTimeTrigger`. Stable across releases and moves of the code. */
export const BUILTIN_PREFIX = 'capstan.';

/** The classpath of a built-in trigger. */
export function builtinClasspath(name: string): string {
  return BUILTIN_PREFIX + name;
}

/**
 * The classpath of a user trigger: the module that exports it and the export's name. Call it with
 * `import.meta.url` from the trigger's own module so the triggerer imports the very same file:
 *
 * @example
 * serialize() { return { classpath: triggerClasspath(import.meta.url, 'QueueTrigger'), kwargs: this.kwargs }; }
 */
export function triggerClasspath(moduleUrl: string, exportName: string): string {
  const url = isAbsolute(moduleUrl) ? pathToFileURL(moduleUrl).href : moduleUrl;
  if (!URL.canParse(url)) return `${url}#${exportName}`;
  // A reused task process imports a DAG file's modules once per try (`?capstanInstance=N`); the triggerer needs the
  // module once, not a copy per try that deferred.
  const shared = new URL(url);
  shared.searchParams.delete(INSTANCE_PARAM);
  return `${shared.href}#${exportName}`;
}
