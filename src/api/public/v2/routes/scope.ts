/** What a `{dagId}` (or `~`) in a list route's path covers for this caller. */
import type { Context } from 'hono';
import { visibleDagIds, actorName } from '../../../../auth/index.ts';
import { getDag } from '../../../../store/index.ts';
import type { ApiEnv } from '../../../auth/authMiddleware.ts';
import type { V2Deps } from '../deps.ts';

/**
 * `{ dagId }` for one DAG (404 when it is not known; the middleware already checked the grant), or for `~`
 * every DAG the caller may see: `{}` for all, `{ dagIds }` for a custom role's.
 */
export async function dagScope(c: Context<ApiEnv>, d: V2Deps, dagId: string): Promise<{ dagId?: string; dagIds?: string[] }> {
  if (dagId !== '~') {
    await getDag(d.db, dagId);
    return { dagId };
  }
  const visible = await visibleDagIds(d.db, c.get('principal').dags);
  return visible === 'all' ? {} : { dagIds: visible };
}

/** Who the audit log and engine services record as having acted. */
export function actor(c: Context<ApiEnv>): string {
  return actorName(c.get('principal'));
}
