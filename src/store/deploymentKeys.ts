/**
 * Fingerprints of the keys the components of one deployment share (`deployment_key`): the first component
 * to start records each one; later ones read the recorded fingerprint back and compare.
 */
import { createHmac } from 'node:crypto';
import type { MetadataDb } from './db.ts';

/** A fingerprint as recorded: who recorded it and when. */
export interface RecordedKey {
  name: string;
  fingerprint: string;
  recordedBy: string;
  recordedAt: number;
}

/**
 * A short, one-way fingerprint of `key` for the setting `name`: an HMAC-SHA256 of a fixed text under the key.
 * It tells two keys apart without revealing either.
 */
export function keyFingerprint(name: string, key: string): string {
  return createHmac('sha256', key).update(`capstan deployment key fingerprint v1: ${name}`).digest('hex').slice(0, 32);
}

/**
 * Record the fingerprint of `key` under `name` unless one is already recorded (the first writer wins, also
 * when several components start at once), and return the recorded one.
 */
export async function recordKeyFingerprint(m: MetadataDb, name: string, fingerprint: string, recordedBy: string, now: number): Promise<RecordedKey> {
  await m.db
    .insertInto('deployment_key')
    .values({ name, fingerprint, recorded_by: recordedBy.slice(0, 300), recorded_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await m.db.selectFrom('deployment_key').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
  return { name: row.name, fingerprint: row.fingerprint, recordedBy: row.recorded_by, recordedAt: Number(row.recorded_at) };
}

/** Forget the recorded fingerprint of `name` (after the key was changed everywhere on purpose); true when one was recorded. */
export async function forgetKeyFingerprint(m: MetadataDb, name: string): Promise<boolean> {
  const result = await m.db.deleteFrom('deployment_key').where('name', '=', name).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
