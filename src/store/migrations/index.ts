/**
 * The ordered list of schema migrations. Names sort in order; a migration is never edited once released,
 * a new one is added instead.
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import type { DialectName } from '../dialect.ts';
import * as m001 from './001_initial.ts';
import * as m002 from './002_ti_owner.ts';
import * as m003 from './003_try_rendered_fields.ts';
import * as m004 from './004_dag_run_callback.ts';
import * as m005 from './005_backfill.ts';
import * as m006 from './006_triggers.ts';
import * as m007 from './007_auth.ts';
import * as m008 from './008_backfill_paused.ts';
import * as m009 from './009_import_error_line.ts';
import * as m010 from './010_state_history.ts';
import * as m011 from './011_deployment_key.ts';
import * as m012 from './012_task_instance_note.ts';

interface DialectMigration {
  up(db: Kysely<unknown>, dialect: DialectName): Promise<void>;
  down(db: Kysely<unknown>, dialect: DialectName): Promise<void>;
}

const MIGRATIONS: Record<string, DialectMigration> = {
  '001_initial': m001,
  '002_ti_owner': m002,
  '003_try_rendered_fields': m003,
  '004_dag_run_callback': m004,
  '005_backfill': m005,
  '006_triggers': m006,
  '007_auth': m007,
  '008_backfill_paused': m008,
  '009_import_error_line': m009,
  '010_state_history': m010,
  '011_deployment_key': m011,
  '012_task_instance_note': m012,
};

/** Every migration's name, oldest first (what `capstan_migration` lists once all are applied). */
export const MIGRATION_NAMES: readonly string[] = Object.keys(MIGRATIONS).sort();

/** The newest schema version this code knows. */
export const LATEST_MIGRATION = MIGRATION_NAMES.at(-1) ?? '';

export function migrationProvider(dialect: DialectName): MigrationProvider {
  return {
    getMigrations: async () => {
      const out: Record<string, Migration> = {};
      for (const [name, m] of Object.entries(MIGRATIONS)) {
        out[name] = { up: (db) => m.up(db, dialect), down: (db) => m.down(db, dialect) };
      }
      return out;
    },
  };
}
