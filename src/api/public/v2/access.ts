/**
 * How a v2 route declares what it takes to call it, beside its definition. The permission table
 * (`src/api/auth/routePermissions.ts`) is fed from these declarations, so a v2 route cannot exist without
 * its entry.
 *
 * @example
 * defineRoute({ method: 'get', path: '/dags', access: can('dag', 'read'), ... });
 * defineRoute({ method: 'post', path: '/dags/{dagId}/dagRuns', access: onDagAudited('dag_run', 'create', 'dag.trigger'), ... });
 */
import type { Action, Resource } from '../../../auth/index.ts';
import type { RouteAccess } from '../../auth/routePermissions.ts';

/** Any signed-in principal (the OpenAPI document, the reference page). */
export const SIGNED_IN: RouteAccess = { kind: 'signedIn' };

/** A permission that is not about one DAG; `event` audits a mutating route's every outcome. */
export const can = (resource: Resource, action: Action, event?: string): RouteAccess => ({ kind: 'permission', resource, action, ...(event ? { event } : {}) });

/**
 * A permission on the DAG named by the `dagId` path parameter: outside the caller's grants the DAG answers
 * 404. The value `~` (every DAG, on list routes) passes the check and the handler lists visible DAGs only.
 */
export const onDag = (resource: Resource, action: Action, event?: string): RouteAccess => ({ kind: 'permission', resource, action, dagParam: 'dagId', ...(event ? { event } : {}) });

/** A DAG route whose engine service audits its own successes (the middleware records refusals and failures). */
export const onDagAudited = (resource: Resource, action: Action, event: string): RouteAccess => ({ kind: 'permission', resource, action, dagParam: 'dagId', event, auditedBy: 'service' });
