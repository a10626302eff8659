/** The signed-in user: who and which role, and their personal API tokens (create — shown once — and revoke). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { authApi, can, type BuiltinRole } from '../api/auth.ts';
import { ApiError } from '../api/http.ts';
import { useMe } from '../auth/session.tsx';
import { formatTime } from '../components/format.ts';

const ROLE_ORDER: BuiltinRole[] = ['Viewer', 'User', 'Op', 'Admin'];
const DAY = 24 * 60 * 60 * 1000;

export function AccountPage() {
  const me = useMe().data;
  if (!me) return null;
  return (
    <>
      <h1>Account</h1>
      <section className="card" aria-labelledby="who-title">
        <h2 id="who-title">You</h2>
        <dl className="details">
          <dt>Username</dt>
          <dd>{me.username}</dd>
          <dt>Name</dt>
          <dd>{me.displayName}</dd>
          <dt>Role</dt>
          <dd>
            <span className="role-badge">{me.roleName}</span>
            {me.roleName !== me.role ? ` (permissions of ${me.role})` : ''}
          </dd>
          <dt>DAGs</dt>
          <dd>{me.dags.all ? 'all' : [...me.dags.dagIds, ...me.dags.tags.map((t) => `tag:${t}`)].join(', ') || 'none'}</dd>
        </dl>
      </section>
      {can(me, 'api_token', 'read') ? <ApiTokens maxRole={me.role} mayCreate={can(me, 'api_token', 'create')} mayRevoke={can(me, 'api_token', 'delete')} /> : null}
    </>
  );
}

function ApiTokens({ maxRole, mayCreate, mayRevoke }: { maxRole: BuiltinRole; mayCreate: boolean; mayRevoke: boolean }) {
  const qc = useQueryClient();
  const tokens = useQuery({ queryKey: ['auth', 'tokens'], queryFn: authApi.tokens });
  const [name, setName] = useState('');
  const [role, setRole] = useState<BuiltinRole>(maxRole);
  const [days, setDays] = useState('90');
  const [created, setCreated] = useState<{ name: string; token: string } | undefined>();
  const create = useMutation({
    mutationFn: () => authApi.createToken({ name, role, expiresInMs: Number(days) * DAY }),
    onSuccess: async (t) => {
      setCreated({ name: t.name, token: t.token });
      setName('');
      await qc.invalidateQueries({ queryKey: ['auth', 'tokens'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (tokenId: string) => authApi.revokeToken(tokenId),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['auth', 'tokens'] }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setCreated(undefined);
    create.mutate();
  };
  const roles = ROLE_ORDER.slice(0, ROLE_ORDER.indexOf(maxRole) + 1);
  return (
    <section className="card" aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      <p className="muted">
        A token lets a program (the remote CLI, a script) call the API as you: send it as <code>Authorization: Bearer &lt;token&gt;</code>.
      </p>
      {mayCreate ? (
        <form className="inline-form" onSubmit={submit} aria-label="Generate an API token">
          <label className="field">
            <span>Name</span>
            <input name="tokenName" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label className="field">
            <span>Role</span>
            <select name="tokenRole" value={role} onChange={(e) => setRole(e.target.value as BuiltinRole)}>
              {roles.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Expires in (days)</span>
            <input name="tokenDays" type="number" min={1} max={3650} required value={days} onChange={(e) => setDays(e.target.value)} />
          </label>
          <button type="submit" className="button primary" disabled={create.isPending}>
            Generate token
          </button>
        </form>
      ) : null}
      {create.isError ? (
        <p role="alert" className="error-box">
          {create.error instanceof ApiError && create.error.field ? `${create.error.field}: ` : ''}
          {create.error.message}
        </p>
      ) : null}
      {created ? (
        <div className="notice" role="status">
          <p>
            Token <strong>{created.name}</strong> — copy it now, it is not shown again:
          </p>
          <input className="token-text" readOnly value={created.token} aria-label="New API token" onFocus={(e) => e.target.select()} />
          <button type="button" className="button" onClick={() => void navigator.clipboard?.writeText(created.token)}>
            Copy
          </button>
        </div>
      ) : null}
      <table className="table">
        <caption className="visually-hidden">Your API tokens</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(tokens.data?.apiTokens ?? []).map((t) => (
            <tr key={t.tokenId}>
              <td>{t.name}</td>
              <td>{t.role}</td>
              <td>{formatTime(t.createdAt)}</td>
              <td>{t.revokedAt ? `revoked ${formatTime(t.revokedAt)}` : formatTime(t.expiresAt)}</td>
              <td>{formatTime(t.lastUsedAt)}</td>
              <td>
                {mayRevoke && !t.revokedAt ? (
                  <button type="button" className="button small danger" onClick={() => revoke.mutate(t.tokenId)} aria-label={`Revoke token ${t.name}`}>
                    Revoke
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
          {tokens.data?.apiTokens.length === 0 ? (
            <tr>
              <td colSpan={6} className="muted">
                No tokens yet.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </section>
  );
}
