/**
 * Pod templates and specifications (seed 76.2.1 – 76.2.5): a YAML template file with overrides, template
 * layering with fullPodSpec, a whole multi-container pod, every volume type, environment variables, service
 * accounts and security contexts.
 *
 * Precedence, lowest first: defaults < podTemplateFile or podTemplateDict < fullPodSpec < operator arguments.
 * Objects merge key by key, lists replace, `null` removes, and `false` / `0` / `[]` override (unlike Airflow).
 *
 * Try: capstan tasks render-pod k8s_templates_and_specs from_template
 * See docs/kubernetes/templates-and-specs.md.
 */
import { fileURLToPath } from 'node:url';
import { chain, dag, KubernetesPodOperator } from 'capstan';

const CONN = 'kubernetes_default';
/** Template files live next to this folder; a relative path would depend on the worker's cwd. */
const template = (file: string): string => fileURLToPath(new URL(`../${file}`, import.meta.url));

export default dag(
  {
    dagId: 'k8s_templates_and_specs',
    description: 'Pod template file, fullPodSpec, volumes, env, service accounts and security contexts',
    schedule: null,
    tags: ['example', 'kubernetes'],
  },
  () => {
    // 76.2.1 A team-wide template (service account, requests/limits, labels, TZ) and task-level overrides:
    // the image replaces the template's, the memory limit replaces only `limits.memory` (requests stay),
    // `team` is overridden, `cost-center` is removed, and the template's env list is replaced.
    const fromTemplate = new KubernetesPodOperator({
      taskId: 'from_template',
      kubernetesConnId: CONN,
      podTemplateFile: template('team-defaults.yaml'),
      image: 'registry.example.com/data/report:3.2',
      cmds: ['/app/report', '--daily'],
      containerResources: { limits: { memory: '1Gi' } },
      labels: { team: 'reporting', 'cost-center': null },
      env: { TZ: 'Europe/Paris', REPORT_FORMAT: 'pdf' },
    });

    // Template inheritance: the team template, then a "hardened" layer as fullPodSpec (it wins over the
    // template), then the task's own arguments (they win over both). `automountServiceAccountToken: true`
    // is an explicit override of the template's `false`; Airflow's merge would drop it as falsy.
    const layered = new KubernetesPodOperator({
      taskId: 'layered',
      kubernetesConnId: CONN,
      podTemplateFile: template('team-defaults.yaml'),
      fullPodSpec: {
        metadata: { labels: { hardened: 'true' } },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{ name: 'base', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
        },
      },
      image: 'registry.example.com/data/kubectl-job:1.0',
      cmds: ['sh', '-c', 'echo layered'],
      automountServiceAccountToken: true,
    });

    // A template given as an object (podTemplateDict), e.g. built in code or loaded from a shared module.
    const fromDict = new KubernetesPodOperator({
      taskId: 'from_dict',
      kubernetesConnId: CONN,
      podTemplateDict: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { labels: { source: 'dict' } },
        spec: { priorityClassName: 'batch-low', containers: [{ name: 'base', image: 'busybox:1.36' }] },
      },
      cmds: ['sh', '-c', 'echo from a dict template'],
    });

    // 76.2.2 A whole pod as fullPodSpec: an init container fills a shared emptyDir, the `base` container
    // (the task) reads it, a second container serves metrics next to it. Name the task container `base`.
    const fullSpec = new KubernetesPodOperator({
      taskId: 'full_pod_spec',
      kubernetesConnId: CONN,
      fullPodSpec: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { labels: { shape: 'multi-container' } },
        spec: {
          volumes: [{ name: 'work', emptyDir: {} }],
          initContainers: [
            { name: 'fetch', image: 'busybox:1.36', command: ['sh', '-c', 'echo "id,value" > /work/input.csv'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
          ],
          containers: [
            { name: 'base', image: 'busybox:1.36', command: ['sh', '-c', 'wc -l /work/input.csv'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
            { name: 'metrics', image: 'prom/statsd-exporter:v0.28.0', ports: [{ name: 'metrics', containerPort: 9102 }] },
          ],
        },
      },
    });

    // 76.2.3 Volumes: a ConfigMap and a Secret as files, a PVC, scratch space (emptyDir, optionally in
    // memory), a node path (hostPath: needs a privileged-enough namespace), and a projected volume combining
    // a ConfigMap, a Secret, downward-API fields and a short-lived audience-bound token.
    const volumes = new KubernetesPodOperator({
      taskId: 'volumes',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'ls -R /etc/app /etc/tls /data /scratch /var/log/node /etc/bundle'],
      volumes: [
        { name: 'app-config', configMap: { name: 'app-config', items: [{ key: 'settings.yaml', path: 'settings.yaml' }] } },
        { name: 'tls', secret: { secretName: 'app-tls', defaultMode: 0o400 } },
        { name: 'data', persistentVolumeClaim: { claimName: 'etl-data' } },
        { name: 'scratch', emptyDir: { sizeLimit: '2Gi' } },
        { name: 'node-logs', hostPath: { path: '/var/log', type: 'Directory' } },
        {
          name: 'bundle',
          projected: {
            sources: [
              { configMap: { name: 'app-config' } },
              { secret: { name: 'api-keys' } },
              { downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
              { serviceAccountToken: { audience: 'vault', expirationSeconds: 3600, path: 'vault-token' } },
            ],
          },
        },
      ],
      volumeMounts: [
        { name: 'app-config', mountPath: '/etc/app', readOnly: true },
        { name: 'tls', mountPath: '/etc/tls', readOnly: true },
        { name: 'data', mountPath: '/data' },
        { name: 'scratch', mountPath: '/scratch' },
        { name: 'node-logs', mountPath: '/var/log/node', readOnly: true },
        { name: 'bundle', mountPath: '/etc/bundle', readOnly: true },
      ],
    });

    // 76.2.4 Environment: a list of V1EnvVar (values, or valueFrom a Secret / ConfigMap key), envFrom for
    // every key of a ConfigMap or Secret, downward-API fields, and a Capstan variable rendered at run time
    // (`env` is a templated field; `{{ var.value.get(...) }}` reads a Capstan variable).
    const environment = new KubernetesPodOperator({
      taskId: 'environment',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'env | sort'],
      env: [
        { name: 'MODE', value: "{{ var.value.get('etl_mode', 'incremental') }}" },
        { name: 'RUN_ID', value: '{{ run_id }}' },
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-credentials', key: 'password' } } },
        { name: 'LOG_LEVEL', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'log_level', optional: true } } },
      ],
      envFrom: [{ configMapRef: { name: 'feature-flags' } }, { secretRef: { name: 'api-keys' }, prefix: 'API_' }],
      downwardApiEnv: {
        POD_NAME: 'metadata.name',
        POD_NAMESPACE: 'metadata.namespace',
        NODE_NAME: 'spec.nodeName',
        MEMORY_LIMIT_MI: { resource: 'limits.memory', divisor: '1Mi' },
      },
      containerResources: { limits: { memory: '256Mi' } },
    });

    // 76.2.5 Service account and security: a dedicated service account (its RBAC is what the task's code
    // may do in the cluster), no token mounted unless needed, non-root, no privilege escalation, every
    // capability dropped except the one the program needs, RuntimeDefault seccomp.
    const secured = new KubernetesPodOperator({
      taskId: 'secured',
      kubernetesConnId: CONN,
      image: 'registry.example.com/data/runtime:2026.11',
      cmds: ['sh', '-c', 'id && echo secured'],
      serviceAccountName: 'etl-runner',
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      containerSecurityContext: {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
      },
    });
    // Or start from the `restricted` Pod Security Standard template and only name the image.
    const restricted = new KubernetesPodOperator({
      taskId: 'restricted',
      kubernetesConnId: CONN,
      podTemplateFile: template('restricted-security.yaml'),
      cmds: ['sh', '-c', 'touch /tmp/ok && echo restricted'],
    });

    chain(fromTemplate, [layered, fromDict, fullSpec], volumes, environment, [secured, restricted]);
  },
);
