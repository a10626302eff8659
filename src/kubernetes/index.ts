/**
 * The Kubernetes provider: cluster connections and the API client (rate limit, timeouts, retries, clear errors) in
 * client/, the generic list-watch in watch/, pod building, Jobs, SparkApplications and any object. See ARCHITECTURE.md in this folder.
 */
export * from './client/index.ts';
export * from './watch/index.ts';
export * from './pod/index.ts';
export * from './job/index.ts';
export * from './spark/index.ts';
export * from './resources/index.ts';
