/**
 * Performance (seed 76.9.1 – 76.9.5): faster pod starts, small images, right-sized resources, parallel pods
 * within pool and quota limits, and caches that survive between runs.
 *
 * 76.9.2 Image optimization happens in the Dockerfile, not in the DAG: multi-stage builds (compile in a
 * full image, copy the result into a slim or distroless one), dependency layers before source layers for
 * cache hits, a pinned slim base image (`python:3.13-slim`, `gcr.io/distroless/…`). A smaller image is a
 * shorter pull on every cold node; see docs/kubernetes/patterns.md.
 * 76.9.3 Right-sizing: measure (`kubectl top pod --containers`, metrics-server; or a VerticalPodAutoscaler
 * in `Off` mode, whose recommendations you copy into containerResources), then set requests to the typical
 * use and the memory limit to the peak plus headroom.
 * 76.9.4 Parallel pods: Capstan's `parallelism`, pools (`capstan pools set k8s_batch 10 --description "batch
 * pods"`, then `pool: 'k8s_batch'` on the tasks) and the DAG's maxActiveTasks bound concurrency on the
 * Capstan side; a ResourceQuota bounds it on the cluster side (pods over it wait, with the quota named in
 * the task log); the cluster autoscaler adds nodes to the node pool for pods that are Pending.
 *
 * See docs/kubernetes/patterns.md.
 */
import { chain, dag, KubernetesPodOperator } from 'capstan';

const CONN = 'kubernetes_default';

const cache = {
  volumes: [{ name: 'pip-cache', persistentVolumeClaim: { claimName: 'pip-cache' } }],
  volumeMounts: [{ name: 'pip-cache', mountPath: '/cache' }],
};

export default dag(
  {
    dagId: 'k8s_performance',
    description: 'Fast pod starts, right-sized parallel pods and caches that persist',
    schedule: null,
    tags: ['example', 'kubernetes'],
    maxActiveTasks: 6,
  },
  () => {
    // 76.9.1 Fast starts: an image pre-pulled on the nodes (a DaemonSet pulling it, or baked into the node
    // image) with IfNotPresent, a preference for the warm node pool, requests = limits (Guaranteed QoS,
    // no throttling surprises), and a tiny init container instead of installing tools at start.
    const fastStart = new KubernetesPodOperator({
      taskId: 'fast_start',
      kubernetesConnId: CONN,
      image: 'registry.example.com/data/runtime:2026.11',
      imagePullPolicy: 'IfNotPresent',
      cmds: ['sh', '-c', 'test -f /ready/ok && echo started fast'],
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, preference: { matchExpressions: [{ key: 'example.com/warm-pool', operator: 'In', values: ['true'] }] } },
          ],
        },
      },
      containerResources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
      volumes: [{ name: 'ready', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }],
      volumeMounts: [{ name: 'ready', mountPath: '/ready' }],
      initContainers: [
        {
          name: 'ready',
          image: 'busybox:1.36',
          command: ['touch', '/ready/ok'],
          resources: { requests: { cpu: '10m', memory: '8Mi' }, limits: { memory: '16Mi' } },
          volumeMounts: [{ name: 'ready', mountPath: '/ready' }],
        },
      ],
    });

    // 76.9.5 Caching: a PVC shared by runs keeps the dependency cache; an init container warms it
    // (downloads only what changed) so the task itself installs from the local cache. The same volume can
    // hold a build cache (ccache, Gradle, Maven) between runs.
    const cached = new KubernetesPodOperator({
      taskId: 'cached_dependencies',
      kubernetesConnId: CONN,
      image: 'python:3.13-slim',
      cmds: ['sh', '-c', 'pip install --no-index --find-links=/cache/wheels pandas && python -c "import pandas; print(pandas.__version__)"'],
      env: { PIP_CACHE_DIR: '/cache/pip' },
      initContainers: [
        { name: 'warm-cache', image: 'python:3.13-slim', command: ['pip', 'download', '--dest=/cache/wheels', 'pandas==2.2.3'], env: [{ name: 'PIP_CACHE_DIR', value: '/cache/pip' }], volumeMounts: [{ name: 'pip-cache', mountPath: '/cache' }] },
      ],
      ...cache,
    });

    // 76.9.3 / 76.9.4 Many right-sized pods in parallel (bounded by maxActiveTasks above).
    const parallel = Array.from({ length: 6 }, (_, i) => new KubernetesPodOperator({
      taskId: `parallel_${i}`,
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', `echo partition ${i}`],
      containerResources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
    }));

    chain(fastStart, cached, parallel);
  },
);
