// The pods pinned by golden files (test/kubernetes/golden/<name>.yaml): one per parameter group, plus template
// precedence and the explicit-empty override. test/kubernetes/cluster/client.test.ts sends each to a real API server
// (server-side dry run) to prove the manifests are valid Kubernetes.
import { join } from 'node:path';
import type { BuildPodContext, PodOptions } from '../../src/kubernetes/index.ts';
import { Secret } from '../../src/kubernetes/index.ts';

export const TEMPLATE_FILE = join(import.meta.dirname, 'fixtures', 'pod-template.yaml');
/** The pod templates shipped in examples/kubernetes (documented in docs/kubernetes-pod-operator.md). */
export const exampleTemplate = (name: string): string => join(import.meta.dirname, '..', '..', 'examples', 'kubernetes', `${name}.yaml`);
/** Objects the golden pods refer to that admission checks: created by the dry-run test. */
export const GOLDEN_SERVICE_ACCOUNT = 'capstan-task';
export const GOLDEN_PRIORITY_CLASS = 'capstan-test-batch';

export interface GoldenCase {
  name: string;
  options: PodOptions;
  context?: Partial<BuildPodContext>;
}

export const identity = { dagId: 'etl', taskId: 'load', runId: 'manual__2026-11-23', tryNumber: 1 };

export const goldenCases: GoldenCase[] = [
  { name: 'minimal', options: { image: 'busybox:1.37' } },
  {
    name: 'container',
    options: {
      image: 'python:3.13-slim',
      imagePullPolicy: 'Always',
      cmds: ['python', '-c'],
      arguments: ['import sys; print(sys.argv)', '--date', '2026-11-23'],
      ports: [{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }],
      workingDir: '/work',
      terminationMessagePolicy: 'FallbackToLogsOnError',
    },
  },
  {
    name: 'env-list',
    options: {
      image: 'busybox:1.37',
      env: [
        { name: 'MODE', value: 'full' },
        { name: 'DB_HOST', valueFrom: { configMapKeyRef: { name: 'db-config', key: 'host' } } },
      ],
      envFrom: [{ configMapRef: { name: 'common-env' } }, { prefix: 'APP_', secretRef: { name: 'app-env', optional: true } }],
      configmaps: ['feature-flags'],
      downwardApiEnv: {
        POD_NAME: 'metadata.name',
        POD_NAMESPACE: 'metadata.namespace',
        NODE_NAME: 'spec.nodeName',
        MEMORY_LIMIT: { resource: 'limits.memory', divisor: '1Mi' },
      },
      containerResources: { limits: { memory: '256Mi' } },
    },
  },
  { name: 'env-record', options: { image: 'busybox:1.37', env: { B: '2', A: '1', EMPTY: '' } } },
  {
    name: 'secrets',
    options: {
      image: 'busybox:1.37',
      secrets: [
        Secret.env('DB_PASSWORD', 'db-credentials', 'password'),
        Secret.allKeys('api-keys', { prefix: 'API_' }),
        Secret.volume('/etc/tls', 'tls-cert', { items: [{ key: 'tls.crt', path: 'cert.pem' }], defaultMode: 0o400 }),
        Secret.volume('/etc/gcp/key.json', 'gcp-sa', { subPath: 'key.json', optional: true }),
      ],
    },
  },
  {
    name: 'volumes',
    options: {
      image: 'busybox:1.37',
      volumes: [
        { name: 'config', configMap: { name: 'etl-config', items: [{ key: 'settings.yaml', path: 'settings.yaml' }] } },
        { name: 'creds', secret: { secretName: 'etl-creds' } },
        { name: 'data', persistentVolumeClaim: { claimName: 'etl-data' } },
        { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '512Mi' } },
        { name: 'host-logs', hostPath: { path: '/var/log', type: 'Directory' } },
        {
          name: 'bundle',
          projected: {
            sources: [
              { configMap: { name: 'etl-config' } },
              { secret: { name: 'etl-creds' } },
              { downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
              { serviceAccountToken: { path: 'token', audience: 'vault', expirationSeconds: 3600 } },
            ],
          },
        },
      ],
      volumeMounts: [
        { name: 'config', mountPath: '/etc/etl', readOnly: true },
        { name: 'creds', mountPath: '/etc/creds', readOnly: true },
        { name: 'data', mountPath: '/data' },
        { name: 'scratch', mountPath: '/tmp/scratch' },
        { name: 'host-logs', mountPath: '/host/logs', readOnly: true },
        { name: 'bundle', mountPath: '/etc/bundle', readOnly: true },
      ],
    },
  },
  {
    name: 'resources',
    options: {
      image: 'nvcr.io/nvidia/pytorch:24.10-py3',
      containerResources: {
        requests: { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '1Gi' },
        limits: { cpu: 2, memory: '1Gi', 'nvidia.com/gpu': 1, 'example.com/fpga': '2' },
      },
    },
  },
  {
    name: 'security',
    options: {
      image: 'busybox:1.37',
      serviceAccountName: 'capstan-task',
      automountServiceAccountToken: false,
      imagePullSecrets: ['quay-creds', { name: 'ecr-creds' }],
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
      containerSecurityContext: {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
      },
    },
  },
  {
    name: 'scheduling',
    options: {
      image: 'busybox:1.37',
      nodeSelector: { 'kubernetes.io/os': 'linux', pool: 'batch' },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['m7i.2xlarge', 'm7i.4xlarge'] }] }],
          },
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 50, preference: { matchExpressions: [{ key: 'lifecycle', operator: 'In', values: ['spot'] }] } },
          ],
        },
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 10, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'cache' } } } },
          ],
        },
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'capstan.dev/task-id': 'load' } } },
          ],
        },
      },
      tolerations: [
        { key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 },
      ],
      priorityClassName: 'capstan-test-batch',
      schedulerName: 'default-scheduler',
    },
  },
  {
    name: 'network',
    options: {
      image: 'busybox:1.37',
      hostNetwork: false,
      dnsPolicy: 'None',
      dnsConfig: { nameservers: ['10.0.0.10'], searches: ['svc.cluster.local'], options: [{ name: 'ndots', value: '2' }] },
      hostname: 'worker-1',
      subdomain: 'etl-workers',
      hostAliases: [{ ip: '10.1.2.3', hostnames: ['warehouse.internal', 'dw'] }],
    },
  },
  {
    name: 'lifecycle',
    options: {
      image: 'busybox:1.37',
      activeDeadlineSeconds: 3600,
      terminationGracePeriodSeconds: 45,
      volumes: [{ name: 'deps', emptyDir: {} }],
      volumeMounts: [{ name: 'deps', mountPath: '/deps' }],
      initContainers: [
        { name: 'fetch-deps', image: 'curlimages/curl:8.11.0', command: ['sh', '-c', 'curl -fsSL https://example.com/deps.tgz -o /deps/deps.tgz'], volumeMounts: [{ name: 'deps', mountPath: '/deps' }] },
        { name: 'wait-db', image: 'busybox:1.37', command: ['sh', '-c', 'until nc -z db 5432; do sleep 1; done'] },
      ],
      containers: [
        { name: 'proxy', image: 'envoyproxy/envoy:v1.32-latest', ports: [{ containerPort: 15001 }] },
        { name: 'log-tail', image: 'busybox:1.37', command: ['tail', '-F', '/deps/log'], volumeMounts: [{ name: 'deps', mountPath: '/deps', readOnly: true }] },
      ],
    },
  },
  {
    name: 'metadata',
    options: {
      image: 'busybox:1.37',
      name: 'Nightly_Load.Customers',
      randomNameSuffix: false,
      namespace: 'etl-prod',
      labels: { team: 'data', 'app.kubernetes.io/part-of': 'warehouse' },
      annotations: { 'example.com/ticket': 'DATA-1234: rebuild customers (ünïcode ok in annotations)' },
    },
  },
  {
    name: 'template-precedence',
    options: {
      podTemplateFile: TEMPLATE_FILE,
      fullPodSpec: {
        metadata: { labels: { tier: 'critical' } },
        spec: {
          nodeSelector: { zone: 'a' },
          containers: [{ name: 'base', image: 'registry.example.com/etl/full-spec:2.0', args: ['from-full-spec'] }],
        },
      },
      image: 'registry.example.com/etl/load:3.1',
      cmds: ['load'],
      containerResources: { limits: { memory: '1Gi' } },
      labels: { owner: 'ana' },
    },
  },
  {
    name: 'explicit-empty-override',
    options: {
      podTemplateFile: TEMPLATE_FILE,
      hostNetwork: false,
      automountServiceAccountToken: false,
      activeDeadlineSeconds: null,
      tolerations: [],
      nodeSelector: null,
      labels: { tier: null },
      securityContext: { runAsUser: 0, runAsNonRoot: false },
      containers: [],
      env: [],
      containerResources: { requests: { memory: null } },
    },
  },
  {
    name: 'template-dict',
    options: {
      podTemplateDict: {
        metadata: { annotations: { 'sidecar.istio.io/inject': 'false' } },
        spec: { containers: [{ name: 'base', image: 'busybox:1.37', command: ['sh', '-c', 'echo from dict'] }], dnsPolicy: 'ClusterFirst' },
      },
      arguments: ['ignored-by-sh'],
    },
  },
  {
    name: 'mapped-long-ids',
    options: { image: 'busybox:1.37' },
    context: {
      identity: {
        dagId: 'Données_Clients.Quotidien—export vers l\'entrepôt de données central (production)',
        taskId: 'Transform_Customer_Records_With_A_Very_Long_Task_Identifier_That_Exceeds_Limits',
        runId: 'scheduled__2026-11-23T00:00:00+00:00',
        tryNumber: 3,
        mapIndex: 17,
      },
    },
  },
  { name: 'example-team-defaults', options: { podTemplateFile: exampleTemplate('team-defaults'), cmds: ['run-etl'], containerResources: { limits: { memory: '1Gi' } } } },
  { name: 'example-gpu-training', options: { podTemplateFile: exampleTemplate('gpu-training'), arguments: ['train.py', '--epochs', '3'] } },
  { name: 'example-spot-tolerant', options: { podTemplateFile: exampleTemplate('spot-tolerant'), cmds: ['python', '-m', 'etl.resume_from_checkpoint'] } },
  { name: 'example-restricted-security', options: { podTemplateFile: exampleTemplate('restricted-security'), cmds: ['run-etl'] } },
];
