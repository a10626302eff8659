/**
 * `capstan login` and `capstan logout`: sign in to a Capstan API server once and keep a personal API token for
 * it in a 0600 profile (src/cli/remote/profiles.ts), so `dags list`, `dags trigger`, `tasks logs --follow`…
 * work against that server; sign out again, revoking the token.
 */
import { hostname } from 'node:os';
import { CapstanError, InvalidArgument } from '../../core/index.ts';
import type { RegisterCommands } from '../context.ts';
import { printObject } from '../output.ts';
import { normalizeApiUrl, RemoteApi } from '../remote/connection.ts';
import { DEFAULT_PROFILE, profilesPath, readProfiles, removeProfile, saveProfile } from '../remote/profiles.ts';
import { promptLine, promptSecret, readStdin } from '../remote/prompt.ts';

interface LoginOptions {
  apiUrl: string;
  username?: string;
  passwordStdin?: boolean;
  tokenName?: string;
}

export const registerLoginCommands: RegisterCommands = (program, ctx) => {
  program
    .command('login')
    .description('sign in to a Capstan API server, so the CLI works against it (see docs/cli-remote.md)')
    .requiredOption('--api-url <url>', 'the server, e.g. https://capstan.example.com or http://localhost:8080')
    .option('--username <name>', 'who signs in (asked for when omitted)')
    .option('--password-stdin', 'read the password from standard input instead of asking for it')
    .option('--token-name <name>', 'name of the API token created on the server (default: capstan-cli <host>)')
    .action(async (opts: LoginOptions) => {
      const apiUrl = normalizeApiUrl(opts.apiUrl);
      const profile = program.opts<{ profile?: string }>().profile ?? (process.env['CAPSTAN_PROFILE'] || DEFAULT_PROFILE);
      const username = opts.username ?? (await promptLine('Username: '));
      const password = opts.passwordStdin ? (await readStdin()).replace(/\r?\n$/, '') : await promptSecret(`Password for ${username}: `);
      if (username === '') throw new InvalidArgument('--username is empty');
      if (password === '') throw new InvalidArgument('the password is empty', opts.passwordStdin ? 'pipe the password into --password-stdin' : undefined);

      const api = new RemoteApi({ apiUrl, token: undefined, source: '--api-url', profile });
      // A short session token signs in; with it the CLI creates its own long-lived API token and ends the session.
      const session = (await api.authRoute('POST', '/auth/token', { username, password }).catch((err: unknown) => Promise.reject(loginError(err, apiUrl, username)))) as { access_token: string };
      const tokenName = opts.tokenName ?? `capstan-cli ${hostname().replace(/[^A-Za-z0-9 _.:-]/g, '-')}`.slice(0, 100);
      const created = (await api.authRoute('POST', '/auth/tokens', { name: tokenName }, session.access_token)) as { tokenId: string; token: string; role: string; expiresAt: string | null };
      await api.authRoute('POST', '/auth/logout', undefined, session.access_token).catch(() => undefined); // the session expires anyway
      const path = profilesPath();
      saveProfile(path, profile, { apiUrl, username, token: created.token, tokenId: created.tokenId, createdAt: new Date().toISOString() });
      const result = { apiUrl, username, role: created.role, profile, profileFile: path, tokenId: created.tokenId, tokenName, tokenExpiresAt: created.expiresAt };
      if (ctx.output === 'json') printObject(result, 'json');
      else process.stdout.write(`signed in to ${apiUrl} as ${username} (${created.role}); API token ${created.tokenId} kept in profile '${profile}' (${path}, mode 0600)\n`);
    });

  program
    .command('logout')
    .description('revoke the API token of a login profile and remove the profile')
    .action(async () => {
      const profile = program.opts<{ profile?: string }>().profile ?? (process.env['CAPSTAN_PROFILE'] || DEFAULT_PROFILE);
      const path = profilesPath();
      const stored = readProfiles(path)[profile];
      if (stored === undefined) throw new CapstanError('not_found', `there is no CLI profile '${profile}' in ${path}`, { hint: 'nothing to sign out of' });
      const api = new RemoteApi({ apiUrl: stored.apiUrl, token: stored.token, source: `profile '${profile}'`, profile });
      let revoked = true;
      let warning: string | undefined;
      try {
        await api.authRoute('DELETE', `/auth/tokens/${encodeURIComponent(stored.tokenId)}`);
      } catch (err) {
        // A token the server no longer accepts (expired, revoked elsewhere) needs no revoking; say so for anything else.
        revoked = false;
        if (!(err instanceof CapstanError && err.code === 'unauthorized')) warning = `could not revoke API token ${stored.tokenId} on ${stored.apiUrl}: ${err instanceof Error ? err.message : String(err)}`;
      }
      removeProfile(path, profile);
      if (warning !== undefined) process.stderr.write(`warning: ${warning}\n  hint: revoke it with \`capstan users revoke-token\` on the server or DELETE /auth/tokens/${stored.tokenId}\n`);
      if (ctx.output === 'json') printObject({ apiUrl: stored.apiUrl, profile, tokenId: stored.tokenId, revoked }, 'json');
      else process.stdout.write(`signed out of ${stored.apiUrl}: ${revoked ? `API token ${stored.tokenId} revoked` : 'the server no longer accepted the token'}, profile '${profile}' removed\n`);
    });
};

/** A refused sign-in, said plainly (the server's 401 names no detail on purpose). */
function loginError(err: unknown, apiUrl: string, username: string): unknown {
  if (err instanceof CapstanError && err.code === 'unauthorized') {
    return new CapstanError('unauthorized', `${apiUrl} refused the sign-in of '${username}': wrong user name or password`, { hint: 'check them; after repeated failures the server refuses sign-ins for a while' });
  }
  return err;
}
