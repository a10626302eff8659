/**
 * The remote CLI's profiles: which API server to talk to and the API token to use, one entry per name, kept in
 * one JSON file only its owner may read (mode 0600, in a 0700 folder). `capstan login` writes an entry,
 * `capstan logout` removes it.
 *
 * The file is `$CAPSTAN_HOME/cli-profiles.json` when CAPSTAN_HOME is set (tests, one home per checkout), else
 * `$XDG_CONFIG_HOME/capstan/profiles.json` (default `~/.config/capstan/profiles.json`).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CapstanError } from '../../core/index.ts';

/** One signed-in server. */
export interface Profile {
  /** The server's origin, e.g. `https://capstan.example.com` (no trailing slash). */
  apiUrl: string;
  username: string;
  /** The personal API token (`capstan login` creates one); a secret, never printed. */
  token: string;
  /** Its id, to revoke it on logout. */
  tokenId: string;
  createdAt: string;
}

interface ProfileFile {
  profiles: Record<string, Profile>;
}

/** The profile used when none is named (`--profile` or CAPSTAN_PROFILE). */
export const DEFAULT_PROFILE = 'default';

/** Where the profiles live for this environment (see the module comment). */
export function profilesPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env['CAPSTAN_HOME']) return join(env['CAPSTAN_HOME'], 'cli-profiles.json');
  const config = env['XDG_CONFIG_HOME'] || join(homedir(), '.config');
  return join(config, 'capstan', 'profiles.json');
}

/** Every stored profile by name (none when the file does not exist). */
export function readProfiles(path: string): Record<string, Profile> {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CapstanError('config_invalid', `the CLI profile file ${path} is not valid JSON: ${(err as Error).message}`, { hint: 'remove it and run `capstan login` again' });
  }
  const profiles = (parsed as Partial<ProfileFile> | null)?.profiles;
  if (typeof profiles !== 'object' || profiles === null) throw new CapstanError('config_invalid', `the CLI profile file ${path} has no "profiles" object`, { hint: 'remove it and run `capstan login` again' });
  return profiles;
}

/** Store `profile` under `name`, replacing an earlier one; the file is written 0600 and replaced atomically. */
export function saveProfile(path: string, name: string, profile: Profile): void {
  const profiles = { ...readProfiles(path), [name]: profile };
  writeProfiles(path, profiles);
}

/** Remove profile `name`; the file goes when it was the last one. Returns the removed profile. */
export function removeProfile(path: string, name: string): Profile | undefined {
  const profiles = readProfiles(path);
  const removed = profiles[name];
  if (removed === undefined) return undefined;
  delete profiles[name];
  if (Object.keys(profiles).length === 0) rmSync(path, { force: true });
  else writeProfiles(path, profiles);
  return removed;
}

function writeProfiles(path: string, profiles: Record<string, Profile>): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ profiles } satisfies ProfileFile, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600); // the mode of writeFileSync is masked by the umask; a token file must be 0600 exactly
  renameSync(tmp, path);
}
