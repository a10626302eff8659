/**
 * Troubleshooting and operations (seed 76.5.1 – 76.5.5): failure diagnosis (logs, termination message,
 * keeping the failed pod), skipping on an exit code, cleanup policies, timeouts and retries, OOMKilled and
 * Kubernetes events. A second DAG, `k8s_image_pull_failure` (76.5.2), shows an image that cannot be pulled
 * failing fast — within seconds, with the registry's message — instead of waiting out a timeout.
 *
 * Debugging a pod task:
 *   kubectl get pods -l capstan.dev/dag-id=k8s_troubleshooting,capstan.dev/task-id=debug_failure
 *   kubectl describe pod <pod>                       # state, last state, exit code, events
 *   kubectl logs <pod> -c base                       # the task container
 *   kubectl get events --field-selector involvedObject.name=<pod>
 *   kubectl top pod <pod> --containers               # needs metrics-server
 * See docs/kubernetes/troubleshooting.md.
 */
import { chain, dag, KubernetesPodOperator } from 'capstan';

const CONN = 'kubernetes_default';

export default dag(
  {
    dagId: 'k8s_troubleshooting',
    description: 'Diagnosing failures, cleanup policies, timeouts, retries and OOM',
    schedule: null,
    tags: ['example', 'kubernetes'],
  },
  () => {
    // 76.5.1 A failing task: its failure reason carries the exit code, the termination message (the file
    // /dev/termination-log, or with FallbackToLogsOnError the last log lines) and the base container's
    // logs are already in the task log, streamed as written (`containerLogs` picks other containers too).
    // `delete_succeeded_pod` keeps the pod when it fails, for `kubectl describe` / `kubectl logs`.
    const debugFailure = new KubernetesPodOperator({
      taskId: 'debug_failure',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo "checking input"; echo "input bucket is empty" > /dev/termination-log; exit 3'],
      terminationMessagePolicy: 'FallbackToLogsOnError',
      containerLogs: ['base'],
      onFinishAction: 'delete_succeeded_pod',
      // Every lifecycle step can be observed; callbacks run in the task process.
      podCallbacks: {
        onPodCompletion: ({ pod }) => {
          const base = pod.status?.containerStatuses?.find((c) => c.name === 'base');
          console.log(`base ended: ${JSON.stringify(base?.state?.terminated ?? base?.state ?? {})}`);
        },
      },
    });

    // Exit codes that mean "nothing to do" skip the task instead of failing it.
    const nothingToDo = new KubernetesPodOperator({
      taskId: 'nothing_to_do',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo "no new files"; exit 99'],
      skipOnExitCode: [99],
    });

    // 76.5.3 Cleanup: delete_pod (default: always delete), delete_succeeded_pod (keep failures),
    // keep_pod (keep everything; clean up with `kubectl delete pods -l capstan.dev/dag-id=...`),
    // delete_active_pod (delete only a pod still running when the task ends, e.g. killed). Orphans cannot
    // pile up from retries: a retry finds the task's existing pod by its labels and reattaches to it, and
    // a killed task (timeout, marked failed) deletes its pod.
    const keepForDebugging = new KubernetesPodOperator({
      taskId: 'keep_for_debugging',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo kept'],
      onFinishAction: 'keep_pod',
      labels: { 'cleanup-after': '7d' },
    });

    // 76.5.4 Timeouts and retries. scheduleTimeoutSeconds: how long the pod may stay unscheduled (no node
    // with room; quota). startupTimeoutSeconds: from scheduled to the base container running (image pull,
    // init containers). executionTimeout: the whole task — the pod is deleted with its grace period.
    // activeDeadlineSeconds: Kubernetes' own limit (DeadlineExceeded). The pod's restartPolicy is always
    // Never: retries are Capstan's, with exponential backoff, each in a fresh pod.
    const bounded = new KubernetesPodOperator({
      taskId: 'bounded',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo working; sleep 5'],
      scheduleTimeoutSeconds: 300,
      startupTimeoutSeconds: 180,
      executionTimeout: '30m',
      activeDeadlineSeconds: 2400,
      terminationGracePeriodSeconds: 30,
      terminationGracePeriodOnKill: 10,
      retries: 3,
      retryDelay: '30s',
      retryExponentialBackoff: true,
      maxRetryDelay: '10m',
    });

    // 76.5.5 Memory: a container over its memory limit is OOMKilled (exit 137) and the task fails with
    // "OOMKilled" (raise the limit, or process in chunks). Requests = limits gives Guaranteed QoS (evicted
    // last under node pressure). The pod's Kubernetes events (scheduling, pulling, killing) go to the task
    // log; `kubectl top pod` shows live usage.
    const memoryBound = new KubernetesPodOperator({
      taskId: 'memory_bound',
      kubernetesConnId: CONN,
      image: 'python:3.13-slim',
      cmds: ['python', '-c', 'data = bytearray(200 * 1024 * 1024); print(len(data))'],
      containerResources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
      downwardApiEnv: { MEMORY_LIMIT_MI: { resource: 'limits.memory', divisor: '1Mi' } },
    });

    chain(debugFailure, [nothingToDo, keepForDebugging]);
    chain(bounded, memoryBound);
  },
);

// 76.5.2 An image that does not exist. The task fails in seconds with ErrImagePull / ImagePullBackOff and
// the kubelet's message (manifest unknown, unauthorized, no such host…) — not after startupTimeoutSeconds.
// For a private registry, create a pull secret and name it in imagePullSecrets:
//   kubectl create secret docker-registry regcred --docker-server=registry.example.com \
//     --docker-username=… --docker-password=…
export const imagePullFailure = dag(
  {
    dagId: 'k8s_image_pull_failure',
    description: 'Fails on purpose: an image that cannot be pulled fails fast with the reason',
    schedule: null,
    tags: ['example', 'kubernetes', 'failure'],
  },
  () => {
    new KubernetesPodOperator({
      taskId: 'missing_image',
      kubernetesConnId: CONN,
      image: 'registry.example.com/data/does-not-exist:0.0.0',
      imagePullPolicy: 'IfNotPresent',
      imagePullSecrets: ['regcred'],
      cmds: ['true'],
      retries: 0,
    });
  },
);
