/**
 * The frame of every signed-in page: a skip link, the header (product, navigation, theme, user menu), the
 * page in <main>, and the keyboard-shortcut help.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { authApi, can } from '../api/auth.ts';
import { useMe, useResetSession } from '../auth/session.tsx';
import { Dialog } from '../components/Dialog.tsx';
import { Logo } from '../components/Logo.tsx';
import { NAV } from './nav.ts';
import { shortcutList, useGlobalShortcuts } from './shortcuts.tsx';
import { useTheme, type ThemeChoice } from './theme.ts';

export function AppShell() {
  const [helpOpen, setHelpOpen] = useState(false);
  const openHelp = useCallback(() => setHelpOpen(true), []);
  useGlobalShortcuts(openHelp);
  const location = useLocation();
  const mainRef = useRef<HTMLElement>(null);
  // A new page moves focus to its content, so screen readers announce it (as a full page load would).
  useEffect(() => {
    mainRef.current?.focus({ preventScroll: true });
  }, [location.pathname]);

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="Capstan home">
          <Logo />
          Capstan
        </Link>
        <MainNav />
        <div className="topbar-tools">
          <button type="button" className="icon-button" onClick={openHelp} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">
            ?
          </button>
          <ThemePicker />
          <UserMenu />
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1} className="page">
        <Outlet />
      </main>
      <Dialog open={helpOpen} title="Keyboard shortcuts" onClose={() => setHelpOpen(false)}>
        <table className="table compact">
          <caption className="visually-hidden">Keyboard shortcuts</caption>
          <thead>
            <tr>
              <th scope="col">Keys</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {shortcutList().map((s) => (
              <tr key={s.keys}>
                <td>
                  {s.keys.split(' ').map((k) => (
                    <kbd key={k}>{k}</kbd>
                  ))}
                </td>
                <td>{s.what}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Dialog>
    </div>
  );
}

function MainNav() {
  const me = useMe().data;
  return (
    <nav aria-label="Main" className="mainnav">
      {NAV.map((section) => {
        const items = section.items.filter((i) => i.needs === undefined || me?.permissions.includes(i.needs));
        if (items.length === 0) return null;
        if (section.label === 'Main') {
          return items.map((i) => (
            <NavLink key={i.to} to={i.to} end={i.to === '/'} className="navlink">
              {i.label}
            </NavLink>
          ));
        }
        return <NavMenu key={section.label} label={section.label} items={items} />;
      })}
    </nav>
  );
}

/** A section of the navigation as a disclosure (button + list of links). */
function NavMenu({ label, items }: { label: string; items: { label: string; to: string }[] }) {
  const [open, setOpen] = useState(false);
  const location = useLocation();
  useEffect(() => setOpen(false), [location.pathname]);
  const active = items.some((i) => location.pathname.startsWith(i.to));
  const id = `nav-${label.toLowerCase()}`;
  return (
    <div className="navmenu" onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
      <button type="button" className={`navlink ${active ? 'active' : ''}`} aria-expanded={open} aria-controls={id} onClick={() => setOpen(!open)}>
        {label} <span aria-hidden="true">▾</span>
      </button>
      <ul id={id} className="menu" hidden={!open}>
        {items.map((i) => (
          <li key={i.to}>
            <NavLink to={i.to} className="menu-item">
              {i.label}
            </NavLink>
          </li>
        ))}
      </ul>
    </div>
  );
}

function ThemePicker() {
  const [theme, setTheme] = useTheme();
  return (
    <label className="theme-picker">
      <span className="visually-hidden">Theme</span>
      <select value={theme} onChange={(e) => setTheme(e.target.value as ThemeChoice)} aria-label="Theme">
        <option value="system">System theme</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}

function UserMenu() {
  const me = useMe().data;
  const [open, setOpen] = useState(false);
  const navigate = useNavigate();
  const reset = useResetSession();
  const location = useLocation();
  useEffect(() => setOpen(false), [location.pathname]);
  if (!me) return null;
  const signOut = async () => {
    try {
      await authApi.logout();
    } finally {
      await reset();
      await navigate('/login', { replace: true });
    }
  };
  return (
    <div className="navmenu usermenu" onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
      <button type="button" className="navlink" aria-expanded={open} aria-controls="user-menu" onClick={() => setOpen(!open)}>
        <span className="avatar" aria-hidden="true">
          {me.displayName.slice(0, 1).toUpperCase()}
        </span>
        <span>{me.displayName}</span>
        <span className="role-badge">{me.roleName}</span>
      </button>
      <ul id="user-menu" className="menu menu-right" hidden={!open}>
        <li className="menu-note">
          Signed in as <strong>{me.username}</strong> ({me.roleName})
        </li>
        {can(me, 'api_token', 'read') ? (
          <li>
            <Link to="/account" className="menu-item">
              Account and API tokens
            </Link>
          </li>
        ) : null}
        <li>
          <button type="button" className="menu-item" onClick={() => void signOut()}>
            Sign out
          </button>
        </li>
      </ul>
    </div>
  );
}
