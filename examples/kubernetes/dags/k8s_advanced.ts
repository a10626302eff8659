/**
 * Advanced pod features (seed 76.4.1 – 76.4.5): placement (node selector, node/pod affinity, anti-affinity,
 * tolerations), GPUs and extended resources under quotas and LimitRanges, sidecar containers and init
 * containers.
 *
 * 76.4.1 Deferrable mode (the pod watched by a triggerer while the worker slot is free) has its own example,
 * k8s_deferrable.ts (docs/kubernetes/deferrable.md).
 *
 * See docs/kubernetes/advanced.md.
 */
import { fileURLToPath } from 'node:url';
import { chain, dag, KubernetesPodOperator } from 'capstan';

const CONN = 'kubernetes_default';
const template = (file: string): string => fileURLToPath(new URL(`../${file}`, import.meta.url));

export default dag(
  {
    dagId: 'k8s_advanced',
    description: 'Placement, GPUs and quotas, sidecars and init containers',
    schedule: null,
    tags: ['example', 'kubernetes'],
  },
  () => {
    // 76.4.2 Placement. nodeSelector: a simple equality filter. Node affinity: required (a hard rule) and
    // preferred (a weighted wish). Pod affinity: near the cache pods of the same zone. Anti-affinity: not
    // on a node that already runs a pod of this task. Tolerations: allowed on nodes tainted for batch.
    const placed = new KubernetesPodOperator({
      taskId: 'placed',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo placed'],
      nodeSelector: { 'kubernetes.io/os': 'linux', 'node-pool': 'batch' },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] }] }],
          },
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 50, preference: { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['eu-west-1a'] }] } },
          ],
        },
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 30, podAffinityTerm: { topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { app: 'feature-cache' } } } },
          ],
        },
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'capstan.dev/task-id': 'placed' } } },
          ],
        },
      },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' }],
      priorityClassName: 'batch-high',
    });

    // 76.4.3 GPUs and other extended resources are whole numbers and never overcommitted: give limits
    // (requests default to them). In a namespace with a LimitRange every container gets its defaults
    // and must stay within its min/max; with a ResourceQuota on requests/limits every container must
    // state them, or the API server refuses the pod (Capstan reports the quota and what was used).
    const gpu = new KubernetesPodOperator({
      taskId: 'gpu',
      kubernetesConnId: CONN,
      podTemplateFile: template('gpu-training.yaml'),
      image: 'nvcr.io/nvidia/cuda:12.6.2-base-ubuntu24.04',
      cmds: ['nvidia-smi'],
      containerResources: {
        requests: { cpu: '2', memory: '8Gi' },
        limits: { memory: '16Gi', 'nvidia.com/gpu': 1, 'example.com/fpga': 1 },
      },
    });

    // 76.4.4 Sidecars next to the task container. The task ends when `base` ends — a sidecar that runs
    // forever (a proxy) does not keep it waiting; Capstan deletes the pod afterwards. Logs of chosen
    // containers go to the task log (`containerLogs`). A native sidecar (an init container with
    // `restartPolicy: Always`, Kubernetes ≥ 1.29) starts before `base` and is stopped after it.
    const withSidecars = new KubernetesPodOperator({
      taskId: 'with_sidecars',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'for i in 1 2 3; do echo "step $i" | tee -a /logs/app.log; sleep 1; done'],
      volumes: [{ name: 'logs', emptyDir: {} }],
      volumeMounts: [{ name: 'logs', mountPath: '/logs' }],
      containers: [
        // Logging sidecar: ships the file the task writes.
        { name: 'log-shipper', image: 'busybox:1.36', command: ['sh', '-c', 'touch /logs/app.log && tail -F /logs/app.log'], volumeMounts: [{ name: 'logs', mountPath: '/logs', readOnly: true }] },
      ],
      initContainers: [
        // Proxy sidecar (native): the database is reachable on localhost:5432 while `base` runs.
        {
          name: 'db-proxy',
          image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0',
          args: ['--port=5432', 'example-project:europe-west1:warehouse'],
          restartPolicy: 'Always',
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
        },
      ],
      containerLogs: ['base', 'log-shipper'],
    });

    // 76.4.5 Init containers run one after the other, each to completion, before `base`: download
    // dependencies into a shared volume, prepare it, and wait for a service to answer.
    const withInit = new KubernetesPodOperator({
      taskId: 'with_init',
      kubernetesConnId: CONN,
      image: 'python:3.13-slim',
      cmds: ['python', '-c', 'import sys; sys.path.insert(0, "/deps"); print("deps ready")'],
      env: { PYTHONPATH: '/deps' },
      volumes: [{ name: 'deps', emptyDir: {} }],
      volumeMounts: [{ name: 'deps', mountPath: '/deps' }],
      initContainers: [
        { name: 'download-deps', image: 'python:3.13-slim', command: ['pip', 'install', '--target=/deps', 'requests==2.32.3'], volumeMounts: [{ name: 'deps', mountPath: '/deps' }] },
        { name: 'prepare', image: 'busybox:1.36', command: ['sh', '-c', 'chmod -R a+rX /deps'], volumeMounts: [{ name: 'deps', mountPath: '/deps' }] },
        { name: 'wait-for-db', image: 'busybox:1.36', command: ['sh', '-c', 'until nc -z warehouse.data.svc.cluster.local 5432; do echo waiting for db; sleep 2; done'] },
      ],
      containerLogs: ['download-deps', 'wait-for-db', 'base'],
    });

    chain(placed, gpu, [withSidecars, withInit]);
  },
);
