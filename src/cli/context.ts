/**
 * What every CLI command needs: the chosen output format, and either the remote API server (`capstan login`
 * profiles, `--api-url`) or the local parsed config and metadata DB. `prepare` runs before a command's action
 * and loads only what that command will use, so `--help` and remote commands never load config parsing or the
 * database drivers.
 */
import type { Command } from 'commander';
import type { CapstanConfig, loadConfig } from '../config/index.ts';
import { CapstanError } from '../core/index.ts';
import type { DeploymentComponent } from '../app/deploymentChecks.ts';
import type { MetadataDb } from '../store/db.ts';
import type { OutputFormat } from './output.ts';
import type { RemoteApi } from './remote/connection.ts';
import { remoteSupportOf } from './remote/commands.ts';

export class CliContext {
  #config: CapstanConfig | undefined;
  #db: MetadataDb | undefined;
  #loadConfig: typeof loadConfig | undefined;
  #remote: RemoteApi | undefined;
  readonly #program: Command;

  constructor(program: Command) {
    this.#program = program;
  }

  /** Output format chosen with the global `--output` flag. */
  get output(): OutputFormat {
    const opts = this.#program.opts<{ output?: string }>();
    return opts.output === 'json' ? 'json' : 'table';
  }

  /**
   * Choose where command `path` (e.g. `dags list`) runs, before its action: the remote API server when a
   * target is set (profile, `--api-url`, CAPSTAN_API_URL) and the command supports it; a clear error when it
   * does not; else load the local config and database modules.
   */
  async prepare(path: string, commandOpts: { apiUrl?: unknown }): Promise<void> {
    const support = remoteSupportOf(path);
    if (support.kind === 'ownConnection') return;
    if (support.kind !== 'localOnly') {
      const globals = this.#program.opts<{ local?: boolean; profile?: string }>();
      const { resolveRemoteTarget, RemoteApi } = await import('./remote/connection.ts');
      const target = resolveRemoteTarget({
        ...(globals.local ? { local: true } : {}),
        ...(globals.profile === undefined ? {} : { profile: globals.profile }),
        ...(typeof commandOpts.apiUrl === 'string' ? { apiUrl: commandOpts.apiUrl } : {}),
      });
      if (target !== undefined) {
        if (support.kind === 'unsupported') {
          throw new CapstanError('invalid_argument', `\`capstan ${path}\` works only on the local metadata DB, not through the API server ${target.apiUrl} (${target.source}): ${support.why}`, {
            hint: `add --local (\`capstan --local ${path} …\`) to run it on this machine's metadata DB, or \`capstan logout\``,
          });
        }
        this.#remote = new RemoteApi(target);
        return;
      }
    }
    this.#loadConfig ??= (await import('../config/index.ts')).loadConfig;
  }

  /** The API server this command talks to, or undefined when it works on the local metadata DB. */
  get remote(): RemoteApi | undefined {
    return this.#remote;
  }

  config(): CapstanConfig {
    if (!this.#config) {
      if (!this.#loadConfig) throw new Error('CliContext.prepare() runs before a command uses the local config');
      const opts = this.#program.opts<{ config?: string }>();
      this.#config = this.#loadConfig(opts.config === undefined ? {} : { configPath: opts.config });
    }
    return this.#config;
  }

  /**
   * The metadata DB without a schema check (for `db` commands). The store (Kysely, ~260 modules) is imported
   * here, so a local command that never opens the DB (`config get`) does not load it.
   */
  async rawDb(): Promise<MetadataDb> {
    if (!this.#db) {
      const { openMetadataDb } = await import('../store/db.ts');
      this.#db ??= openMetadataDb(this.config().database.url, { poolSize: this.config().database.poolSize });
    }
    return this.#db;
  }

  /** The metadata DB, refusing to run on a schema that is not current. */
  async db(): Promise<MetadataDb> {
    const m = await this.rawDb();
    const { assertSchemaCurrent } = await import('../store/migrate.ts');
    await assertSchemaCurrent(m);
    return m;
  }

  /**
   * The metadata DB of a long-running component: current schema, and consistent with the other components
   * of the database (shared keys, no SQLite in a pod; src/app/deploymentChecks.ts).
   */
  async componentDb(component: DeploymentComponent): Promise<MetadataDb> {
    const m = await this.db();
    const { assertDeploymentConsistent } = await import('../app/deploymentChecks.ts');
    await assertDeploymentConsistent(m, this.config(), component);
    return m;
  }

  async close(): Promise<void> {
    await this.#db?.close();
    this.#db = undefined;
  }
}

/** Each command group registers itself on the program with this signature. */
export type RegisterCommands = (program: Command, ctx: CliContext) => void;
