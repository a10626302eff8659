/**
 * The navigation: sections and their pages, each a path the server answers with the UI (see
 * src/api/ui UI_PAGE_ROUTES) and, where a role may not read it, the permission it takes.
 */
export interface NavItem {
  label: string;
  to: string;
  /** `resource:action` the role needs for the page to be offered. */
  needs?: string;
  /** Keyboard shortcut after `g` (e.g. `d` for `g d`). */
  key?: string;
}

export interface NavSection {
  label: string;
  items: NavItem[];
}

export const NAV: NavSection[] = [
  {
    label: 'Main',
    items: [
      { label: 'Dashboard', to: '/', key: 'h' },
      { label: 'DAGs', to: '/dags', key: 'd', needs: 'dag:read' },
      { label: 'Runs', to: '/runs', key: 'r', needs: 'dag_run:read' },
      { label: 'Task instances', to: '/task-instances', key: 't', needs: 'task_instance:read' },
    ],
  },
  {
    label: 'Browse',
    items: [
      { label: 'Audit log', to: '/browse/audit-log', key: 'a', needs: 'audit_log:read' },
      { label: 'Import errors', to: '/browse/import-errors', key: 'e', needs: 'import_error:read' },
      { label: 'XComs', to: '/browse/xcoms', key: 'x', needs: 'xcom:read' },
    ],
  },
  {
    label: 'Admin',
    items: [
      { label: 'Pools', to: '/admin/pools', key: 'p', needs: 'pool:read' },
      { label: 'Variables', to: '/admin/variables', key: 'v', needs: 'variable:read' },
      { label: 'Connections', to: '/admin/connections', key: 'c', needs: 'connection:read' },
      { label: 'Users', to: '/admin/users', key: 'u', needs: 'user:read' },
      { label: 'Roles', to: '/admin/roles', needs: 'role:read' },
      { label: 'API tokens', to: '/admin/tokens', needs: 'user:read' },
      { label: 'Configuration', to: '/admin/config', needs: 'config:read' },
    ],
  },
];

/** Every item with a `g <key>` shortcut. */
export function navShortcuts(): NavItem[] {
  return NAV.flatMap((s) => s.items).filter((i) => i.key !== undefined);
}
