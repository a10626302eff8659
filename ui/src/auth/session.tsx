/**
 * The signed-in session as the pages see it: `useMe()` (who, which role, which permissions) and
 * `<RequireSignIn>`, which sends a signed-out visitor to the login page and back to the deep link after.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { authApi, type Me } from '../api/auth.ts';
import { isUnauthorized } from '../api/http.ts';

export const ME_KEY = ['auth', 'me'] as const;

/** The signed-in principal (undefined while loading or when signed out). */
export function useMe() {
  return useQuery<Me>({ queryKey: ME_KEY, queryFn: ({ signal }) => authApi.me(signal), retry: (n, err) => !isUnauthorized(err) && n < 2, staleTime: 60_000 });
}

/** Forget everything cached for the previous user (after sign-in or sign-out). */
export function useResetSession(): () => Promise<void> {
  const qc = useQueryClient();
  return async () => {
    qc.clear();
    await qc.invalidateQueries({ queryKey: ME_KEY });
  };
}

/** Render `children` only when signed in; otherwise go to /login?next=<this page>. */
export function RequireSignIn({ children }: { children: ReactNode }) {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) return <p className="loading" role="status">Loading…</p>;
  if (me.isError) {
    if (isUnauthorized(me.error)) {
      const next = location.pathname + location.search + location.hash;
      return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
    }
    return (
      <p role="alert" className="error-box">
        Could not reach the server: {me.error.message}
      </p>
    );
  }
  return <>{children}</>;
}
