/**
 * State history and failure kinds.
 *
 * - `task_instance_history` / `dag_run_history`: one row per state move — from, to, who moved it
 *   (`actor`), why (`reason`), the failure kind of a failing move, and when. Rows are appended by a
 *   database trigger on every change of `state`, in the statement that changes it, from the
 *   `state_actor` / `state_reason` columns the transition verbs set in that same statement (see
 *   src/store/transitions/): a move cannot commit without its history row, and a bulk move of 10,000 rows
 *   stays one statement. `dag_run_history` also records a run's creation (from null).
 * - `failure_kind` on `task_instance` and `task_instance_try`, beside `failure_reason`. Rows that failed
 *   before this migration get `unknown`.
 */
import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../dialect.ts';

const TI_HISTORY_VALUES = `NEW.id, NEW.dag_id, NEW.run_id, NEW.task_id, NEW.map_index, NEW.try_number, OLD.state, NEW.state,
  COALESCE(NEW.state_actor, 'unknown'), NEW.state_reason,
  CASE WHEN NEW.state IN ('failed', 'up_for_retry') THEN NEW.failure_kind END, NEW.updated_at`;
const TI_HISTORY_COLUMNS = 'ti_id, dag_id, run_id, task_id, map_index, try_number, from_state, to_state, actor, reason, failure_kind, at';
const RUN_HISTORY_COLUMNS = 'dag_run_id, dag_id, run_id, from_state, to_state, actor, reason, at';
const runHistoryValues = (from: string) => `NEW.id, NEW.dag_id, NEW.run_id, ${from}, NEW.state, COALESCE(NEW.state_actor, 'unknown'), NEW.state_reason, NEW.updated_at`;

export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const pg = dialect === 'postgres';
  await db.schema.alterTable('task_instance').addColumn('failure_kind', 'varchar(40)').execute();
  await db.schema.alterTable('task_instance').addColumn('state_actor', 'varchar(300)').execute();
  await db.schema.alterTable('task_instance').addColumn('state_reason', 'text').execute();
  await db.schema.alterTable('task_instance_try').addColumn('failure_kind', 'varchar(40)').execute();
  await db.schema.alterTable('dag_run').addColumn('state_actor', 'varchar(300)').execute();
  await db.schema.alterTable('dag_run').addColumn('state_reason', 'text').execute();
  await sql`update task_instance set failure_kind = 'unknown' where failure_reason is not null and state in ('failed', 'up_for_retry')`.execute(db);
  await sql`update task_instance_try set failure_kind = 'unknown' where failure_reason is not null and state in ('failed', 'up_for_retry')`.execute(db);

  // History rows are written on every move, 10,000 at a time in bulk moves, so they are cheap to append:
  // SQLite's plain rowid key (no AUTOINCREMENT bookkeeping) and one narrow index each, by instance or run.
  let ti = db.schema.createTable('task_instance_history');
  ti = pg ? ti.addColumn('id', 'bigserial', (c) => c.primaryKey()) : ti.addColumn('id', 'integer', (c) => c.primaryKey());
  await ti
    .addColumn('ti_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('dag_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('run_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('task_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('map_index', 'integer', (c) => c.notNull())
    .addColumn('try_number', 'integer', (c) => c.notNull())
    .addColumn('from_state', 'varchar(20)', (c) => c.notNull())
    .addColumn('to_state', 'varchar(20)', (c) => c.notNull())
    .addColumn('actor', 'varchar(300)', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('failure_kind', 'varchar(40)')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('task_instance_history_ti_idx').on('task_instance_history').column('ti_id').execute();

  let run = db.schema.createTable('dag_run_history');
  run = pg ? run.addColumn('id', 'bigserial', (c) => c.primaryKey()) : run.addColumn('id', 'integer', (c) => c.primaryKey());
  await run
    .addColumn('dag_run_id', 'bigint', (c) => c.notNull())
    .addColumn('dag_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('run_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('from_state', 'varchar(20)')
    .addColumn('to_state', 'varchar(20)', (c) => c.notNull())
    .addColumn('actor', 'varchar(300)', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dag_run_history_run_idx').on('dag_run_history').column('dag_run_id').execute();

  if (pg) {
    await sql.raw(`create function capstan_ti_history() returns trigger language plpgsql as $$
begin
  insert into task_instance_history (${TI_HISTORY_COLUMNS}) values (${TI_HISTORY_VALUES});
  return null;
end $$`).execute(db);
    await sql.raw(`create trigger task_instance_state_history after update of state on task_instance
  for each row when (old.state is distinct from new.state) execute function capstan_ti_history()`).execute(db);
    await sql.raw(`create function capstan_dag_run_history() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into dag_run_history (${RUN_HISTORY_COLUMNS}) values (${runHistoryValues('null')});
  else
    insert into dag_run_history (${RUN_HISTORY_COLUMNS}) values (${runHistoryValues('OLD.state')});
  end if;
  return null;
end $$`).execute(db);
    await sql.raw(`create trigger dag_run_state_history after update of state on dag_run
  for each row when (old.state is distinct from new.state) execute function capstan_dag_run_history()`).execute(db);
    await sql.raw(`create trigger dag_run_created_history after insert on dag_run for each row execute function capstan_dag_run_history()`).execute(db);
    return;
  }
  await sql.raw(`create trigger task_instance_state_history after update of state on task_instance
  for each row when old.state is not new.state
  begin insert into task_instance_history (${TI_HISTORY_COLUMNS}) values (${TI_HISTORY_VALUES}); end`).execute(db);
  await sql.raw(`create trigger dag_run_state_history after update of state on dag_run
  for each row when old.state is not new.state
  begin insert into dag_run_history (${RUN_HISTORY_COLUMNS}) values (${runHistoryValues('OLD.state')}); end`).execute(db);
  await sql.raw(`create trigger dag_run_created_history after insert on dag_run
  for each row begin insert into dag_run_history (${RUN_HISTORY_COLUMNS}) values (${runHistoryValues('null')}); end`).execute(db);
}

export async function down(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  await sql`drop trigger if exists task_instance_state_history${sql.raw(dialect === 'postgres' ? ' on task_instance' : '')}`.execute(db);
  await sql`drop trigger if exists dag_run_state_history${sql.raw(dialect === 'postgres' ? ' on dag_run' : '')}`.execute(db);
  await sql`drop trigger if exists dag_run_created_history${sql.raw(dialect === 'postgres' ? ' on dag_run' : '')}`.execute(db);
  if (dialect === 'postgres') {
    await sql`drop function if exists capstan_ti_history()`.execute(db);
    await sql`drop function if exists capstan_dag_run_history()`.execute(db);
  }
  await db.schema.dropTable('dag_run_history').execute();
  await db.schema.dropTable('task_instance_history').execute();
  await db.schema.alterTable('dag_run').dropColumn('state_reason').execute();
  await db.schema.alterTable('dag_run').dropColumn('state_actor').execute();
  await db.schema.alterTable('task_instance_try').dropColumn('failure_kind').execute();
  await db.schema.alterTable('task_instance').dropColumn('state_reason').execute();
  await db.schema.alterTable('task_instance').dropColumn('state_actor').execute();
  await db.schema.alterTable('task_instance').dropColumn('failure_kind').execute();
}
