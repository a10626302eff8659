/**
 * `standalone`'s first-start account: when the database has no user yet, an `admin` (role Admin) with a
 * generated password, which is printed once and kept in `<home>/standalone_admin_password.txt` (mode 0600) —
 * the way Airflow's standalone hands out its first login.
 */
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePassword } from '../auth/index.ts';
import type { Engine } from './components.ts';

export const STANDALONE_ADMIN = 'admin';
export const STANDALONE_PASSWORD_FILE = 'standalone_admin_password.txt';

export interface StandaloneLogin {
  username: string;
  /** Set only on the start that created the account. */
  password?: string;
  /** The file holding the generated password, while it exists. */
  passwordFile?: string;
}

/** Create the first admin when there is no user; report where its password is. */
export async function ensureStandaloneAdmin(engine: Engine): Promise<StandaloneLogin | undefined> {
  const file = join(engine.config.core.home, STANDALONE_PASSWORD_FILE);
  if ((await engine.auth.users.count()) > 0) {
    const admin = await engine.auth.users.find(STANDALONE_ADMIN);
    if (!admin) return undefined;
    return { username: STANDALONE_ADMIN, ...(existsSync(file) ? { passwordFile: file } : {}) };
  }
  const password = generatePassword();
  // The file first: if writing it fails, no account exists whose password nobody knows.
  writeFileSync(file, password + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  await engine.auth.createUser({ username: STANDALONE_ADMIN, password, role: 'Admin', displayName: 'Administrator' });
  return { username: STANDALONE_ADMIN, password, passwordFile: file };
}
