/**
 * Who may do what: the built-in roles (Airflow's Viewer < User < Op < Admin), the resources and actions they
 * act on, and custom roles that narrow a built-in role to some DAGs. Pure: no I/O, so the matrix is tested
 * (and read) as data.
 */

/** The built-in roles, least to most powerful. */
export const BUILTIN_ROLES = ['Viewer', 'User', 'Op', 'Admin'] as const;
export type BuiltinRole = (typeof BUILTIN_ROLES)[number];

/** What a permission is about. The `DAG_SCOPED` ones belong to one DAG and follow its grants. */
export const RESOURCES = [
  'dag',
  'dag_run',
  'task_instance',
  'task_log',
  'xcom',
  'backfill',
  'import_error',
  'pool',
  'variable',
  'connection',
  'audit_log',
  'config',
  'metrics',
  'user',
  'role',
  'api_token',
] as const;
export type Resource = (typeof RESOURCES)[number];

export const ACTIONS = ['read', 'create', 'edit', 'delete'] as const;
export type Action = (typeof ACTIONS)[number];

/** Resources whose every row belongs to one DAG: access to them also needs access to that DAG. */
export const DAG_SCOPED: ReadonlySet<Resource> = new Set(['dag', 'dag_run', 'task_instance', 'task_log', 'xcom', 'backfill']);

export interface Permission {
  resource: Resource;
  action: Action;
}

type Grants = Partial<Record<Resource, readonly Action[]>>;

const ALL: readonly Action[] = ACTIONS;

/**
 * What each built-in role adds to the one below it (Airflow's meaning): Viewer reads DAGs, runs, task
 * instances, logs, XComs, pools and import errors; User triggers, clears, marks, annotates and pauses; Op
 * manages connections, variables, pools and backfills and reads config and the audit log; Admin manages
 * users and roles. Every signed-in user manages their own API tokens.
 */
const ADDED: Record<BuiltinRole, Grants> = {
  Viewer: {
    dag: ['read'],
    dag_run: ['read'],
    task_instance: ['read'],
    task_log: ['read'],
    xcom: ['read'],
    backfill: ['read'],
    import_error: ['read'],
    pool: ['read'],
    metrics: ['read'],
    api_token: ALL,
  },
  User: {
    dag: ['edit'],
    dag_run: ['create', 'edit', 'delete'],
    task_instance: ['edit'],
  },
  Op: {
    backfill: ['create', 'edit'],
    pool: ['create', 'edit', 'delete'],
    variable: ALL,
    connection: ALL,
    audit_log: ['read'],
    config: ['read'],
  },
  Admin: {
    user: ALL,
    role: ALL,
  },
};

/** Every permission of each built-in role, inherited ones included. */
export const ROLE_PERMISSIONS: Record<BuiltinRole, ReadonlySet<string>> = (() => {
  const out = {} as Record<BuiltinRole, ReadonlySet<string>>;
  const acc = new Set<string>();
  for (const role of BUILTIN_ROLES) {
    for (const [resource, actions] of Object.entries(ADDED[role])) for (const a of actions) acc.add(`${resource}:${a}`);
    out[role] = new Set(acc);
  }
  return out;
})();

export function isBuiltinRole(name: string): name is BuiltinRole {
  return (BUILTIN_ROLES as readonly string[]).includes(name);
}

/** The rank of a built-in role (Viewer 0 … Admin 3), for "at most" comparisons. */
export function roleRank(role: BuiltinRole): number {
  return BUILTIN_ROLES.indexOf(role);
}

/** The lesser of two built-in roles. */
export function lesserRole(a: BuiltinRole, b: BuiltinRole): BuiltinRole {
  return roleRank(a) <= roleRank(b) ? a : b;
}

/** True when `role` holds `permission` (DAG grants aside). */
export function roleAllows(role: BuiltinRole, p: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(`${p.resource}:${p.action}`);
}

/**
 * Which DAGs a principal may touch: every DAG (built-in roles), or the DAGs a custom role names by id or
 * tag, plus the DAGs whose `accessControl` names the role.
 */
export type DagScope = { kind: 'all' } | { kind: 'some'; role: string; dagIds: readonly string[]; tags: readonly string[] };

/** How a DAG's `accessControl` grants a custom role: `read` (see only) or `edit` (all its role allows). */
export type DagAccessLevel = 'read' | 'edit';

/** The facts about one DAG that its access check needs. */
export interface DagAccessFacts {
  dagId: string;
  tags: readonly string[];
  /** The DAG's `accessControl`: role name → level. */
  accessControl: Readonly<Record<string, DagAccessLevel>>;
}

/**
 * The level at which `scope` reaches a DAG: `edit` when the custom role names the DAG (by id or tag) or the DAG
 * grants it `edit`, `read` when the DAG grants it `read`, `none` otherwise.
 */
export function dagAccess(scope: DagScope, dag: DagAccessFacts): DagAccessLevel | 'none' {
  if (scope.kind === 'all') return 'edit';
  if (scope.dagIds.includes(dag.dagId) || dag.tags.some((t) => scope.tags.includes(t))) return 'edit';
  return dag.accessControl[scope.role] ?? 'none';
}

/** True when `level` of DAG access permits `action` (`read` access permits reading only). */
export function dagAccessPermits(level: DagAccessLevel | 'none', action: Action): boolean {
  return level === 'edit' || (level === 'read' && action === 'read');
}

/**
 * Who is making a request, once authenticated: a signed-in user (session or bearer token) or one of their
 * API tokens, acting with `role` (a token's role never exceeds its user's), over `dags`.
 */
export interface Principal {
  kind: 'user' | 'api_token' | 'anonymous';
  username: string;
  /** The built-in role whose permissions apply (a custom role's base role). */
  role: BuiltinRole;
  /** The role's name as assigned: a built-in role or a custom role. */
  roleName: string;
  dags: DagScope;
  /** For API tokens: the token's name. */
  tokenName?: string;
  /** The signed session or bearer token this request came with (logout revokes it by id). */
  session?: { jti: string; expiresAt: number };
}

/** How the audit log and engine services name the principal: `alice`, or `alice (token ci-deploy)`. */
export function actorName(p: Principal): string {
  return p.kind === 'api_token' ? `${p.username} (token ${p.tokenName ?? '?'})` : p.username;
}

/** True when the principal may take `permission` on a DAG with these facts (or on a non-DAG resource). */
export function principalAllows(p: Principal, perm: Permission, dag?: DagAccessFacts): boolean {
  if (!roleAllows(p.role, perm)) return false;
  if (!DAG_SCOPED.has(perm.resource) || dag === undefined) return true;
  return dagAccessPermits(dagAccess(p.dags, dag), perm.action);
}
