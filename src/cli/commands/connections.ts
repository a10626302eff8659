/**
 * `capstan connections add|get|list|delete`: manage connections; secrets are shown as *** unless asked. All four
 * also work through a remote API server (src/cli/remote/connections.ts), which never answers secrets.
 */
import { type Connection, connectionFromUri, connectionToUri, errorMessage, InvalidArgument, normalizeConnType } from '../../core/index.ts';
import { SecretMasker, MASK } from '../../secrets/index.ts';
import { ConnectionStore } from '../../store/connections.ts';
import type { CliContext, RegisterCommands } from '../context.ts';
import { printObject, printRows } from '../output.ts';
import { withApiUrlOption } from '../remote/commands.ts';
import { auditCli, cliFernet } from './audit.ts';

const remoteConnections = () => import('../remote/connections.ts');

interface AddOptions {
  connUri?: string;
  connType?: string;
  connHost?: string;
  connLogin?: string;
  connPassword?: string;
  connSchema?: string;
  connPort?: string;
  connExtra?: string;
  connDescription?: string;
}

const FIELD_FLAGS: Array<[keyof AddOptions, string]> = [
  ['connType', '--conn-type'],
  ['connHost', '--conn-host'],
  ['connLogin', '--conn-login'],
  ['connPassword', '--conn-password'],
  ['connSchema', '--conn-schema'],
  ['connPort', '--conn-port'],
  ['connExtra', '--conn-extra'],
];

/** Registers `capstan connections …` on the program. */
export const registerConnectionCommands: RegisterCommands = (program, ctx) => {
  const connections = program.command('connections').description('manage connections to external systems');

  withApiUrlOption(connections.command('add <connId>'))
    .description('add a connection from a URI (--conn-uri) or from fields (--conn-type, --conn-host, ...)')
    .option('--conn-uri <uri>', 'type://login:password@host:port/schema?param=value')
    .option('--conn-type <type>', 'connection type, e.g. postgres, http, aws')
    .option('--conn-host <host>', 'host name')
    .option('--conn-login <login>', 'user name')
    .option('--conn-password <password>', 'password (stored encrypted)')
    .option('--conn-schema <schema>', 'schema or database')
    .option('--conn-port <port>', 'port number')
    .option('--conn-extra <json>', 'JSON object of extra settings (stored encrypted)')
    .option('--conn-description <text>', 'what the connection is for')
    .action(async (connId: string, opts: AddOptions) => {
      const c = connectionFromOptions(connId, opts);
      if (ctx.remote) {
        printObject(display(await (await remoteConnections()).addConnectionRemote(ctx.remote, c), false), ctx.output);
        return;
      }
      const { m, store } = await open(ctx);
      await store.add(c);
      await auditCli(m, { event: 'connection.add', details: { connId, connType: c.connType } });
      printObject(display(c, false), ctx.output);
    });

  withApiUrlOption(connections.command('get <connId>'))
    .description('show one connection')
    .option('--show-secrets', 'print the password and secret extras instead of ***')
    .action(async (connId: string, opts: { showSecrets?: boolean }) => {
      if (ctx.remote) {
        const remote = await remoteConnections();
        if (opts.showSecrets) throw remote.secretsNotServed(`connections get ${connId}`);
        printObject(display(await remote.getConnectionRemote(ctx.remote, connId), false), ctx.output);
        return;
      }
      const { store } = await open(ctx);
      printObject(display(await store.require(connId), opts.showSecrets === true), ctx.output);
    });

  withApiUrlOption(connections.command('list'))
    .description('list connections')
    .option('--show-secrets', 'print passwords and secret extras instead of ***')
    .action(async (opts: { showSecrets?: boolean }) => {
      let listed: Connection[];
      if (ctx.remote) {
        const remote = await remoteConnections();
        if (opts.showSecrets) throw remote.secretsNotServed('connections list');
        listed = await remote.listConnectionsRemote(ctx.remote);
      } else {
        listed = await (await open(ctx)).store.list();
      }
      const rows = listed.map((c) => display(c, opts.showSecrets === true));
      printRows(rows, ['conn_id', 'conn_type', 'host', 'port', 'schema', 'login', 'password', 'description'], ctx.output);
    });

  withApiUrlOption(connections.command('delete <connId>'))
    .description('delete a connection')
    .action(async (connId: string) => {
      if (ctx.remote) {
        await (await remoteConnections()).deleteConnectionRemote(ctx.remote, connId);
        printObject({ conn_id: connId, deleted: true }, ctx.output);
        return;
      }
      const { m, store } = await open(ctx);
      await store.require(connId);
      await store.delete(connId);
      await auditCli(m, { event: 'connection.delete', details: { connId } });
      printObject({ conn_id: connId, deleted: true }, ctx.output);
    });
};

async function open(ctx: CliContext) {
  const m = await ctx.db();
  return { m, store: new ConnectionStore(m, { fernet: cliFernet(ctx) }) };
}

/** Build the connection from either --conn-uri or the field flags; `invalid_argument` naming the flag. */
function connectionFromOptions(connId: string, opts: AddOptions): Connection {
  const description = opts.connDescription ?? null;
  const fields = FIELD_FLAGS.filter(([key]) => opts[key] !== undefined).map(([, flag]) => flag);
  if (opts.connUri !== undefined) {
    if (fields.length > 0) throw new InvalidArgument(`--conn-uri cannot be combined with ${fields.join(', ')}`, 'put everything in the URI, or drop --conn-uri and use the field flags');
    try {
      return connectionFromUri(connId, opts.connUri, description);
    } catch (err) {
      throw new InvalidArgument(`--conn-uri: ${errorMessage(err)}`, 'write it as type://login:password@host:port/schema?param=value, percent-encoding special characters');
    }
  }
  if (opts.connType === undefined) throw new InvalidArgument('a connection needs --conn-uri or --conn-type', 'e.g. --conn-uri postgresql://user:pw@host:5432/db, or --conn-type postgres --conn-host host ...');
  let port: number | null = null;
  if (opts.connPort !== undefined) {
    if (!/^\d+$/.test(opts.connPort) || Number(opts.connPort) > 65535) throw new InvalidArgument(`--conn-port: '${opts.connPort}' is not a port number`, 'pass a whole number from 0 to 65535, e.g. --conn-port 5432');
    port = Number(opts.connPort);
  }
  let extra: Record<string, unknown> = {};
  if (opts.connExtra !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(opts.connExtra);
    } catch (err) {
      throw new InvalidArgument(`--conn-extra is not valid JSON (${errorMessage(err)})`, `pass a JSON object, e.g. --conn-extra '{"sslmode": "require"}'`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgument('--conn-extra is not a JSON object', `pass a JSON object, e.g. --conn-extra '{"sslmode": "require"}'`);
    extra = parsed as Record<string, unknown>;
  }
  const type = normalizeConnType(opts.connType);
  if (!/^[a-z][a-z0-9_.+]*$/.test(type)) throw new InvalidArgument(`--conn-type: '${opts.connType}' is not a connection type`, 'use a type such as postgres, http or aws');
  return {
    connId,
    connType: type,
    description,
    host: opts.connHost ?? null,
    schema: opts.connSchema ?? null,
    login: opts.connLogin ?? null,
    password: opts.connPassword ?? null,
    port,
    extra,
  };
}

/** The connection as printed: snake_case fields plus its URI, secrets masked unless `showSecrets`. */
function display(c: Connection, showSecrets: boolean): Record<string, unknown> {
  const fields = { conn_id: c.connId, conn_type: c.connType, description: c.description, host: c.host, port: c.port, schema: c.schema, login: c.login };
  if (showSecrets) return { ...fields, password: c.password, extra: c.extra, uri: connectionToUri(c) };
  const masker = new SecretMasker();
  masker.addConnection(c);
  const extra = masker.maskDeep(c.extra) as Record<string, unknown>;
  // The password is hidden whatever its length (the masker skips very short values), also inside the URI.
  const uri = connectionToUri({ ...c, password: c.password === null ? null : URI_PLACEHOLDER, extra }).replace(encodeURIComponent(URI_PLACEHOLDER), MASK);
  return { ...(masker.maskDeep(fields) as typeof fields), password: c.password === null ? null : MASK, extra, uri: masker.mask(uri) };
}

const URI_PLACEHOLDER = '\u0000masked\u0000';
