// Test support for Kubernetes integration tests: a real control plane with
// simulated nodes, the pod-outcome annotation vocabulary, pod logs, and a
// fault-injecting proxy. See docs/testing.md.
export {
  binariesAvailable,
  connectTestCluster,
  findBinaries,
  startTestCluster,
  CLUSTER_ENV,
} from './cluster.ts';
export type { ClusterDescriptor, StartOptions, TestCluster } from './cluster.ts';
export { podAnnotations, POD_ANNOTATIONS } from './podOutcome.ts';
export type { PodBehaviour, PodOutcome } from './podOutcome.ts';
export type { PodLogs } from './podLogs.ts';
export { apiStatus, expiredWatchEvent } from './apiStatus.ts';
export type { ApiStatus } from './apiStatus.ts';
export type { Fault, FaultAction, FaultMatch, FaultProxy, FaultRule, ProxiedRequest } from './faultProxy.ts';
export { UNCACHED_RESOURCES } from './controlPlane.ts';
export { waitForPod, inPhase } from './watchPod.ts';
export { waitFor } from './wait.ts';
