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
    ],
  },
];

/** Every item with a `g <key>` shortcut. */
export function navShortcuts(): NavItem[] {
  return NAV.flatMap((s) => s.items).filter((i) => i.key !== undefined);
}
