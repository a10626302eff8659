/** `core.defaultPoolSlots` sizes default_pool when the schema is created, and only then. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openMetadataDb } from '../../src/store/db.ts';
import { migrateToLatest, resetDatabase } from '../../src/store/migrate.ts';
import { DEFAULT_POOL, PoolStore } from '../../src/store/pools.ts';

test('default_pool gets the configured slots on creation; an existing database keeps its pools; reset applies them again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-migrate-'));
  const m = openMetadataDb(`sqlite://${join(dir, 'capstan.db')}`);
  try {
    const pools = new PoolStore(m);
    assert.ok((await migrateToLatest(m, { defaultPoolSlots: 7 })).length > 0);
    assert.equal((await pools.get(DEFAULT_POOL))?.slots, 7);
    assert.deepEqual(await migrateToLatest(m, { defaultPoolSlots: 9 }), []);
    assert.equal((await pools.get(DEFAULT_POOL))?.slots, 7);
    await resetDatabase(m, { defaultPoolSlots: 3 });
    assert.equal((await pools.get(DEFAULT_POOL))?.slots, 3);
  } finally {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
