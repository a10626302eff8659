/** Which DAGs a principal may see, for filtering lists (DAGs, runs, audit entries) by custom-role grants. */
import { allDagAccessFacts } from '../store/index.ts';
import type { MetadataDb } from '../store/index.ts';
import { dagAccess, type DagScope } from './permissions.ts';

/** `all`, or the ids of the DAGs the scope reaches (at `read` or `edit`). */
export async function visibleDagIds(m: MetadataDb, scope: DagScope): Promise<'all' | string[]> {
  if (scope.kind === 'all') return 'all';
  return (await allDagAccessFacts(m)).filter((f) => dagAccess(scope, f) !== 'none').map((f) => f.dagId);
}
