/**
 * The UI's pages by path. Every path lies under a prefix the server answers with the UI
 * (src/api/ui UI_PAGE_ROUTES), so deep links and reloads work; the URL holds the page's state.
 */
import { createBrowserRouter, type RouteObject } from 'react-router';
import { RequireSignIn } from './auth/session.tsx';
import { AppShell } from './shell/AppShell.tsx';
import { AccountPage } from './pages/AccountPage.tsx';
import { DashboardPage } from './pages/DashboardPage.tsx';
import { DagListPage } from './pages/DagListPage.tsx';
import { DagPage } from './pages/dag/DagPage.tsx';
import { RunsBrowsePage, TaskInstancesBrowsePage } from './pages/BrowsePages.tsx';
import { RunPage } from './pages/runs/RunPage.tsx';
import { AuditLogPage, ConfigPage, ConnectionsPage, ImportErrorsPage, PoolsPage, UsersPage, VariablesPage } from './pages/admin/AdminPages.tsx';
import { RolesPage } from './pages/admin/RolesPage.tsx';
import { TokensPage } from './pages/admin/TokensPage.tsx';
import { XComsPage } from './pages/XComsPage.tsx';
import { TaskInstancePage } from './pages/ti/TaskInstancePage.tsx';
import { LoginPage } from './pages/LoginPage.tsx';
import { NotFoundPage } from './pages/NotFoundPage.tsx';

export const routes: RouteObject[] = [
  { path: '/login', element: <LoginPage /> },
  {
    element: (
      <RequireSignIn>
        <AppShell />
      </RequireSignIn>
    ),
    children: [
      { index: true, element: <DashboardPage /> },
      { path: 'account', element: <AccountPage /> },
      { path: 'dags', element: <DagListPage /> },
      { path: 'dags/:dagId/:tab?', element: <DagPage /> },
      { path: 'dags/:dagId/runs/:runId', element: <RunPage /> },
      { path: 'dags/:dagId/runs/:runId/tasks/:taskId', element: <TaskInstancePage /> },
      { path: 'runs', element: <RunsBrowsePage /> },
      { path: 'task-instances', element: <TaskInstancesBrowsePage /> },
      { path: 'browse/audit-log', element: <AuditLogPage /> },
      { path: 'browse/import-errors', element: <ImportErrorsPage /> },
      { path: 'browse/xcoms', element: <XComsPage /> },
      { path: 'admin/pools', element: <PoolsPage /> },
      { path: 'admin/variables', element: <VariablesPage /> },
      { path: 'admin/connections', element: <ConnectionsPage /> },
      { path: 'admin/users', element: <UsersPage /> },
      { path: 'admin/roles', element: <RolesPage /> },
      { path: 'admin/tokens', element: <TokensPage /> },
      { path: 'admin/config', element: <ConfigPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
];

export const router = createBrowserRouter(routes);
