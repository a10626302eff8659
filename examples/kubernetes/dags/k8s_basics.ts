/**
 * KubernetesPodOperator basics (seed 76.1.1 – 76.1.5): a first pod, image and command, namespaces, names and
 * labels, requests and limits.
 *
 * Every example talks to the cluster through the connection `kubernetes_default`:
 *   capstan connections add kubernetes_default --conn-type kubernetes \
 *     --conn-extra '{"kubeconfigPath": "~/.kube/config", "namespace": "default"}'
 *
 * Try (no cluster needed):
 *   capstan tasks render-pod k8s_basics hello          # the exact manifest, as YAML
 * Then:
 *   capstan dags trigger k8s_basics
 *   kubectl get pods -l capstan.dev/dag-id=k8s_basics --show-labels -w
 * See docs/kubernetes/basics.md.
 */
import { chain, dag, KubernetesPodOperator } from 'capstan';

const CONN = 'kubernetes_default';

export default dag(
  {
    dagId: 'k8s_basics',
    description: 'A first pod, its image and command, namespaces, names, labels and resources',
    schedule: null,
    tags: ['example', 'kubernetes'],
  },
  () => {
    // 76.1.1 The smallest pod task: a task id, an image and a command. The pod is named after the task
    // (`hello-<8 random chars>`), runs in the connection's namespace and is deleted when it ends.
    const hello = new KubernetesPodOperator({
      taskId: 'hello',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c'],
      arguments: ['echo "hello from pod $HOSTNAME"'],
    });

    // 76.1.2 A custom image with an explicit pull policy; `cmds` replaces the image's ENTRYPOINT and
    // `arguments` its CMD. Pin tags: with `IfNotPresent` a node keeps whatever it pulled first.
    const customImage = new KubernetesPodOperator({
      taskId: 'custom_image',
      kubernetesConnId: CONN,
      image: 'python:3.13-slim',
      imagePullPolicy: 'IfNotPresent',
      cmds: ['python', '-c'],
      arguments: ['import platform, sys; print(platform.python_version(), sys.argv)'],
      workingDir: '/tmp',
    });
    // `Always` asks the registry for the tag's current digest at every start (mutable tags such as
    // nightly builds); `Never` only uses an image already on the node (pre-loaded into kind/minikube).
    const alwaysPull = new KubernetesPodOperator({
      taskId: 'always_pull',
      kubernetesConnId: CONN,
      image: 'ghcr.io/example/etl:nightly',
      imagePullPolicy: 'Always',
      cmds: ['/app/etl'], // entrypoint override
      arguments: ['--check'],
    });

    // 76.1.3 Namespaces: `namespace` wins over the connection's `namespace`, which wins over the
    // namespace Capstan itself runs in, then `default`. One namespace per team or environment isolates
    // quotas, secrets and RBAC; the identity creating the pods needs `create pods` there:
    //   kubectl -n analytics auth can-i create pods --as=system:serviceaccount:capstan:runner
    const inConnectionNamespace = new KubernetesPodOperator({
      taskId: 'connection_namespace',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo running in the connection namespace'],
    });
    const inAnalytics = new KubernetesPodOperator({
      taskId: 'analytics_namespace',
      kubernetesConnId: CONN,
      namespace: 'analytics',
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo running in analytics'],
    });

    // 76.1.4 Names, labels and annotations. `name` is the prefix (DNS-1123 sanitized, ≤ 63 characters)
    // and gets `-xxxxxxxx` unless `randomNameSuffix: false`. Capstan adds `capstan.dev/dag-id`, `task-id`,
    // `run-id`, `try-number` labels itself, so monitoring can select pods:
    //   kubectl get pods -l capstan.dev/dag-id=k8s_basics,team=data-platform
    const labelled = new KubernetesPodOperator({
      taskId: 'labelled',
      kubernetesConnId: CONN,
      name: 'Nightly_Report',
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo labelled'],
      labels: { team: 'data-platform', 'app.kubernetes.io/name': 'nightly-report', tier: 'batch' },
      annotations: { owner: 'data-platform@example.com', runbook: 'https://wiki.example.com/runbooks/nightly-report' },
    });

    // 76.1.5 Requests are what the scheduler reserves on a node (the pod waits Pending until one node has
    // them free); limits are where the kernel stops the container (CPU is throttled, memory over the limit
    // is OOMKilled). CPU in cores or millicores (`250m` = a quarter core), memory with binary suffixes
    // (`Mi`, `Gi`). Quantities are checked when the manifest is built (`capstan tasks render-pod` too).
    const sized = new KubernetesPodOperator({
      taskId: 'sized',
      kubernetesConnId: CONN,
      image: 'python:3.13-slim',
      cmds: ['python', '-c', 'print(sum(range(10_000_000)))'],
      containerResources: {
        requests: { cpu: '250m', memory: '256Mi' },
        limits: { cpu: '1', memory: '512Mi' },
      },
    });

    chain(hello, [customImage, alwaysPull], [inConnectionNamespace, inAnalytics], labelled, sized);
  },
);
