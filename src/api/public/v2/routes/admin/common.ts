/** Pieces shared by the admin route files: timestamps, who acted, DAG grants checked on ids from a body. */
import type { Context } from 'hono';
import { visibleDagIds, actorName, dagAccess, dagAccessPermits, type Action } from '../../../../../auth/index.ts';
import { CapstanError } from '../../../../../core/index.ts';
import { dagAccessFacts } from '../../../../../store/index.ts';
import type { MetadataDb } from '../../../../../store/index.ts';
import type { ApiEnv } from '../../../../auth/authMiddleware.ts';

/** Epoch ms as ISO 8601 (UTC), null kept. */
export const iso = (v: number | null): string | null => (v === null ? null : new Date(v).toISOString());

/** Who the audit log and engine services record as having acted. */
export function actor(c: Context<ApiEnv>): string {
  return actorName(c.get('principal'));
}

/**
 * Check the caller's grants on a DAG named by a body or a stored row (the middleware checks only `{dagId}`
 * in a path): outside them the DAG does not exist (`dag_not_found`, 404), granted read-only a change is
 * `forbidden`.
 */
export async function requireDagGrant(c: Context<ApiEnv>, db: MetadataDb, dagId: string, action: Action): Promise<void> {
  const p = c.get('principal');
  if (p.dags.kind === 'all') return;
  const facts = await dagAccessFacts(db, dagId);
  const level = facts === undefined ? 'none' : dagAccess(p.dags, facts);
  if (level === 'none') throw new CapstanError('dag_not_found', `DAG '${dagId}' is not known`);
  if (!dagAccessPermits(level, action)) throw new CapstanError('forbidden', `role ${p.roleName} may only read DAG '${dagId}'`);
}

/** The DAG ids a list is limited to for this caller: undefined for every DAG. */
export async function visibleDagFilter(c: Context<ApiEnv>, db: MetadataDb): Promise<readonly string[] | undefined> {
  const visible = await visibleDagIds(db, c.get('principal').dags);
  return visible === 'all' ? undefined : visible;
}
