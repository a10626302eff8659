/**
 * Roles (`/admin/roles`): the built-in roles, and the custom roles that narrow one of them to some DAGs
 * (by id or tag) — created, changed and deleted here when the signed-in role may (the server refuses a
 * role still held by users). Each built-in role is listed with its permissions, the signed-in user's marked.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { can } from '../../api/auth.ts';
import { ApiError } from '../../api/http.ts';
import { api, data, type Schemas } from '../../api/v2.ts';
import { useMe } from '../../auth/session.tsx';
import { Dialog } from '../../components/Dialog.tsx';
import { formatTime } from '../../components/format.ts';
import { Pager } from '../../components/Pager.tsx';
import { useUrlState } from '../../components/urlState.ts';
import '../../views.css';

type BaseRole = Schemas['RoleCreate']['baseRole'];
const BASE_ROLES: BaseRole[] = ['Viewer', 'User', 'Op'];

interface RoleForm {
  name: string;
  baseRole: BaseRole;
  dagIds: string;
  dagTags: string;
  description: string;
}
const EMPTY: RoleForm = { name: '', baseRole: 'Viewer', dagIds: '', dagTags: '', description: '' };

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

function ErrorLine({ error }: { error: Error | null }) {
  if (!error) return null;
  return (
    <p role="alert" className="error-box">
      {error instanceof ApiError && error.field ? `${error.field}: ` : ''}
      {error.message}
    </p>
  );
}

function RoleFields({ form, set, withName }: { form: RoleForm; set: (f: RoleForm) => void; withName: boolean }) {
  return (
    <>
      {withName ? (
        <label className="field">
          <span>Name</span>
          <input value={form.name} required onChange={(e) => set({ ...form, name: e.target.value })} />
        </label>
      ) : null}
      <label className="field">
        <span>Based on</span>
        <select value={form.baseRole} onChange={(e) => set({ ...form, baseRole: e.target.value as BaseRole })}>
          {BASE_ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>DAG ids (comma-separated)</span>
        <input value={form.dagIds} onChange={(e) => set({ ...form, dagIds: e.target.value })} />
      </label>
      <label className="field">
        <span>DAG tags (comma-separated)</span>
        <input value={form.dagTags} onChange={(e) => set({ ...form, dagTags: e.target.value })} />
      </label>
      <label className="field">
        <span>Description</span>
        <input value={form.description} onChange={(e) => set({ ...form, description: e.target.value })} />
      </label>
    </>
  );
}

export function RolesPage() {
  const me = useMe().data;
  const qc = useQueryClient();
  const u = useUrlState();
  const offset = u.getInt('offset', 0);
  const limit = Math.min(250, Math.max(1, u.getInt('limit', 25)));
  const query = { limit, offset };
  const roles = useQuery({ queryKey: ['roles', query], queryFn: ({ signal }) => data(api.GET('/roles', { params: { query }, signal })), placeholderData: keepPreviousData });
  const [form, setForm] = useState<RoleForm>(EMPTY);
  const [editing, setEditing] = useState<{ name: string; form: RoleForm } | undefined>();
  const refresh = () => qc.invalidateQueries({ queryKey: ['roles'] });
  const create = useMutation({
    mutationFn: () => data(api.POST('/roles', { body: { name: form.name, baseRole: form.baseRole, dagIds: list(form.dagIds), dagTags: list(form.dagTags), description: form.description || null } })),
    onSuccess: async () => {
      setForm(EMPTY);
      await refresh();
    },
  });
  const patch = useMutation({
    mutationFn: (e: { name: string; form: RoleForm }) => data(api.PATCH('/roles/{roleName}', { params: { path: { roleName: e.name } }, body: { baseRole: e.form.baseRole, dagIds: list(e.form.dagIds), dagTags: list(e.form.dagTags), description: e.form.description || null } })),
    onSuccess: async () => {
      setEditing(undefined);
      await refresh();
    },
  });
  const remove = useMutation({ mutationFn: (name: string) => data(api.DELETE('/roles/{roleName}', { params: { path: { roleName: name } } })), onSuccess: refresh });
  const custom = roles.data?.roles ?? [];
  return (
    <>
      <h1>Roles</h1>
      <section className="card" aria-labelledby="builtin-roles-title">
        <h2 id="builtin-roles-title">Built-in roles</h2>
        <p className="muted">Each role holds the permissions of the one before it and adds its own: Viewer reads; User triggers, clears, marks, annotates and pauses; Op manages connections, variables, pools and backfills and reads the configuration and audit log; Admin manages users and roles.</p>
        <table className="table compact">
          <caption className="visually-hidden">Built-in roles</caption>
          <thead>
            <tr>
              <th scope="col">Role</th>
              <th scope="col">Permissions</th>
            </tr>
          </thead>
          <tbody>
            {(roles.data?.builtinRolePermissions ?? []).map((r) => (
              <tr key={r.name}>
                <td>
                  <span className="role-badge">{r.name}</span>
                  {me?.roleName === r.name ? <span className="muted"> (yours)</span> : null}
                </td>
                <td>
                  <ul className="perm-list" aria-label={`Permissions of ${r.name}`}>
                    {r.permissions.map((p) => (
                      <li key={p}>
                        <code>{p}</code>
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="custom-roles-title">
        <h2 id="custom-roles-title">Custom roles</h2>
        {can(me, 'role', 'create') ? (
          <form
            className="inline-form"
            aria-label="New role"
            onSubmit={(e: FormEvent) => {
              e.preventDefault();
              create.mutate();
            }}
          >
            <RoleFields form={form} set={setForm} withName />
            <button type="submit" className="button primary" disabled={create.isPending}>
              Add role
            </button>
          </form>
        ) : null}
        <ErrorLine error={roles.error ?? create.error ?? remove.error} />
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Custom roles</caption>
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Based on</th>
                <th scope="col">DAGs</th>
                <th scope="col">DAG tags</th>
                <th scope="col">Description</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {custom.map((r) => (
                <tr key={r.name} data-role={r.name}>
                  <td>{r.name}</td>
                  <td>
                    <span className="role-badge">{r.baseRole}</span>
                  </td>
                  <td>{r.dagIds.length ? r.dagIds.join(', ') : <span className="muted">none by id</span>}</td>
                  <td>{r.dagTags.length ? r.dagTags.join(', ') : <span className="muted">none by tag</span>}</td>
                  <td>{r.description ?? ''}</td>
                  <td className="nowrap">{formatTime(r.createdAt)}</td>
                  <td className="nowrap">
                    {can(me, 'role', 'edit') ? (
                      <button type="button" className="button small" onClick={() => setEditing({ name: r.name, form: { name: r.name, baseRole: r.baseRole as BaseRole, dagIds: r.dagIds.join(', '), dagTags: r.dagTags.join(', '), description: r.description ?? '' } })}>
                        Edit <span className="visually-hidden">role {r.name}</span>
                      </button>
                    ) : null}{' '}
                    {can(me, 'role', 'delete') ? (
                      <button type="button" className="button small danger" onClick={() => remove.mutate(r.name)}>
                        Delete <span className="visually-hidden">role {r.name}</span>
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
              {roles.isSuccess && custom.length === 0 ? (
                <tr>
                  <td colSpan={7} className="muted">
                    No custom roles.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
        <Pager label="Roles" offset={offset} limit={limit} total={roles.data?.totalEntries ?? 0} onChange={(o, l) => u.set({ offset: o || undefined, limit: l === 25 ? undefined : l })} />
      </section>
      <Dialog open={editing !== undefined} title={`Edit role ${editing?.name ?? ''}`} onClose={() => setEditing(undefined)}>
        {editing ? (
          <form
            className="confirm"
            aria-label={`Edit role ${editing.name}`}
            onSubmit={(e: FormEvent) => {
              e.preventDefault();
              patch.mutate(editing);
            }}
          >
            <RoleFields form={editing.form} set={(f) => setEditing({ ...editing, form: f })} withName={false} />
            <ErrorLine error={patch.error} />
            <div className="dialog-actions">
              <button type="button" className="button" onClick={() => setEditing(undefined)}>
                Cancel
              </button>
              <button type="submit" className="button primary" disabled={patch.isPending}>
                Save
              </button>
            </div>
          </form>
        ) : null}
      </Dialog>
    </>
  );
}
