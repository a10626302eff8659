/** `FileSensor`: waits for a file (or a glob match) to exist — poking, rescheduling or deferred. */
import { join } from 'node:path';
import type { JsonObject, JsonValue } from '../../core/index.ts';
import { DagDefinitionError } from '../../core/index.ts';
import { FileTrigger, matchingFiles } from '../../triggers/index.ts';
import type { TaskContext } from '../taskContext.ts';
import { BaseSensorOperator, type SensorOptions } from './base.ts';

/** Options of a {@link FileSensor}. */
export interface FileSensorOptions extends SensorOptions {
  /** Path or glob pattern (templated). Relative paths are joined to the `fsConnId` connection's `extra.path`. */
  filepath: string;
  /** A connection whose `extra.path` is the base folder (Airflow's `fs` connection). Default none. */
  fsConnId?: string;
  /** Wait in the triggerer instead of on a worker. Default false. */
  deferrable?: boolean;
}

/**
 * Succeeds once `filepath` exists (or its glob matches at least one file).
 *
 * @example
 * new FileSensor({ taskId: 'wait_input', filepath: '/data/{{ ds }}/*.csv', mode: 'reschedule', pokeInterval: '5m' });
 */
export class FileSensor extends BaseSensorOperator {
  static override readonly templateFields: readonly string[] = ['filepath'];
  readonly operatorName: string = 'FileSensor';
  readonly filepath: string;
  readonly fsConnId: string | null;
  readonly deferrable: boolean;

  constructor(options: FileSensorOptions) {
    super(options);
    if (typeof options.filepath !== 'string' || options.filepath === '') throw new DagDefinitionError(`sensor '${options.taskId}': filepath must be a non-empty string`);
    this.filepath = options.filepath;
    this.fsConnId = options.fsConnId ?? null;
    this.deferrable = options.deferrable ?? false;
  }

  /** The path checked: `filepath`, under the connection's base folder when relative. */
  async resolvedPath(ctx: TaskContext): Promise<string> {
    if (this.fsConnId === null || this.filepath.startsWith('/')) return this.filepath;
    const base = (await ctx.getConnection(this.fsConnId)).extra['path'];
    return typeof base === 'string' ? join(base, this.filepath) : this.filepath;
  }

  override async poke(ctx: TaskContext): Promise<boolean> {
    const path = await this.resolvedPath(ctx);
    const files = await matchingFiles(path);
    ctx.log.info(`poking for ${path}: ${files.length > 0 ? `found ${files.slice(0, 5).join(', ')}` : 'not found'}`);
    return files.length > 0;
  }

  override async execute(ctx: TaskContext): Promise<JsonValue | undefined> {
    if (!this.deferrable) return super.execute(ctx);
    if (await this.poke(ctx)) return undefined;
    this.defer({
      trigger: new FileTrigger({ filepath: await this.resolvedPath(ctx), pokeIntervalMs: this.pokeIntervalMs }),
      method: 'executeComplete',
      timeout: this.remainingMs(ctx),
    });
  }

  /** Resumed when the trigger saw the file. */
  executeComplete(ctx: TaskContext, event: JsonValue): undefined {
    const files = (event as { files?: string[] } | null)?.files ?? [];
    ctx.log.info(`file found: ${files.slice(0, 5).join(', ')}`);
    return undefined;
  }

  protected override serializeFields(): JsonObject {
    return { ...super.serializeFields(), filepath: this.filepath, fsConnId: this.fsConnId, deferrable: this.deferrable };
  }
}
