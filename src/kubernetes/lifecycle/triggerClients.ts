/**
 * Kubernetes clients inside the triggerer, for the Kubernetes triggers (pod, Job): the trigger's kwargs name a
 * connection id (never credentials), the triggerer resolves it, and the clients are built with the connection's
 * client tuning exactly as a worker builds them (`connectCluster` in ../operators/podOperator.ts).
 */
import type { TaskConnection } from '../../sdk/taskContext.ts';
import type { Connection } from '../../core/index.ts';
import type { TriggerEnv } from '../../triggers/index.ts';
import { createKubeClients } from '../client/client.ts';
import type { KubeClients } from '../client/clients.ts';
import { parseKubernetesConnection, resolveKubeConfig } from '../client/connection.ts';

function toConnection(c: TaskConnection): Connection {
  return { ...c, description: null, extra: c.extra as Connection['extra'] };
}

/**
 * Clients for connection `connId` (type `kubernetes`; null: the triggerer's default kubeconfig or in-cluster
 * account), with `namespace` as their default namespace.
 *
 * @example
 * const clients = await triggerKubeClients(env, this.kwargs.kubernetesConnId, this.kwargs.namespace);
 */
export async function triggerKubeClients(env: Pick<TriggerEnv, 'getConnection'>, connId: string | null, namespace: string): Promise<KubeClients> {
  const connection = connId === null ? undefined : parseKubernetesConnection(toConnection(await env.getConnection(connId)));
  return createKubeClients(resolveKubeConfig(connection), {
    qps: connection?.qps, burst: connection?.burst, requestTimeoutMs: connection?.requestTimeoutMs, defaultNamespace: namespace,
  });
}
