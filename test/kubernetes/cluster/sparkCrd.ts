// The SparkApplication CustomResourceDefinition for tests: no Spark operator runs on the test control plane,
// so tests install its CRD (with the status subresource) and drive the applications' status themselves.
import { ApiextensionsV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { SPARK_APPLICATION } from '../../../src/kubernetes/spark/index.ts';
import { waitFor } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';

const { group, version, plural } = SPARK_APPLICATION;

/** Installs the SparkApplication CRD (with the status subresource) once per cluster; other files may share it. */
export async function installSparkCrd(cluster: TestCluster): Promise<void> {
  const apiext = cluster.kubeConfig.makeApiClient(ApiextensionsV1Api);
  try {
    await apiext.createCustomResourceDefinition({ body: {
      // *.k8s.io groups are protected; the Spark operator's own CRD carries this annotation too.
      metadata: { name: `${plural}.${group}`, annotations: { 'api-approved.kubernetes.io': 'https://github.com/kubeflow/spark-operator/pull/1298' } },
      spec: {
        group, scope: 'Namespaced',
        names: { kind: 'SparkApplication', plural, singular: 'sparkapplication', shortNames: ['sparkapp'] },
        versions: [{ name: version, served: true, storage: true, subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } }],
      },
    } });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
  }
  const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
  await waitFor('SparkApplication served', async () => {
    try {
      await custom.listClusterCustomObject({ group, version, plural });
      return true;
    } catch {
      return undefined;
    }
  }, 15_000, 100);
}

