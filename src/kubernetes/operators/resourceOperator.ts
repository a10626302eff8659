/**
 * KubernetesCreateResourceOperator / KubernetesDeleteResourceOperator: any manifest (a ConfigMap, a
 * PersistentVolumeClaim, a Deployment, a custom resource…), as multi-document YAML / JSON text, objects, or a
 * file, created (or server-side applied) and optionally awaited until a condition holds; or deleted and
 * optionally awaited until gone. Waits are watches (../resources), bounded by `waitTimeoutSeconds` and the
 * task's own timeout.
 *
 * @example
 * new KubernetesCreateResourceOperator({
 *   taskId: 'claim', kubernetesConnId: 'k8s_prod',
 *   yamlConf: 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: { name: scratch-{{ ds_nodash }} }\nspec: …',
 *   waitFor: { jsonPath: { path: 'status.phase', value: 'Bound' } },
 * });
 */
import { readFileSync } from 'node:fs';
import { CapstanError, InvalidArgument } from '../../core/index.ts';
import type { JsonObject, JsonValue } from '../../core/index.ts';
import { BaseOperator, type TaskOptions } from '../../sdk/baseOperator.ts';
import type { TaskContext } from '../../sdk/taskContext.ts';
import type { KubeClients } from '../client/clients.ts';
import type { CreateMode, ResourceManifest, ResourceRef, WaitCondition } from '../resources/resources.ts';
import type { PropagationPolicy } from '../job/options.ts';
import { connectCluster } from './podOperator.ts';

const kube = () => import('./resourceRuntime.ts');

/** Options shared by both operators. */
interface ResourceOperatorOptions extends TaskOptions {
  /** Manifests: YAML/JSON text (several documents allowed), an object, or a list of objects (templated). */
  yamlConf?: string | Record<string, unknown> | Record<string, unknown>[];
  /** Path of a YAML/JSON file of manifests (exclusive with yamlConf; read when the task runs). */
  yamlConfFile?: string;
  /** Namespace of namespaced objects that name none (default: connection → in-cluster → `default`). */
  namespace?: string;
  kubernetesConnId?: string;
  /** Bound on each wait, seconds (default 300). */
  waitTimeoutSeconds?: number;
}

/** Options of {@link KubernetesCreateResourceOperator}. */
export interface KubernetesCreateResourceOperatorOptions extends ResourceOperatorOptions {
  /** `create` (default; an existing object fails the task) or `apply` (server-side apply, idempotent on retries). */
  mode?: CreateMode;
  /** Wait until every created object meets this (condition type True and/or a field value). */
  waitFor?: WaitCondition;
}

/** Options of {@link KubernetesDeleteResourceOperator}. */
export interface KubernetesDeleteResourceOperatorOptions extends ResourceOperatorOptions {
  /** Default Background. */
  propagationPolicy?: PropagationPolicy;
  /** Wait until every object is gone. Default true. */
  waitForDeletion?: boolean;
}

function manifestsSource(o: { yamlConf?: unknown; yamlConfFile?: string | undefined }): unknown {
  if (o.yamlConf !== undefined && o.yamlConfFile !== undefined) throw new InvalidArgument('yamlConfFile: give yamlConf or yamlConfFile, not both');
  if (o.yamlConfFile !== undefined) {
    try {
      return readFileSync(o.yamlConfFile, 'utf8');
    } catch (err) {
      throw new InvalidArgument(`yamlConfFile: cannot read ${o.yamlConfFile}: ${(err as Error).message}`);
    }
  }
  if (o.yamlConf === undefined) throw new InvalidArgument('yamlConf: give the manifests (yamlConf) or a file of them (yamlConfFile)');
  return o.yamlConf;
}

const refText = (r: ResourceRef): string => `${r.kind} ${r.namespace === undefined ? '' : `${r.namespace}/`}${r.name}`;

abstract class ResourceOperatorBase extends BaseOperator {
  static override readonly templateFields: readonly string[] = ['yamlConf', 'yamlConfFile', 'namespace'];
  yamlConf: ResourceOperatorOptions['yamlConf'];
  yamlConfFile: string | undefined;
  namespace: string | undefined;
  readonly base: ResourceOperatorOptions;

  constructor(options: ResourceOperatorOptions) {
    super(options);
    if (options.yamlConf === undefined && options.yamlConfFile === undefined) throw new InvalidArgument('yamlConf: give the manifests (yamlConf) or a file of them (yamlConfFile)');
    this.yamlConf = options.yamlConf;
    this.yamlConfFile = options.yamlConfFile;
    this.namespace = options.namespace;
    this.base = options;
  }

  protected async refs(ctx: TaskContext): Promise<{ clients: KubeClients; items: { manifest: ResourceManifest; ref: ResourceRef }[] }> {
    const { parseManifests, resolveRef } = await kube();
    const manifests = parseManifests(manifestsSource(this), this.yamlConfFile === undefined ? 'yamlConf' : `yamlConfFile (${this.yamlConfFile})`);
    const { clients } = await connectCluster(ctx, this.base.kubernetesConnId, this.namespace);
    const items = [];
    for (const manifest of manifests) items.push({ manifest, ref: await resolveRef(clients, manifest, clients.defaultNamespace) });
    return { clients, items };
  }

  protected timeoutSignal(ctx: TaskContext): AbortSignal {
    return AbortSignal.any([ctx.signal, AbortSignal.timeout((this.base.waitTimeoutSeconds ?? 300) * 1000)]);
  }
}

/** Creates (or applies) manifests and optionally waits for a condition on each. Returns the objects' references. */
export class KubernetesCreateResourceOperator extends ResourceOperatorBase {
  readonly operatorName: string = 'KubernetesCreateResourceOperator';
  readonly options: KubernetesCreateResourceOperatorOptions;

  constructor(options: KubernetesCreateResourceOperatorOptions) {
    super(options);
    if (options.mode !== undefined && options.mode !== 'create' && options.mode !== 'apply') throw new InvalidArgument(`mode: '${String(options.mode)}' is not one of create, apply`);
    const w = options.waitFor;
    if (w !== undefined && w.condition === undefined && w.jsonPath === undefined) throw new InvalidArgument('waitFor: give a condition type, a jsonPath with its value, or both');
    this.options = options;
  }

  protected override serializeFields(): JsonObject {
    const { taskId: _t, ...rest } = this.options;
    return JSON.parse(JSON.stringify({ ...pickPlain(rest), yamlConf: this.yamlConf, yamlConfFile: this.yamlConfFile, namespace: this.namespace })) as JsonObject;
  }

  override async execute(ctx: TaskContext): Promise<JsonValue> {
    const { checkWait, createResource, watchResource } = await kube();
    const { clients, items } = await this.refs(ctx);
    for (const { manifest, ref } of items) {
      await createResource(clients, manifest, ref, this.options.mode ?? 'create');
      ctx.log.info(`${this.options.mode === 'apply' ? 'applied' : 'created'} ${refText(ref)}`);
    }
    const wait = this.options.waitFor;
    if (wait !== undefined) {
      const signal = this.timeoutSignal(ctx);
      for (const { ref } of items.filter((i) => wait.kinds === undefined || wait.kinds.includes(i.ref.kind))) {
        const watcher = await watchResource(clients, ref, (e, n) => ctx.log.info(`watch of ${refText(ref)} reconnecting (attempt ${n}): ${String(e)}`));
        try {
          const result = await watcher.until((s) => checkWait(s, wait), { signal });
          if (result === undefined) {
            throw new CapstanError('task_failed', ctx.signal.aborted ? `task killed while waiting for ${refText(ref)}` : `${refText(ref)} did not meet ${JSON.stringify(wait)} within ${this.base.waitTimeoutSeconds ?? 300}s`);
          }
          if (result.kind === 'failed') throw new CapstanError('task_failed', `${refText(ref)}: ${result.message}`);
          ctx.log.info(`${refText(ref)} is ready`);
        } finally {
          await watcher.stop();
        }
      }
    }
    return items.map(({ ref }) => ({ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, namespace: ref.namespace ?? null }));
  }
}

/** Deletes the objects of manifests (missing ones are fine) and optionally waits until they are gone. Returns how many it deleted. */
export class KubernetesDeleteResourceOperator extends ResourceOperatorBase {
  readonly operatorName: string = 'KubernetesDeleteResourceOperator';
  readonly options: KubernetesDeleteResourceOperatorOptions;

  constructor(options: KubernetesDeleteResourceOperatorOptions) {
    super(options);
    if (options.propagationPolicy !== undefined && !['Foreground', 'Background', 'Orphan'].includes(options.propagationPolicy)) {
      throw new InvalidArgument(`propagationPolicy: '${String(options.propagationPolicy)}' is not one of Foreground, Background, Orphan`);
    }
    this.options = options;
  }

  protected override serializeFields(): JsonObject {
    const { taskId: _t, ...rest } = this.options;
    return JSON.parse(JSON.stringify({ ...pickPlain(rest), yamlConf: this.yamlConf, yamlConfFile: this.yamlConfFile, namespace: this.namespace })) as JsonObject;
  }

  override async execute(ctx: TaskContext): Promise<JsonValue> {
    const { deleteResource, watchResource } = await kube();
    const { clients, items } = await this.refs(ctx);
    let deleted = 0;
    const signal = this.timeoutSignal(ctx);
    for (const { ref } of items) {
      const watcher = this.options.waitForDeletion === false ? undefined : await watchResource(clients, ref);
      try {
        if (await deleteResource(clients, ref, this.options.propagationPolicy ?? 'Background')) {
          deleted += 1;
          ctx.log.info(`deleting ${refText(ref)}`);
        } else {
          ctx.log.info(`${refText(ref)} does not exist`);
        }
        if (watcher !== undefined) {
          const gone = await watcher.until((s) => (s.deleted || s.object === undefined ? true : undefined), { signal });
          if (gone === undefined) throw new CapstanError('task_failed', `${refText(ref)} was not gone within ${this.base.waitTimeoutSeconds ?? 300}s (a finalizer may hold it)`);
        }
      } finally {
        await watcher?.stop();
      }
    }
    return deleted;
  }
}

/** The JSON-safe operator options (callbacks dropped by JSON). */
function pickPlain(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => typeof v !== 'function'));
}
