/**
 * Browse and admin pages over /api/v2: pools (slots with running/queued/deferred use), variables (values of
 * sensitive keys masked by the server), connections (passwords write-only: never shown, only replaced; a
 * test button), users, the audit log and DAG import errors. Each list is searched and paged on the server.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent, type ReactNode } from 'react';
import { can } from '../../api/auth.ts';
import { ApiError } from '../../api/http.ts';
import { api, data } from '../../api/v2.ts';
import { useMe } from '../../auth/session.tsx';
import { formatTime } from '../../components/format.ts';
import { Pager } from '../../components/Pager.tsx';
import { useUrlState } from '../../components/urlState.ts';

function usePage() {
  const u = useUrlState();
  return { u, q: u.get('q') ?? '', offset: u.getInt('offset', 0), limit: Math.min(250, Math.max(1, u.getInt('limit', 25))) };
}

function SearchBox({ label, p }: { label: string; p: ReturnType<typeof usePage> }) {
  return (
    <form className="filters" role="search" aria-label={label} onSubmit={(e) => e.preventDefault()}>
      <label className="field">
        <span>{label}</span>
        <input type="search" data-search defaultValue={p.q} onChange={(e) => p.u.set({ q: e.target.value, offset: undefined }, { replace: true })} />
      </label>
    </form>
  );
}

function ErrorLine({ error }: { error: Error | null }) {
  if (!error) return null;
  return (
    <p role="alert" className="error-box">
      {error instanceof ApiError && error.field ? `${error.field}: ` : ''}
      {error.message}
    </p>
  );
}

function Table({ caption, head, children, empty }: { caption: string; head: string[]; children: ReactNode; empty: boolean }) {
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {head.map((h, i) => (
              <th key={i} scope="col">
                {h || <span className="visually-hidden">Actions</span>}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {children}
          {empty ? (
            <tr>
              <td colSpan={head.length} className="muted">
                Nothing here.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}

export function PoolsPage() {
  const p = usePage();
  const me = useMe().data;
  const qc = useQueryClient();
  const query = { limit: p.limit, offset: p.offset, ...(p.q ? { poolNamePattern: p.q } : {}) };
  const pools = useQuery({ queryKey: ['pools', query], queryFn: ({ signal }) => data(api.GET('/pools', { params: { query }, signal })), placeholderData: keepPreviousData, refetchInterval: 5000 });
  const [name, setName] = useState('');
  const [slots, setSlots] = useState('4');
  const create = useMutation({
    mutationFn: () => data(api.POST('/pools', { body: { name, slots: Number(slots) } })),
    onSuccess: async () => {
      setName('');
      await qc.invalidateQueries({ queryKey: ['pools'] });
    },
  });
  const patch = useMutation({ mutationFn: (v: { name: string; slots: number }) => data(api.PATCH('/pools/{poolName}', { params: { path: { poolName: v.name } }, body: { slots: v.slots } })), onSuccess: () => qc.invalidateQueries({ queryKey: ['pools'] }) });
  const remove = useMutation({ mutationFn: (n: string) => data(api.DELETE('/pools/{poolName}', { params: { path: { poolName: n } } })), onSuccess: () => qc.invalidateQueries({ queryKey: ['pools'] }) });
  const mayEdit = can(me, 'pool', 'edit');
  return (
    <>
      <h1>Pools</h1>
      <SearchBox label="Pool name contains" p={p} />
      {can(me, 'pool', 'create') ? (
        <form
          className="inline-form"
          aria-label="New pool"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <label className="field">
            <span>Name</span>
            <input value={name} required onChange={(e) => setName(e.target.value)} />
          </label>
          <label className="field">
            <span>Slots</span>
            <input type="number" min={-1} value={slots} onChange={(e) => setSlots(e.target.value)} />
          </label>
          <button type="submit" className="button primary">
            Add pool
          </button>
        </form>
      ) : null}
      <ErrorLine error={pools.error ?? create.error ?? patch.error ?? remove.error} />
      <Table caption="Pools" head={['Pool', 'Slots', 'Running', 'Queued', 'Deferred', 'Open', 'Description', '']} empty={pools.isSuccess && pools.data.pools.length === 0}>
        {(pools.data?.pools ?? []).map((pool) => (
          <tr key={pool.name}>
            <td>{pool.name}</td>
            <td>
              {mayEdit ? <input type="number" aria-label={`Slots of ${pool.name}`} className="narrow-input" defaultValue={pool.slots} onBlur={(e) => Number(e.target.value) !== pool.slots && patch.mutate({ name: pool.name, slots: Number(e.target.value) })} /> : pool.slots}
            </td>
            <td>{pool.runningSlots}</td>
            <td>{pool.queuedSlots}</td>
            <td>{pool.deferredSlots}</td>
            <td>{pool.openSlots}</td>
            <td>{pool.description ?? ''}</td>
            <td>
              {can(me, 'pool', 'delete') && pool.name !== 'default_pool' ? (
                <button type="button" className="button small danger" aria-label={`Delete pool ${pool.name}`} onClick={() => remove.mutate(pool.name)}>
                  Delete
                </button>
              ) : null}
            </td>
          </tr>
        ))}
      </Table>
      <Pager label="Pools" offset={p.offset} limit={p.limit} total={pools.data?.totalEntries ?? 0} onChange={(o, l) => p.u.set({ offset: o || undefined, limit: l })} />
    </>
  );
}

export function VariablesPage() {
  const p = usePage();
  const me = useMe().data;
  const qc = useQueryClient();
  const query = { limit: p.limit, offset: p.offset, ...(p.q ? { variableKeyPattern: p.q } : {}) };
  const vars = useQuery({ queryKey: ['variables', query], queryFn: ({ signal }) => data(api.GET('/variables', { params: { query }, signal })), placeholderData: keepPreviousData });
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const create = useMutation({
    mutationFn: () => data(api.POST('/variables', { body: { key, value } })),
    onSuccess: async () => {
      setKey('');
      setValue('');
      await qc.invalidateQueries({ queryKey: ['variables'] });
    },
  });
  const remove = useMutation({ mutationFn: (k: string) => data(api.DELETE('/variables/{variableKey}', { params: { path: { variableKey: k } } })), onSuccess: () => qc.invalidateQueries({ queryKey: ['variables'] }) });
  return (
    <>
      <h1>Variables</h1>
      <SearchBox label="Key contains" p={p} />
      {can(me, 'variable', 'create') ? (
        <form
          className="inline-form"
          aria-label="New variable"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <label className="field">
            <span>Key</span>
            <input value={key} required onChange={(e) => setKey(e.target.value)} />
          </label>
          <label className="field">
            <span>Value</span>
            <input value={value} required onChange={(e) => setValue(e.target.value)} />
          </label>
          <button type="submit" className="button primary">
            Add variable
          </button>
        </form>
      ) : null}
      <ErrorLine error={vars.error ?? create.error ?? remove.error} />
      <Table caption="Variables" head={['Key', 'Value', 'Description', 'Updated', '']} empty={vars.isSuccess && vars.data.variables.length === 0}>
        {(vars.data?.variables ?? []).map((v) => (
          <tr key={v.key}>
            <td>
              <code>{v.key}</code>
            </td>
            <td>
              <code>{v.value}</code>
            </td>
            <td>{v.description ?? ''}</td>
            <td className="nowrap">{formatTime(v.updatedAt)}</td>
            <td>
              {can(me, 'variable', 'delete') ? (
                <button type="button" className="button small danger" aria-label={`Delete variable ${v.key}`} onClick={() => remove.mutate(v.key)}>
                  Delete
                </button>
              ) : null}
            </td>
          </tr>
        ))}
      </Table>
      <Pager label="Variables" offset={p.offset} limit={p.limit} total={vars.data?.totalEntries ?? 0} onChange={(o, l) => p.u.set({ offset: o || undefined, limit: l })} />
    </>
  );
}

export function ConnectionsPage() {
  const p = usePage();
  const me = useMe().data;
  const qc = useQueryClient();
  const query = { limit: p.limit, offset: p.offset, ...(p.q ? { connectionIdPattern: p.q } : {}) };
  const conns = useQuery({ queryKey: ['connections', query], queryFn: ({ signal }) => data(api.GET('/connections', { params: { query }, signal })), placeholderData: keepPreviousData });
  const [form, setForm] = useState({ connectionId: '', connType: 'http', host: '', login: '', password: '' });
  const create = useMutation({
    mutationFn: () => data(api.POST('/connections', { body: { connectionId: form.connectionId, connType: form.connType, host: form.host || null, login: form.login || null, ...(form.password ? { password: form.password } : {}) } })),
    onSuccess: async () => {
      setForm({ ...form, connectionId: '', host: '', login: '', password: '' });
      await qc.invalidateQueries({ queryKey: ['connections'] });
    },
  });
  const [tested, setTested] = useState<Record<string, string>>({});
  const test = useMutation({
    mutationFn: (id: string) => data(api.POST('/connections/{connectionId}/test', { params: { path: { connectionId: id } } })),
    onSuccess: (r, id) => setTested({ ...tested, [id]: `${r.status ? 'OK' : 'failed'}: ${r.message}` }),
    // A refusal (testing is off unless api.testConnection is set) is the answer for that row too.
    onError: (err, id) => setTested({ ...tested, [id]: `not tested: ${err.message}` }),
  });
  const remove = useMutation({ mutationFn: (id: string) => data(api.DELETE('/connections/{connectionId}', { params: { path: { connectionId: id } } })), onSuccess: () => qc.invalidateQueries({ queryKey: ['connections'] }) });
  const field = (k: keyof typeof form, label: string, type = 'text') => (
    <label className="field">
      <span>{label}</span>
      <input type={type} value={form[k]} autoComplete={type === 'password' ? 'new-password' : 'off'} onChange={(e) => setForm({ ...form, [k]: e.target.value })} required={k === 'connectionId' || k === 'connType'} />
    </label>
  );
  return (
    <>
      <h1>Connections</h1>
      <SearchBox label="Connection id contains" p={p} />
      {can(me, 'connection', 'create') ? (
        <form
          className="inline-form"
          aria-label="New connection"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          {field('connectionId', 'Connection id')}
          {field('connType', 'Type')}
          {field('host', 'Host')}
          {field('login', 'Login')}
          {field('password', 'Password (write-only)', 'password')}
          <button type="submit" className="button primary">
            Add connection
          </button>
        </form>
      ) : null}
      <ErrorLine error={conns.error ?? create.error ?? remove.error} />
      <Table caption="Connections" head={['Connection', 'Type', 'Host', 'Login', 'Password', 'Test', '']} empty={conns.isSuccess && conns.data.connections.length === 0}>
        {(conns.data?.connections ?? []).map((c) => (
          <tr key={c.connectionId}>
            <td>
              <code>{c.connectionId}</code>
            </td>
            <td>{c.connType}</td>
            <td>{c.host ?? ''}</td>
            <td>{c.login ?? ''}</td>
            <td>{c.password === null ? <span className="muted">none</span> : <span className="muted">set (hidden)</span>}</td>
            <td>
              <button type="button" className="button small" aria-label={`Test connection ${c.connectionId}`} onClick={() => test.mutate(c.connectionId)}>
                Test
              </button>
              {tested[c.connectionId] ? (
                <span className="small" role="status">
                  {' '}
                  {tested[c.connectionId]}
                </span>
              ) : null}
            </td>
            <td>
              {can(me, 'connection', 'delete') ? (
                <button type="button" className="button small danger" aria-label={`Delete connection ${c.connectionId}`} onClick={() => remove.mutate(c.connectionId)}>
                  Delete
                </button>
              ) : null}
            </td>
          </tr>
        ))}
      </Table>
      <Pager label="Connections" offset={p.offset} limit={p.limit} total={conns.data?.totalEntries ?? 0} onChange={(o, l) => p.u.set({ offset: o || undefined, limit: l })} />
    </>
  );
}

export function UsersPage() {
  const p = usePage();
  const me = useMe().data;
  const qc = useQueryClient();
  const query = { limit: p.limit, offset: p.offset };
  const users = useQuery({ queryKey: ['users', query], queryFn: ({ signal }) => data(api.GET('/users', { params: { query }, signal })), placeholderData: keepPreviousData });
  const [form, setForm] = useState({ username: '', password: '', role: 'Viewer' });
  const create = useMutation({
    mutationFn: () => data(api.POST('/users', { body: form })),
    onSuccess: async () => {
      setForm({ username: '', password: '', role: 'Viewer' });
      await qc.invalidateQueries({ queryKey: ['users'] });
    },
  });
  return (
    <>
      <h1>Users</h1>
      {can(me, 'user', 'create') ? (
        <form
          className="inline-form"
          aria-label="New user"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <label className="field">
            <span>Username</span>
            <input value={form.username} required onChange={(e) => setForm({ ...form, username: e.target.value })} />
          </label>
          <label className="field">
            <span>Password</span>
            <input type="password" autoComplete="new-password" value={form.password} required onChange={(e) => setForm({ ...form, password: e.target.value })} />
          </label>
          <label className="field">
            <span>Role</span>
            <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
              {['Viewer', 'User', 'Op', 'Admin'].map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <button type="submit" className="button primary">
            Add user
          </button>
        </form>
      ) : null}
      <ErrorLine error={users.error ?? create.error} />
      <Table caption="Users" head={['Username', 'Name', 'Role', 'Active', 'Sign-in', 'Last login']} empty={users.isSuccess && users.data.users.length === 0}>
        {(users.data?.users ?? []).map((u) => (
          <tr key={u.username}>
            <td>{u.username}</td>
            <td>{u.displayName}</td>
            <td>
              <span className="role-badge">{u.role}</span>
            </td>
            <td>{u.active ? 'yes' : 'no'}</td>
            <td>{u.authSource}</td>
            <td className="nowrap">{formatTime(u.lastLoginAt)}</td>
          </tr>
        ))}
      </Table>
      <Pager label="Users" offset={p.offset} limit={p.limit} total={users.data?.totalEntries ?? 0} onChange={(o, l) => p.u.set({ offset: o || undefined, limit: l })} />
    </>
  );
}

export function AuditLogPage() {
  const p = usePage();
  const u = p.u;
  const query = { limit: p.limit, offset: p.offset, ...(u.get('dag') ? { dagId: u.get('dag') } : {}), ...(u.get('owner') ? { owner: u.get('owner') } : {}), ...(u.get('event') ? { event: u.get('event') } : {}) };
  const logs = useQuery({ queryKey: ['eventLogs', query], queryFn: ({ signal }) => data(api.GET('/eventLogs', { params: { query }, signal })), placeholderData: keepPreviousData });
  return (
    <>
      <h1>Audit log</h1>
      <form className="filters" role="search" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        {(
          [
            ['dag', 'DAG id'],
            ['owner', 'Actor'],
            ['event', 'Event'],
          ] as const
        ).map(([k, label]) => (
          <label key={k} className="field">
            <span>{label}</span>
            <input defaultValue={u.get(k) ?? ''} onChange={(e) => u.set({ [k]: e.target.value, offset: undefined }, { replace: true })} />
          </label>
        ))}
      </form>
      <ErrorLine error={logs.error} />
      <Table caption="Audit log, newest first" head={['When', 'Event', 'Actor', 'DAG', 'Run', 'Task']} empty={logs.isSuccess && logs.data.eventLogs.length === 0}>
        {(logs.data?.eventLogs ?? []).map((e) => (
          <tr key={e.eventLogId}>
            <td className="nowrap">{formatTime(e.when)}</td>
            <td>
              <code>{e.event}</code>
            </td>
            <td>{e.owner}</td>
            <td>{e.dagId ?? ''}</td>
            <td>{e.dagRunId ?? ''}</td>
            <td>{e.taskId ?? ''}</td>
          </tr>
        ))}
      </Table>
      <Pager label="Audit log" offset={p.offset} limit={p.limit} total={logs.data?.totalEntries ?? 0} onChange={(o, l) => u.set({ offset: o || undefined, limit: l })} />
    </>
  );
}

export function ImportErrorsPage() {
  const p = usePage();
  const query = { limit: p.limit, offset: p.offset, ...(p.q ? { filenamePattern: p.q } : {}) };
  const errors = useQuery({ queryKey: ['importErrors', query], queryFn: ({ signal }) => data(api.GET('/importErrors', { params: { query }, signal })), placeholderData: keepPreviousData });
  return (
    <>
      <h1>Import errors</h1>
      <SearchBox label="File name contains" p={p} />
      <ErrorLine error={errors.error} />
      {errors.isSuccess && errors.data.importErrors.length === 0 ? <p className="muted">Every DAG file parses.</p> : null}
      {(errors.data?.importErrors ?? []).map((e) => (
        <section key={e.filename} className="card" aria-label={`Import error in ${e.filename}`}>
          <h2>
            <code>
              {e.filename}
              {e.line !== null ? `:${e.line}` : ''}
            </code>
          </h2>
          <p className="muted small">{formatTime(e.timestamp)}</p>
          <pre className="code-block">{e.stackTrace}</pre>
        </section>
      ))}
    </>
  );
}

/** The running configuration, read-only, secrets redacted by the server (off unless the server allows it). */
export function ConfigPage() {
  const config = useQuery({ queryKey: ['config'], queryFn: ({ signal }) => data(api.GET('/config', { signal })), retry: false });
  return (
    <>
      <h1>Configuration</h1>
      <ErrorLine error={config.error} />
      {(config.data?.sections ?? []).map((s) => (
        <section key={s.name} className="card" aria-labelledby={`cfg-${s.name}`}>
          <h2 id={`cfg-${s.name}`}>{s.name}</h2>
          <table className="table compact">
            <caption className="visually-hidden">Options of {s.name}</caption>
            <thead>
              <tr>
                <th scope="col">Option</th>
                <th scope="col">Value</th>
                <th scope="col">Source</th>
              </tr>
            </thead>
            <tbody>
              {s.options.map((o) => (
                <tr key={o.key}>
                  <td>
                    <code>{o.key}</code>
                  </td>
                  <td>
                    <code>{String(o.value)}</code>
                  </td>
                  <td className="muted">{o.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </>
  );
}
