/**
 * Any Kubernetes object, by `apiVersion` and `kind`: parse manifests (multi-document YAML or JSON), create or
 * server-side-apply them, wait for a condition on each (watched, never polled), and delete them. The kind's
 * resource name and scope come from API discovery (client-node's `KubernetesObjectApi`, through the same
 * rate-limited, retrying transport as every other call). The generic resource operators are this module plus a
 * task context.
 */
import { KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import type { KubernetesObject, V1APIResource } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { InvalidArgument } from '../../core/index.ts';
import type { KubeClients } from '../client/clients.ts';
import { ObjectWatcher } from '../watch/objectWatcher.ts';
import type { ObjectSnapshot } from '../watch/objectWatcher.ts';

/** A manifest: at least apiVersion, kind and metadata.name. */
export interface ResourceManifest extends KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: NonNullable<KubernetesObject['metadata']> & { name: string };
  [key: string]: unknown;
}

/** Where an object lives. */
export interface ResourceRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses manifests: an object, a list of objects, or YAML/JSON text with one or more documents (`---`). A
 * `kind: List` is unpacked. Errors name the document.
 */
export function parseManifests(input: unknown, source = 'yamlConf'): ResourceManifest[] {
  let docs: unknown[];
  if (typeof input === 'string') {
    docs = [];
    for (const [i, doc] of parseAllDocuments(input).entries()) {
      if (doc.errors.length > 0) throw new InvalidArgument(`${source}: document ${i + 1} is not YAML: ${doc.errors[0]?.message ?? ''}`);
      const value: unknown = doc.toJS();
      if (value !== null && value !== undefined) docs.push(value);
    }
  } else {
    docs = Array.isArray(input) ? input : [input];
  }
  const out: ResourceManifest[] = [];
  for (const [i, doc] of docs.entries()) {
    const at = `${source}[${i}]`;
    if (!isObject(doc)) throw new InvalidArgument(`${at}: is not a manifest object`);
    if (doc['kind'] === 'List' && Array.isArray(doc['items'])) {
      out.push(...parseManifests(doc['items'], `${at}.items`));
      continue;
    }
    if (typeof doc['apiVersion'] !== 'string' || doc['apiVersion'] === '') throw new InvalidArgument(`${at}.apiVersion: every manifest needs an apiVersion`);
    if (typeof doc['kind'] !== 'string' || doc['kind'] === '') throw new InvalidArgument(`${at}.kind: every manifest needs a kind`);
    const metadata = doc['metadata'];
    if (!isObject(metadata) || typeof metadata['name'] !== 'string' || metadata['name'] === '') {
      throw new InvalidArgument(`${at}.metadata.name: every manifest needs a name`, 'generateName is not supported: the operator must find the object again to wait for it and to delete it');
    }
    out.push(doc as unknown as ResourceManifest);
  }
  if (out.length === 0) throw new InvalidArgument(`${source}: no manifest found`);
  return out;
}

/** Discovery access (`resource` is protected in client-node; this subclass reads it for a given api). */
class Discovery extends KubernetesObjectApi {
  static async resource(api: KubernetesObjectApi, apiVersion: string, kind: string): Promise<V1APIResource> {
    const found = await (api as Discovery).resource(apiVersion, kind);
    if (found === undefined) throw new InvalidArgument(`${apiVersion} ${kind}: the cluster does not serve this kind`, 'is its CustomResourceDefinition installed? (kubectl api-resources)');
    return found;
  }

  static collection(api: KubernetesObjectApi, apiVersion: string): string {
    return (api as Discovery).apiVersionPath(apiVersion);
  }
}

/** The object's reference with the namespace resolved (`undefined` for cluster-scoped kinds). */
export async function resolveRef(clients: KubeClients, manifest: ResourceManifest, defaultNamespace: string): Promise<ResourceRef> {
  const resource = await Discovery.resource(clients.objects, manifest.apiVersion, manifest.kind);
  return {
    apiVersion: manifest.apiVersion,
    kind: manifest.kind,
    name: manifest.metadata.name,
    namespace: resource.namespaced ? (manifest.metadata.namespace ?? defaultNamespace) : undefined,
  };
}

/** `create` fails on an existing object; `apply` is a server-side apply (field manager `capstan`, forced). */
export type CreateMode = 'create' | 'apply';

/** Creates (or applies) one manifest; returns the object the server stored. */
export async function createResource(clients: KubeClients, manifest: ResourceManifest, ref: ResourceRef, mode: CreateMode): Promise<KubernetesObject> {
  const body = { ...manifest, metadata: { ...manifest.metadata, ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }) } };
  if (mode === 'apply') return clients.objects.patch(body, undefined, undefined, 'capstan', true, PatchStrategy.ServerSideApply);
  return clients.objects.create(body);
}

/** Deletes one object (404 ignored); returns false when it was already gone. */
export async function deleteResource(clients: KubeClients, ref: ResourceRef, propagationPolicy?: string): Promise<boolean> {
  try {
    await clients.objects.delete({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }) } },
      undefined, undefined, undefined, undefined, propagationPolicy);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === 404) return false;
    throw error;
  }
}

/** A watcher of one object of any kind. */
export async function watchResource(clients: KubeClients, ref: ResourceRef, onRetry?: (error: unknown, attempt: number) => void): Promise<ObjectWatcher<KubernetesObject>> {
  const resource = await Discovery.resource(clients.objects, ref.apiVersion, ref.kind);
  const base = Discovery.collection(clients.objects, ref.apiVersion);
  const path = ref.namespace === undefined ? `${base}/${resource.name}` : `${base}/namespaces/${encodeURIComponent(ref.namespace)}/${resource.name}`;
  return ObjectWatcher.start<KubernetesObject>({
    watch: clients.watch, path, name: ref.name, onRetry,
    list: async (fieldSelector) => {
      const listed = await clients.objects.list(ref.apiVersion, ref.kind, ref.namespace, undefined, undefined, undefined, fieldSelector);
      return { items: listed.items, metadata: { resourceVersion: listed.metadata?.resourceVersion ?? '0' } };
    },
  });
}

/** What to wait for after creating. */
export interface WaitCondition {
  /** A `status.conditions[]` entry of this type with status True (e.g. `Available`, `Ready`, `Complete`, `Established`). */
  condition?: string | undefined;
  /** A dotted path into the object (e.g. `status.phase`) and the value it must reach (e.g. `Bound`). */
  jsonPath?: { path: string; value: string | number | boolean } | undefined;
  /** Conditions of these types with status True fail the wait at once (e.g. `Failed`). */
  failureConditions?: readonly string[] | undefined;
  /** Only objects of these kinds are awaited (default: every object), e.g. `['PersistentVolumeClaim']`. */
  kinds?: readonly string[] | undefined;
}

function at(object: unknown, path: string): unknown {
  let value = object;
  for (const key of path.split('.').filter((k) => k !== '')) {
    if (!isObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

/** Pure: whether `snapshot` meets `wait` — `met`, `failed` (with why), or undefined while waiting. */
export function checkWait(snapshot: ObjectSnapshot<KubernetesObject>, wait: WaitCondition): { kind: 'met' } | { kind: 'failed'; message: string } | undefined {
  if (snapshot.deleted) return { kind: 'failed', message: 'the object was deleted while waiting for it' };
  const object = snapshot.object;
  if (object === undefined) return undefined;
  const conditions = (at(object, 'status.conditions') ?? []) as { type?: string; status?: string; reason?: string; message?: string }[];
  const trueOf = (type: string) => Array.isArray(conditions) ? conditions.find((c) => c.type === type && c.status === 'True') : undefined;
  for (const type of wait.failureConditions ?? []) {
    const c = trueOf(type);
    if (c !== undefined) return { kind: 'failed', message: `condition ${type} is True${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}` };
  }
  const conditionMet = wait.condition === undefined || trueOf(wait.condition) !== undefined;
  const pathMet = wait.jsonPath === undefined || at(object, wait.jsonPath.path) === wait.jsonPath.value;
  return conditionMet && pathMet ? { kind: 'met' } : undefined;
}
