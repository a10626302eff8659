/** The initial metadata schema. */
import type { Kysely } from 'kysely';

import type { DialectName } from '../dialect.ts';

type AnyDb = Kysely<unknown>;

export async function up(db: AnyDb, dialect: DialectName): Promise<void> {
  const pg = dialect === 'postgres';
  const big = 'bigint';
  const idColumn = pg ? 'bigserial' : 'integer';

  await db.schema
    .createTable('dag')
    .addColumn('dag_id', 'varchar(250)', (c) => c.primaryKey())
    .addColumn('fileloc', 'text', (c) => c.notNull())
    .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('is_paused', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('description', 'text')
    .addColumn('owner', 'text', (c) => c.notNull().defaultTo('capstan'))
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('schedule_text', 'text')
    .addColumn('max_active_runs', 'integer', (c) => c.notNull())
    .addColumn('max_active_tasks', 'integer', (c) => c.notNull())
    .addColumn('next_interval_start', big)
    .addColumn('next_interval_end', big)
    .addColumn('last_parsed_at', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('serialized_dag')
    .addColumn('dag_id', 'varchar(250)', (c) => c.primaryKey())
    .addColumn('fileloc', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('dag_file')
    .addColumn('fileloc', 'varchar(1000)', (c) => c.primaryKey())
    .addColumn('mtime_ms', big, (c) => c.notNull())
    .addColumn('content_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('last_parsed_at', big, (c) => c.notNull())
    .addColumn('parse_duration_ms', big, (c) => c.notNull())
    .execute();

  let runTable = db.schema.createTable('dag_run');
  runTable = pg
    ? runTable.addColumn('id', idColumn, (c) => c.primaryKey())
    : runTable.addColumn('id', idColumn, (c) => c.primaryKey().autoIncrement());
  await runTable
    .addColumn('dag_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('run_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('run_type', 'varchar(20)', (c) => c.notNull())
    .addColumn('state', 'varchar(20)', (c) => c.notNull())
    .addColumn('logical_date', big)
    .addColumn('data_interval_start', big)
    .addColumn('data_interval_end', big)
    .addColumn('conf', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('queued_at', big)
    .addColumn('start_date', big)
    .addColumn('end_date', big)
    .addColumn('note', 'text')
    .addColumn('clear_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addUniqueConstraint('dag_run_dag_id_run_id_key', ['dag_id', 'run_id'])
    .execute();
  await db.schema.createIndex('dag_run_state_idx').on('dag_run').columns(['state', 'dag_id']).execute();
  await db.schema.createIndex('dag_run_dag_logical_idx').on('dag_run').columns(['dag_id', 'logical_date']).execute();

  await db.schema
    .createTable('task_instance')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('dag_run_id', big, (c) => c.notNull().references('dag_run.id').onDelete('cascade'))
    .addColumn('dag_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('run_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('task_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('map_index', 'integer', (c) => c.notNull().defaultTo(-1))
    .addColumn('state', 'varchar(20)', (c) => c.notNull().defaultTo('none'))
    .addColumn('try_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_tries', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('operator', 'varchar(100)', (c) => c.notNull())
    .addColumn('pool', 'varchar(256)', (c) => c.notNull())
    .addColumn('pool_slots', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('priority_weight', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('queue', 'varchar(256)', (c) => c.notNull().defaultTo('default'))
    .addColumn('executor', 'varchar(100)')
    .addColumn('hostname', 'varchar(1000)')
    .addColumn('pid', 'integer')
    .addColumn('external_executor_id', 'varchar(250)')
    .addColumn('queued_at', big)
    .addColumn('start_date', big)
    .addColumn('end_date', big)
    .addColumn('duration_ms', big)
    .addColumn('next_retry_at', big)
    .addColumn('last_heartbeat_at', big)
    .addColumn('exit_code', 'integer')
    .addColumn('failure_reason', 'text')
    .addColumn('rendered_fields', 'text')
    .addColumn('trigger_id', big)
    .addColumn('next_method', 'varchar(1000)')
    .addColumn('next_kwargs', 'text')
    .addColumn('trigger_timeout_at', big)
    .addColumn('updated_at', big, (c) => c.notNull())
    .addUniqueConstraint('task_instance_run_task_map_key', ['dag_run_id', 'task_id', 'map_index'])
    .execute();
  await db.schema.createIndex('ti_state_idx').on('task_instance').columns(['state', 'priority_weight']).execute();
  await db.schema.createIndex('ti_run_updated_idx').on('task_instance').columns(['dag_run_id', 'updated_at']).execute();
  await db.schema.createIndex('ti_dag_task_idx').on('task_instance').columns(['dag_id', 'task_id']).execute();

  await db.schema
    .createTable('task_instance_try')
    .addColumn('ti_id', 'varchar(36)', (c) => c.notNull().references('task_instance.id').onDelete('cascade'))
    .addColumn('try_number', 'integer', (c) => c.notNull())
    .addColumn('dag_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('run_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('task_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('map_index', 'integer', (c) => c.notNull())
    .addColumn('state', 'varchar(20)', (c) => c.notNull())
    .addColumn('executor', 'varchar(100)')
    .addColumn('hostname', 'varchar(1000)')
    .addColumn('pid', 'integer')
    .addColumn('external_executor_id', 'varchar(250)')
    .addColumn('queued_at', big)
    .addColumn('start_date', big)
    .addColumn('end_date', big)
    .addColumn('duration_ms', big)
    .addColumn('exit_code', 'integer')
    .addColumn('failure_reason', 'text')
    .addPrimaryKeyConstraint('task_instance_try_pkey', ['ti_id', 'try_number'])
    .execute();

  await db.schema
    .createTable('xcom')
    .addColumn('dag_run_id', big, (c) => c.notNull().references('dag_run.id').onDelete('cascade'))
    .addColumn('task_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('map_index', 'integer', (c) => c.notNull())
    .addColumn('key', 'varchar(512)', (c) => c.notNull())
    .addColumn('dag_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('run_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('xcom_pkey', ['dag_run_id', 'task_id', 'map_index', 'key'])
    .execute();

  await db.schema
    .createTable('variable')
    .addColumn('key', 'varchar(250)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('is_encrypted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('connection')
    .addColumn('conn_id', 'varchar(250)', (c) => c.primaryKey())
    .addColumn('conn_type', 'varchar(500)', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('host', 'text')
    .addColumn('schema', 'text')
    .addColumn('login', 'text')
    .addColumn('password', 'text')
    .addColumn('port', 'integer')
    .addColumn('extra', 'text')
    .addColumn('is_encrypted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('pool')
    .addColumn('name', 'varchar(256)', (c) => c.primaryKey())
    .addColumn('slots', 'integer', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('include_deferred', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db
    .insertInto('pool' as never)
    .values({ name: 'default_pool', slots: 128, description: 'Default pool', include_deferred: 0 } as never)
    .execute();

  await db.schema
    .createTable('import_error')
    .addColumn('fileloc', 'varchar(1000)', (c) => c.primaryKey())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('timestamp', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('job')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('job_type', 'varchar(30)', (c) => c.notNull())
    .addColumn('hostname', 'varchar(500)', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('state', 'varchar(20)', (c) => c.notNull())
    .addColumn('start_date', big, (c) => c.notNull())
    .addColumn('end_date', big)
    .addColumn('latest_heartbeat', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('job_type_heartbeat_idx').on('job').columns(['job_type', 'latest_heartbeat']).execute();

  let audit = db.schema.createTable('audit_log');
  audit = pg
    ? audit.addColumn('id', idColumn, (c) => c.primaryKey())
    : audit.addColumn('id', idColumn, (c) => c.primaryKey().autoIncrement());
  await audit
    .addColumn('at', big, (c) => c.notNull())
    .addColumn('actor', 'varchar(250)', (c) => c.notNull())
    .addColumn('event', 'varchar(100)', (c) => c.notNull())
    .addColumn('dag_id', 'varchar(250)')
    .addColumn('run_id', 'varchar(250)')
    .addColumn('task_id', 'varchar(250)')
    .addColumn('details', 'text')
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of [
    'audit_log',
    'job',
    'import_error',
    'pool',
    'connection',
    'variable',
    'xcom',
    'task_instance_try',
    'task_instance',
    'dag_run',
    'dag_file',
    'serialized_dag',
    'dag',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
