/**
 * Common mistakes and their fixes (seed 76.7.1 – 76.7.5). Each task is the corrected form; the comment
 * above it names the mistake and what Capstan reports when you make it.
 *
 * See docs/kubernetes/troubleshooting.md ("Common mistakes").
 */
import { fileURLToPath } from 'node:url';
import { chain, dag, KubernetesPodOperator } from 'capstan';

const CONN = 'kubernetes_default';
const template = (file: string): string => fileURLToPath(new URL(`../${file}`, import.meta.url));

export default dag(
  {
    dagId: 'k8s_anti_patterns',
    description: 'Resource, image, lifecycle, network and security mistakes, done right',
    schedule: null,
    tags: ['example', 'kubernetes'],
  },
  () => {
    // 76.7.1 Resources. Mistakes: no requests (the scheduler packs the node, the pod is evicted first —
    // BestEffort QoS), limits without requests (requests silently become the limits: 8Gi reserved for a
    // job that uses 1Gi), requests larger than any node (Pending forever: Capstan fails it after
    // scheduleTimeoutSeconds with the scheduler's "Insufficient memory"), no memory limit (one job takes
    // the node's memory and others are OOMKilled). Fix: measured requests, a memory limit with headroom.
    // A typo such as `memory: '1GG'` is refused when the manifest is built, naming the field.
    const rightSized = new KubernetesPodOperator({
      taskId: 'right_sized',
      kubernetesConnId: CONN,
      image: 'python:3.13-slim',
      cmds: ['python', '-c', 'print("measured: p95 700Mi, 0.6 core")'],
      containerResources: { requests: { cpu: '600m', memory: '768Mi' }, limits: { memory: '1Gi' } },
      scheduleTimeoutSeconds: 300,
    });

    // 76.7.2 Images. Mistakes: `:latest` (which code ran last Tuesday?), no pull policy with a mutable tag
    // (nodes keep stale copies), a private registry without pull secret (ErrImagePull "unauthorized" —
    // Capstan fails in seconds with that message), multi-GB images on cold nodes (startup timeouts).
    // Fix: an immutable tag or digest, IfNotPresent, a pull secret, slim images.
    const pinned = new KubernetesPodOperator({
      taskId: 'pinned_image',
      kubernetesConnId: CONN,
      image: 'registry.example.com/data/loader:2.1.4@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945',
      imagePullPolicy: 'IfNotPresent',
      imagePullSecrets: ['regcred'],
      cmds: ['/app/load', '--check'],
      startupTimeoutSeconds: 600, // a large image on a cold node may take minutes to pull
    });

    // 76.7.3 Lifecycle. Mistakes: reading the pod's phase as the task's state (a sidecar may keep the pod
    // Running after the work ended — Capstan judges by the `base` container), fire-and-forget pods (the
    // task always waits for the pod), ignoring SIGTERM (the program gets terminationGracePeriodSeconds to
    // stop cleanly when the task is killed, then SIGKILL), keeping every pod (they accumulate: prefer
    // delete_succeeded_pod, and `kubectl delete pods -l capstan.dev/dag-id=...` for the kept ones).
    const graceful = new KubernetesPodOperator({
      taskId: 'graceful',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'trap "echo flushing; exit 143" TERM; echo working; sleep 3 & wait'],
      terminationGracePeriodSeconds: 60,
      onFinishAction: 'delete_succeeded_pod',
    });

    // 76.7.4 Network. Mistakes: short names across namespaces (`warehouse` only resolves in the pod's own
    // namespace: use `warehouse.data.svc.cluster.local`), hostNetwork with the default dnsPolicy (cluster
    // names stop resolving: use ClusterFirstWithHostNet), a NetworkPolicy that denies egress (timeouts, not
    // errors: `kubectl get networkpolicy -n <ns>`). Fix: FQDNs, explicit DNS settings where needed.
    const network = new KubernetesPodOperator({
      taskId: 'network',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'nslookup warehouse.data.svc.cluster.local || true'],
      env: { WAREHOUSE_URL: 'postgres://warehouse.data.svc.cluster.local:5432/dwh' },
      dnsPolicy: 'ClusterFirst',
      dnsConfig: { options: [{ name: 'ndots', value: '2' }] }, // fewer search-domain lookups for FQDNs
      hostAliases: [{ ip: '10.0.0.15', hostnames: ['legacy-ftp.internal'] }],
    });

    // 76.7.5 Security. Mistakes: running as root in a namespace enforcing the `restricted` Pod Security
    // Standard (the API server refuses the pod; Capstan shows its message listing each violation), adding
    // capabilities the program does not need, writing to a read-only root filesystem. SELinux/AppArmor
    // labels come from the node's profiles: set `seLinuxOptions` / `appArmorProfile` only when the cluster
    // defines them. Fix: start from the restricted template and give writable paths as volumes.
    const compliant = new KubernetesPodOperator({
      taskId: 'compliant',
      kubernetesConnId: CONN,
      podTemplateFile: template('restricted-security.yaml'),
      image: 'registry.example.com/data/runtime:2026.11',
      cmds: ['sh', '-c', 'echo ok > /tmp/out && cat /tmp/out'],
      securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' }, appArmorProfile: { type: 'RuntimeDefault' } },
    });

    chain(rightSized, pinned, graceful, network, compliant);
  },
);
