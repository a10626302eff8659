/**
 * SparkKubernetesOperator: a SparkApplication for the kubeflow Spark operator, from a template in Airflow's
 * format (`spark:` = the SparkApplication, `kubernetes:` = pod settings for the driver and the executors).
 * Needs the Spark operator (and its CRD) in the cluster.
 *
 * Try (no cluster needed):
 *   capstan tasks render-pod spark_pi pi              # the exact SparkApplication, as YAML
 * Then:
 *   capstan dags trigger spark_pi
 *   kubectl get sparkapplications -l capstan.dev/dag-id=spark_pi -w
 *   kubectl logs -f -l spark-role=driver,capstan.dev/dag-id=spark_pi
 * See docs/kubernetes/spark-operator.md.
 */
import { dag, SparkKubernetesOperator } from 'capstan';

// `applicationFile` also takes a path (YAML or JSON); inline text is recognised by its newlines. The text is
// a template: `{{ ds }}` and friends are rendered before the application is built.
const PI_TEMPLATE = `
spark:
  apiVersion: sparkoperator.k8s.io/v1beta2
  kind: SparkApplication
  metadata:
    namespace: spark-jobs
  spec:
    type: Python
    pythonVersion: "3"
    mode: cluster
    sparkVersion: 3.5.3
    restartPolicy:
      type: Never
    arguments: ["1000"]
    driver:
      serviceAccount: spark
      container_resources:
        cpu: { request: 1, limit: 1200m }
        memory: { limit: 1400Mi }
    executor:
      instances: 2
      container_resources:
        cpu: { request: 1 }
        memory: { limit: 2Gi }
kubernetes:
  env_vars:
    - name: RUN_DATE
      value: "{{ ds }}"
  node_selector:
    pool: spark
  tolerations:
    - key: spark
      operator: Exists
      effect: NoSchedule
  from_env_config_map:
    - spark-defaults
`;

export default dag(
  {
    dagId: 'spark_pi',
    description: 'Pi on Spark through the Spark operator, with the driver log in the task log',
    schedule: null,
    tags: ['example', 'kubernetes', 'spark'],
  },
  () => {
    new SparkKubernetesOperator({
      taskId: 'pi',
      kubernetesConnId: 'kubernetes_default',
      applicationFile: PI_TEMPLATE,
      image: 'spark:3.5.3-python3',
      codePath: 'local:///opt/spark/examples/src/main/python/pi.py',
      startupTimeoutSeconds: 600,
      deleteOnTermination: true,
    });
  },
);
