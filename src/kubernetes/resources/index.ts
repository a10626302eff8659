/**
 * Any Kubernetes object by apiVersion/kind: parse manifests, create or apply, watch one object, wait for a
 * condition, delete (the generic resource operators' engine). Objects are watched with `ObjectWatcher` (../watch/).
 */
export { checkWait, createResource, deleteResource, parseManifests, resolveRef, watchResource } from './resources.ts';
export type { CreateMode, ResourceManifest, ResourceRef, WaitCondition } from './resources.ts';
