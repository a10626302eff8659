/** Sign in: username and password (a cookie session), or single sign-on when the server offers it. */
import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { authApi } from '../api/auth.ts';
import { ApiError } from '../api/http.ts';
import { useMe, useResetSession } from '../auth/session.tsx';
import { Logo } from '../components/Logo.tsx';

/** `next` when it is a path on this server, else `/` (never an open redirect). */
export function safeNext(next: string | null): string {
  return next !== null && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

export function LoginPage() {
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const me = useMe();
  const providers = useQuery({ queryKey: ['auth', 'providers'], queryFn: authApi.providers, staleTime: Infinity });
  const navigate = useNavigate();
  const reset = useResetSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  if (me.data) return <Navigate to={next} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await authApi.login(username, password);
      await reset();
      await navigate(next, { replace: true });
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'Wrong username or password.' : err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const oidc = providers.data?.oidc;
  return (
    <main id="main" className="login-page">
      <form className="login-card" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">
          <Logo size={28} /> Sign in to Capstan
        </h1>
        {error ? (
          <p role="alert" className="error-box">
            {error}
          </p>
        ) : null}
        <label className="field">
          <span>Username</span>
          <input name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} autoFocus />
        </label>
        <label className="field">
          <span>Password</span>
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {oidc?.enabled && oidc.loginUrl ? (
          <>
            <p className="divider">or</p>
            <a className="button" href={`${oidc.loginUrl}?next=${encodeURIComponent(next)}`}>
              Sign in with single sign-on
            </a>
          </>
        ) : null}
      </form>
    </main>
  );
}
