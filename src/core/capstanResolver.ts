/**
 * The resolve hook every process that imports user code (DAG files, DAG callbacks, user triggers) registers:
 * the bare `capstan` specifier maps to this installation, wherever the user's file lives, and the instance of
 * a DAG file an import belongs to is carried on to the user's own modules. It sits in core because the DAG
 * processor, the task runtime and the triggerer all load user modules and none of them may import another.
 */
import { registerHooks } from 'node:module';

const CAPSTAN_ENTRY = new URL('../index.ts', import.meta.url).href;
/** Capstan's own sources: loaded once per process, whatever instance of a DAG file imports them. */
const CAPSTAN_SRC = new URL('../', import.meta.url).href;
/** Query parameter that tells one imported instance of a user module from another. */
export const INSTANCE_PARAM = 'capstanInstance';
let hooksRegistered = false;

/**
 * The instance of a DAG file an import belongs to, carried on to the user's own modules: a DAG file whose DAGs
 * are defined in a helper module (a DAG factory) gets them defined again in each instance. Packages and
 * Capstan itself stay shared.
 */
function withInstance(url: string, parentURL: string | undefined): string {
  if (parentURL === undefined || !url.startsWith('file:') || url.startsWith(CAPSTAN_SRC) || url.includes('/node_modules/')) return url;
  const instance = URL.canParse(parentURL) ? new URL(parentURL).searchParams.get(INSTANCE_PARAM) : null;
  if (instance === null) return url;
  const out = new URL(url);
  out.searchParams.set(INSTANCE_PARAM, instance);
  return out.href;
}

/** Make `import … from 'capstan'` resolve to this installation, and carry DAG-file instances on (idempotent). */
export function registerCapstanResolver(): void {
  if (hooksRegistered) return;
  hooksRegistered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === 'capstan') return { url: CAPSTAN_ENTRY, shortCircuit: true, format: 'module-typescript' };
      const resolved = nextResolve(specifier, context);
      const url = withInstance(resolved.url, context.parentURL);
      return url === resolved.url ? resolved : { ...resolved, url };
    },
  });
}
