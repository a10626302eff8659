/**
 * Generic resource operators: create (or server-side apply) any manifest, wait for it to be ready, and
 * delete it at the end of the run — here a run-scoped ConfigMap and a scratch PersistentVolumeClaim that
 * must be Bound before the work starts.
 *
 * Then:
 *   capstan dags trigger resource_basics
 *   kubectl get configmaps,pvc -l app.kubernetes.io/part-of=resource_basics
 * See docs/kubernetes/resource-operators.md.
 */
import { dag, KubernetesCreateResourceOperator, KubernetesDeleteResourceOperator, KubernetesPodOperator } from 'capstan';

const CONN = 'kubernetes_default';

const RESOURCES = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings-{{ ds_nodash }}
  labels: { app.kubernetes.io/part-of: resource_basics }
data:
  day: "{{ ds }}"
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: scratch-{{ ds_nodash }}
  labels: { app.kubernetes.io/part-of: resource_basics }
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 1Gi } }
`;

export default dag(
  {
    dagId: 'resource_basics',
    description: 'Create, await and delete arbitrary Kubernetes objects around a pod task',
    schedule: null,
    tags: ['example', 'kubernetes'],
  },
  () => {
    const create = new KubernetesCreateResourceOperator({
      taskId: 'create',
      kubernetesConnId: CONN,
      yamlConf: RESOURCES,
      mode: 'apply',
      waitFor: { kinds: ['PersistentVolumeClaim'], jsonPath: { path: 'status.phase', value: 'Bound' } },
      waitTimeoutSeconds: 300,
    });
    const work = new KubernetesPodOperator({
      taskId: 'work',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo "day=$DAY" > /scratch/out.txt'],
      envFrom: [{ configMapRef: { name: 'settings-{{ ds_nodash }}' } }],
      volumes: [{ name: 'scratch', persistentVolumeClaim: { claimName: 'scratch-{{ ds_nodash }}' } }],
      volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
    });
    const cleanup = new KubernetesDeleteResourceOperator({
      taskId: 'cleanup',
      kubernetesConnId: CONN,
      yamlConf: RESOURCES,
      triggerRule: 'all_done',
    });
    create.before(work).before(cleanup);
  },
);
