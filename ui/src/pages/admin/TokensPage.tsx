/**
 * Every user's API tokens (`/admin/tokens?user=&revoked=1`, Admin): who holds which token with what role,
 * when it was last used and when it expires — never its secret — and revoke, which ends it at once.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { can } from '../../api/auth.ts';
import { api, data } from '../../api/v2.ts';
import { useMe } from '../../auth/session.tsx';
import { formatTime } from '../../components/format.ts';
import { Pager } from '../../components/Pager.tsx';
import { useUrlState } from '../../components/urlState.ts';

export function TokensPage() {
  const me = useMe().data;
  const qc = useQueryClient();
  const u = useUrlState();
  const offset = u.getInt('offset', 0);
  const limit = Math.min(250, Math.max(1, u.getInt('limit', 25)));
  const user = u.get('user');
  const withRevoked = u.get('revoked') === '1';
  const query = { limit, offset, ...(user ? { username: user } : {}), ...(withRevoked ? { includeRevoked: true } : {}) };
  const tokens = useQuery({ queryKey: ['apiTokens', query], queryFn: ({ signal }) => data(api.GET('/apiTokens', { params: { query }, signal })), placeholderData: keepPreviousData });
  const revoke = useMutation({ mutationFn: (tokenId: string) => data(api.DELETE('/apiTokens/{tokenId}', { params: { path: { tokenId } } })), onSuccess: () => qc.invalidateQueries({ queryKey: ['apiTokens'] }) });
  const list = tokens.data?.apiTokens ?? [];
  const error = tokens.error ?? revoke.error;
  return (
    <>
      <h1>API tokens</h1>
      <form
        className="filters"
        role="search"
        aria-label="Filter API tokens"
        onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          u.set({ user: String(new FormData(e.currentTarget).get('user') ?? '').trim(), offset: undefined });
        }}
      >
        <label className="field">
          <span>User name</span>
          <input name="user" defaultValue={user ?? ''} placeholder="anyone" />
        </label>
        <label className="check">
          <input type="checkbox" checked={withRevoked} onChange={(e) => u.set({ revoked: e.target.checked ? '1' : undefined, offset: undefined })} /> Show revoked tokens
        </label>
        <button type="submit" className="button">
          Apply
        </button>
      </form>
      {error ? (
        <p role="alert" className="error-box">
          {error.message}
        </p>
      ) : null}
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">API tokens, newest first</caption>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Name</th>
              <th scope="col">Token id</th>
              <th scope="col">Role</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((t) => (
              <tr key={t.tokenId} data-token={t.tokenId}>
                <td>{t.username}</td>
                <td>{t.name}</td>
                <td>
                  <code>{t.tokenId}</code>
                </td>
                <td>
                  <span className="role-badge">{t.role}</span>
                </td>
                <td className="nowrap">{formatTime(t.createdAt)}</td>
                <td className="nowrap">{formatTime(t.lastUsedAt)}</td>
                <td className="nowrap">{formatTime(t.expiresAt)}</td>
                <td>
                  {t.revokedAt ? (
                    <span className="muted">revoked {formatTime(t.revokedAt)}</span>
                  ) : can(me, 'user', 'edit') ? (
                    <button type="button" className="button small danger" disabled={revoke.isPending} onClick={() => revoke.mutate(t.tokenId)}>
                      Revoke <span className="visually-hidden">token {t.name} of {t.username}</span>
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
            {tokens.isSuccess && list.length === 0 ? (
              <tr>
                <td colSpan={8} className="muted">
                  No API tokens.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <Pager label="API tokens" offset={offset} limit={limit} total={tokens.data?.totalEntries ?? 0} onChange={(o, l) => u.set({ offset: o || undefined, limit: l === 25 ? undefined : l })} />
    </>
  );
}
