/**
 * Identity and access.
 *
 * - `app_user`: people who sign in — a built-in or custom role, a scrypt password hash (null for users who
 *   sign in only through OIDC), active flag, last login.
 * - `auth_role`: custom roles — a built-in base role narrowed to DAGs named by id or tag.
 * - `api_token`: personal API tokens — stored as a SHA-256 of their secret part, with a role no higher than
 *   their user's, an expiry, a revocation time and the last time they were used.
 * - `revoked_session`: ids (`jti`) of signed session/bearer tokens ended by logout, kept until they expire.
 * - `dag.access_control`: the DAG's `accessControl` (JSON: role → read | edit), for filtering lists by grant.
 */
import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.ts';

export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const pg = dialect === 'postgres';
  let users = db.schema.createTable('app_user');
  users = pg ? users.addColumn('id', 'bigserial', (c) => c.primaryKey()) : users.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  await users
    .addColumn('username', 'varchar(250)', (c) => c.notNull().unique())
    .addColumn('display_name', 'varchar(250)', (c) => c.notNull())
    .addColumn('email', 'varchar(320)')
    .addColumn('role', 'varchar(100)', (c) => c.notNull())
    .addColumn('password_hash', 'text')
    .addColumn('auth_source', 'varchar(20)', (c) => c.notNull().defaultTo('password'))
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('last_login_at', 'bigint')
    .execute();

  await db.schema
    .createTable('auth_role')
    .addColumn('name', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('base_role', 'varchar(20)', (c) => c.notNull())
    .addColumn('dag_ids', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('dag_tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('description', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  let tokens = db.schema.createTable('api_token');
  tokens = pg ? tokens.addColumn('id', 'bigserial', (c) => c.primaryKey()) : tokens.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  await tokens
    .addColumn('token_id', 'varchar(32)', (c) => c.notNull().unique())
    .addColumn('username', 'varchar(250)', (c) => c.notNull())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('role', 'varchar(20)', (c) => c.notNull())
    .addColumn('secret_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('api_token_user_idx').on('api_token').column('username').execute();

  await db.schema
    .createTable('revoked_session')
    .addColumn('jti', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema.alterTable('dag').addColumn('access_control', 'text', (c) => c.notNull().defaultTo('{}')).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('dag').dropColumn('access_control').execute();
  await db.schema.dropTable('revoked_session').execute();
  await db.schema.dropIndex('api_token_user_idx').execute();
  await db.schema.dropTable('api_token').execute();
  await db.schema.dropTable('auth_role').execute();
  await db.schema.dropTable('app_user').execute();
}
