/**
 * `capstan connections add|get|list|delete` through a remote API server (`/api/v2/connections`). The API never
 * answers a secret: the password comes back as `***` and secret-named extra fields as `***`, so the rows are the
 * local command's masked rows; `--show-secrets` cannot be honoured remotely and says where it can.
 */
import { InvalidArgument } from '../../core/index.ts';
import type { components } from '../../api/client.ts';
import type { Connection } from '../../core/index.ts';
import type { RemoteApi } from './connection.ts';
import { allPages, PAGE } from './dags.ts';

type ApiConnection = components['schemas']['Connection'];

/** An API connection as the store's shape (its secrets already masked by the server). */
function fromApi(c: ApiConnection): Connection {
  return { connId: c.connectionId, connType: c.connType, description: c.description, host: c.host, login: c.login, schema: c.schema, port: c.port, password: c.password, extra: c.extra };
}

/** The refusal for `--show-secrets` with a remote target. */
export function secretsNotServed(command: string): InvalidArgument {
  return new InvalidArgument(`--show-secrets: the API server never returns a connection's password or secret extras`, `run \`capstan --local ${command} --show-secrets\` where the metadata DB is`);
}

/** Creates the connection; a taken id is the server's `conflict` (the store's message and hint, as locally). */
export async function addConnectionRemote(api: RemoteApi, c: Connection): Promise<Connection> {
  const body = { connectionId: c.connId, connType: c.connType, description: c.description, host: c.host, login: c.login, schema: c.schema, port: c.port, password: c.password, extra: c.extra };
  return fromApi(await api.ok(api.client.call('post', '/connections', { body })));
}

export async function getConnectionRemote(api: RemoteApi, connId: string): Promise<Connection> {
  return fromApi(await api.ok(api.client.call('get', '/connections/{connectionId}', { path: { connectionId: connId } })));
}

export async function listConnectionsRemote(api: RemoteApi): Promise<Connection[]> {
  const all = await allPages(async (offset) => {
    const page = await api.ok(api.client.call('get', '/connections', { query: { limit: PAGE, offset, orderBy: 'connId' } }));
    return { items: page.connections, totalEntries: page.totalEntries };
  });
  return all.map(fromApi);
}

export async function deleteConnectionRemote(api: RemoteApi, connId: string): Promise<void> {
  await api.ok(api.client.call('delete', '/connections/{connectionId}', { path: { connectionId: connId } }));
}
