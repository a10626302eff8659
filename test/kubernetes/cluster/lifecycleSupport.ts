// Shared pieces of the pod-lifecycle integration tests: KubeClients over a KubeConfig, a task pod, a sink.
import type { KubeConfig, V1Container, V1Pod } from '@kubernetes/client-node';
import { createKubeClients } from '../../../src/kubernetes/index.ts';
import type { KubeClients } from '../../../src/kubernetes/index.ts';
import { podAnnotations } from '../../support/k8s/index.ts';
import type { PodBehaviour } from '../../support/k8s/index.ts';

/** The production client set (rate limit, retries) over `kubeConfig`. */
export function kubeClients(kubeConfig: KubeConfig, defaultNamespace: string): KubeClients {
  return createKubeClients(kubeConfig, { defaultNamespace });
}

/** Labels of a task instance's pod, as the pod builder writes them. */
export function taskLabels(task: string, tryNumber = 1): Record<string, string> {
  return {
    'capstan.dev/dag-id': 'lifecycle',
    'capstan.dev/task-id': task,
    'capstan.dev/run-id': 'manual__1',
    'capstan.dev/try-number': String(tryNumber),
    'capstan.dev/map-index': 'none',
  };
}

/** A task pod whose simulated run follows `behaviour`. */
export function taskPod(name: string, behaviour: PodBehaviour, extra: { initContainers?: V1Container[]; labels?: Record<string, string> } = {}): V1Pod {
  return {
    metadata: { name, annotations: podAnnotations(behaviour), labels: extra.labels ?? taskLabels(name) },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'base', image: 'capstan/task:test' }],
      ...(extra.initContainers ? { initContainers: extra.initContainers } : {}),
    },
  };
}

/** Collects the task log. */
export function memorySink(): { lines: string[]; log(message: string): void } {
  const lines: string[] = [];
  return { lines, log: (m) => { lines.push(m); } };
}
