/**
 * Rebuilding a trigger from its stored `{ classpath, kwargs }` in the triggerer process. Built-in
 * triggers are found by their stable `capstan.<Name>`; a user trigger's classpath is `<module>#<export>`
 * and its module is imported (with the `capstan` resolve hook, so it may import from 'capstan').
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CapstanError, registerCapstanResolver } from '../core/index.ts';
import { BUILTIN_PREFIX } from './classpath.ts';
import { DateTimeTrigger } from './dateTime.ts';
import { FileTrigger } from './file.ts';
import { HttpTrigger } from './http.ts';
import type { SerializedTrigger, Trigger, TriggerClass } from './types.ts';

const BUILTIN: ReadonlyMap<string, TriggerClass> = new Map<string, TriggerClass>([
  ['DateTimeTrigger', DateTimeTrigger],
  ['FileTrigger', FileTrigger],
  ['HttpTrigger', HttpTrigger],
]);

/**
 * Built-in triggers whose modules are loaded on first use, registered by the layer that knows them (the
 * Kubernetes provider's `capstan.KubernetesPodTrigger`: see src/triggerer/providerTriggers.ts). Its client
 * library takes ~300 ms to load, which a triggerer that runs no Kubernetes trigger should not pay.
 */
const LAZY_BUILTIN = new Map<string, () => Promise<TriggerClass>>();

/** Make `capstan.<name>` load the class `load` resolves to, the first time a stored trigger names it (idempotent per name). */
export function registerLazyBuiltinTrigger(name: string, load: () => Promise<TriggerClass>): void {
  if (BUILTIN.has(name)) throw new CapstanError('invalid_argument', `built-in trigger '${name}' is already defined`);
  LAZY_BUILTIN.set(name, load);
}

/** Names of the built-in triggers (without the `capstan.` prefix). */
export function builtinTriggerNames(): string[] {
  return [...BUILTIN.keys(), ...LAZY_BUILTIN.keys()];
}

/** Rebuild a trigger; a classpath that names nothing usable is a `CapstanError` saying which part. */
export async function loadTrigger(s: SerializedTrigger): Promise<Trigger> {
  const cls = s.classpath.startsWith(BUILTIN_PREFIX) ? await builtin(s.classpath) : await userClass(s.classpath);
  const trigger = new cls(s.kwargs);
  if (typeof trigger.run !== 'function' || typeof trigger.serialize !== 'function') {
    throw new CapstanError('invalid_argument', `trigger '${s.classpath}' does not implement run() and serialize()`);
  }
  return trigger;
}

async function builtin(classpath: string): Promise<TriggerClass> {
  const name = classpath.slice(BUILTIN_PREFIX.length);
  const lazy = LAZY_BUILTIN.get(name);
  const cls = lazy === undefined ? BUILTIN.get(name) : await lazy();
  if (!cls) throw new CapstanError('not_found', `unknown built-in trigger '${classpath}'`, { hint: `built-in triggers: ${builtinTriggerNames().map((n) => BUILTIN_PREFIX + n).join(', ')}` });
  return cls;
}

async function userClass(classpath: string): Promise<TriggerClass> {
  const hash = classpath.lastIndexOf('#');
  if (hash <= 0 || hash === classpath.length - 1) {
    throw new CapstanError('invalid_argument', `trigger classpath '${classpath}' must be '<module>#<export>' or 'capstan.<Name>'`, { hint: 'build it with triggerClasspath(import.meta.url, "MyTrigger")' });
  }
  const modulePath = classpath.slice(0, hash);
  const exportName = classpath.slice(hash + 1);
  registerCapstanResolver();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(isAbsolute(modulePath) ? pathToFileURL(modulePath).href : modulePath)) as Record<string, unknown>;
  } catch (err) {
    throw new CapstanError('not_found', `trigger module '${modulePath}' could not be imported in the triggerer: ${err instanceof Error ? err.message : String(err)}`, {
      hint: 'the module must exist at the same path on the triggerer host',
      cause: err,
    });
  }
  const cls = mod[exportName];
  if (typeof cls !== 'function') throw new CapstanError('not_found', `trigger module '${modulePath}' has no exported class '${exportName}'`);
  return cls as TriggerClass;
}
