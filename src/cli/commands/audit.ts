/**
 * What the `variables`, `connections` and `pools` command groups share: the Fernet built from the
 * configured key, and an audit-log entry for every change a user makes from the command line.
 */
import { userInfo } from 'node:os';
import { createFernet, type Fernet } from '../../crypto/index.ts';
import { AuditLog, type AuditEntryInput } from '../../store/auditLog.ts';
import type { MetadataDb } from '../../store/db.ts';
import type { CliContext } from '../context.ts';

/** The Fernet for `core.fernetKey` (a comma-separated list rotates keys). */
export function cliFernet(ctx: CliContext): Fernet {
  return createFernet(ctx.config().core.fernetKey);
}

/** `cli:<os user>`, or `cli` when the user has no name (some containers). */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

/** Append a user action to the audit log. Details must not contain secret values. */
export async function auditCli(m: MetadataDb, entry: Omit<AuditEntryInput, 'actor'>): Promise<void> {
  await new AuditLog(m).append({ ...entry, actor: cliActor() });
}
