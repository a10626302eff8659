/**
 * The task-log store a process uses, chosen once from `logging.remoteStore`: `none` keeps files under
 * `logging.baseLogFolder` (the default), `s3` keeps them in a bucket (objectStoreHandler.ts). Every role that
 * reads or writes task logs (API server, triggerer, CLI) builds its handler here, so they all agree.
 */
import { ConfigError, type CapstanConfig } from '../config/index.ts';
import { LocalFileTaskLogHandler, type TaskLogHandler } from './logHandler.ts';
import { ObjectStoreTaskLogHandler, type ObjectStoreCredentials } from './objectStoreHandler.ts';

/** What the handler needs of a connection (decrypted): the access key id as login, the secret as password. */
export interface S3ConnectionParts {
  login: string | null;
  password: string | null;
  extra: Record<string, unknown>;
}

/** Resolves a connection by id, for `logging.remoteConnId`. */
export type ConnectionResolver = (connId: string) => Promise<S3ConnectionParts>;

/**
 * The handler `logging` selects. With `remoteConnId` the credentials are read from that connection when the
 * first request is signed (and again once they expire: never, for a static key), never logged or kept in config.
 *
 * @example
 * const handler = taskLogHandlerFor(config.logging, (id) => engine.secrets.requireConnection(id));
 */
export function taskLogHandlerFor(logging: CapstanConfig['logging'], resolveConnection?: ConnectionResolver): TaskLogHandler {
  switch (logging.remoteStore) {
    case 'none':
      return new LocalFileTaskLogHandler(logging.baseLogFolder);
    case 's3': {
      if (logging.remoteBucket === '') {
        throw new ConfigError([{ source: 'configuration', key: 'logging.remoteBucket', value: '', problem: 'logging.remoteStore is s3 but no bucket is named', fix: 'set logging.remoteBucket (CAPSTAN_LOGGING__REMOTE_BUCKET) to the bucket of the task logs' }]);
      }
      const prefix = logging.remotePrefix.replace(/^\/+|\/+$/g, '');
      return new ObjectStoreTaskLogHandler(
        { bucket: logging.remoteBucket, prefix, region: logging.remoteRegion, forcePathStyle: logging.remoteForcePathStyle, ...(logging.remoteEndpoint === '' ? {} : { endpoint: logging.remoteEndpoint }) },
        logging.remoteConnId === '' ? undefined : credentialsFromConnection(logging.remoteConnId, resolveConnection),
      );
    }
  }
}

function credentialsFromConnection(connId: string, resolve: ConnectionResolver | undefined): ObjectStoreCredentials {
  return async () => {
    if (resolve === undefined) throw new ConfigError([{ source: 'configuration', key: 'logging.remoteConnId', value: connId, problem: 'this process cannot read connections', fix: 'leave logging.remoteConnId empty and give the credentials as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY' }]);
    const c = await resolve(connId);
    const token = c.extra['aws_session_token'];
    if (!c.login || !c.password) {
      throw new ConfigError([{ source: 'configuration', key: 'logging.remoteConnId', value: connId, problem: `connection '${connId}' has no login (access key id) or no password (secret access key)`, fix: 'set both on the connection' }]);
    }
    return { accessKeyId: c.login, secretAccessKey: c.password, ...(typeof token === 'string' && token !== '' ? { sessionToken: token } : {}) };
  };
}
