/**
 * The administration part of `/api/v2`: connections, variables, pools, XCom entries, import errors,
 * backfills, the audit log (eventLogs), users, roles and API tokens, jobs and health, version and config.
 * Each resource file exports its routes; this registry is spread into `V2_ROUTES`.
 */
import type { AnyRoute } from '../../route.ts';
import { backfillRoutes } from './backfills.ts';
import { connectionRoutes } from './connections.ts';
import { eventLogRoutes } from './eventLogs.ts';
import { importErrorRoutes } from './importErrors.ts';
import { monitorRoutes } from './monitor.ts';
import { poolRoutes } from './pools.ts';
import { userRoutes } from './users.ts';
import { variableRoutes } from './variables.ts';
import { xcomRoutes } from './xcomEntries.ts';

export type { AdminDeps } from './deps.ts';

/** Every admin operation, in the order the reference page lists them. */
export const adminRoutes: readonly AnyRoute[] = [
  ...connectionRoutes,
  ...variableRoutes,
  ...poolRoutes,
  ...xcomRoutes,
  ...importErrorRoutes,
  ...backfillRoutes,
  ...eventLogRoutes,
  ...userRoutes,
  ...monitorRoutes,
];
