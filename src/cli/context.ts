/**
 * What every CLI command needs, created lazily so `--help` and config-only commands never touch the
 * database: the parsed config, the open metadata DB, and the chosen output format.
 */
import type { Command } from 'commander';
import { loadConfig, type CapstanConfig } from '../config/index.ts';
import { openMetadataDb, type MetadataDb } from '../store/db.ts';
import { assertSchemaCurrent } from '../store/migrate.ts';
import { assertDeploymentConsistent, type DeploymentComponent } from '../app/deploymentChecks.ts';
import type { OutputFormat } from './output.ts';

export class CliContext {
  #config: CapstanConfig | undefined;
  #db: MetadataDb | undefined;
  readonly #program: Command;

  constructor(program: Command) {
    this.#program = program;
  }

  /** Output format chosen with the global `--output` flag. */
  get output(): OutputFormat {
    const opts = this.#program.opts<{ output?: string }>();
    return opts.output === 'json' ? 'json' : 'table';
  }

  config(): CapstanConfig {
    if (!this.#config) {
      const opts = this.#program.opts<{ config?: string }>();
      this.#config = loadConfig(opts.config === undefined ? {} : { configPath: opts.config });
    }
    return this.#config;
  }

  /** The metadata DB without a schema check (for `db` commands). */
  rawDb(): MetadataDb {
    this.#db ??= openMetadataDb(this.config().database.url, { poolSize: this.config().database.poolSize });
    return this.#db;
  }

  /** The metadata DB, refusing to run on a schema that is not current. */
  async db(): Promise<MetadataDb> {
    const m = this.rawDb();
    await assertSchemaCurrent(m);
    return m;
  }

  /**
   * The metadata DB of a long-running component: current schema, and consistent with the other components
   * of the database (shared keys, no SQLite in a pod; src/app/deploymentChecks.ts).
   */
  async componentDb(component: DeploymentComponent): Promise<MetadataDb> {
    const m = await this.db();
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
