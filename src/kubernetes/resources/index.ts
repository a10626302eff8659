/**
 * Any Kubernetes object by apiVersion/kind: parse manifests, create or apply, watch one object, wait for a
 * condition, delete (the generic resource operators' engine); `ObjectWatcher` is also what the Job and Spark
 * lifecycles watch their objects with.
 */
export { ObjectWatcher } from './objectWatcher.ts';
export type { KubeObject, ObjectSnapshot, ObjectWatcherOptions } from './objectWatcher.ts';
export { checkWait, createResource, deleteResource, parseManifests, resolveRef, watchResource } from './resources.ts';
export type { CreateMode, ResourceManifest, ResourceRef, WaitCondition } from './resources.ts';
