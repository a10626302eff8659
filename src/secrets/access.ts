/**
 * A DAG's declaration of the variables and connections its tasks may read (`dag({ secretAccess })`),
 * enforced by the Execution API. Without a declaration, or for a kind the declaration leaves out, every
 * key is readable: existing DAGs keep working, and a DAG opts in to the narrower rule.
 *
 * @example
 * secretAccessAllows({ variables: ['report_*'] }, 'variables', 'report_bucket'); // true
 * secretAccessAllows({ variables: ['report_*'] }, 'variables', 'smtp_password'); // false
 * secretAccessAllows({ variables: ['report_*'] }, 'connections', 'warehouse');   // true (not restricted)
 */
import type { SecretAccess } from '../core/index.ts';

/** Whether `key` of `kind` may be read under `access` (globs: `*` matches any run of characters). */
export function secretAccessAllows(access: SecretAccess | undefined, kind: keyof SecretAccess, key: string): boolean {
  const patterns = access?.[kind];
  if (patterns === undefined) return true;
  return patterns.some((p) => globToRegExp(p).test(key));
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('.*')}$`);
}
