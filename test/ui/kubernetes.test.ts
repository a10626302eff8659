/**
 * The task instance's Kubernetes tab in Chromium against the real test control plane: KubernetesPodOperator
 * tasks run by the real scheduler keep their pods; the tab shows each try's pod (namespace, node, phase),
 * its container with exit code 0 or OOMKilled/137, the pod's events and its container log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Browser } from 'playwright-core';
import { createFernet } from '../../src/crypto/index.ts';
import { ConnectionStore } from '../../src/store/connections.ts';
import { binariesAvailable, connectTestCluster, podAnnotations, type TestCluster } from '../support/k8s/index.ts';
import { CHROMIUM_MISSING, chromiumPath, collectPageProblems, launchChromium, screenshot, seriousA11yViolations } from './support/browser.ts';
import { newPage, signIn, startUiServer, type UiTestServer } from './support/uiServer.ts';

const available = await binariesAvailable();

function dagSource(annotations: Record<string, Record<string, string>>): string {
  return `
import { dag, KubernetesPodOperator } from 'capstan';
const a = ${JSON.stringify(annotations)};
export default dag({ dagId: 'ui_kpo', schedule: null }, () => {
  new KubernetesPodOperator({ taskId: 'ok', image: 'busybox:1.36', kubernetesConnId: 'k8s_test', onFinishAction: 'keep_pod', annotations: a.ok });
  new KubernetesPodOperator({ taskId: 'oom', image: 'busybox:1.36', kubernetesConnId: 'k8s_test', onFinishAction: 'keep_pod', retries: 0, annotations: a.oom });
});
`;
}

describe('web UI: the Kubernetes tab on a real control plane', { skip: !chromiumPath ? CHROMIUM_MISSING : !available ? 'Kubernetes test binaries not built (scripts/k8s-testcluster.sh)' : false }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;
  let s: UiTestServer;
  let browser: Browser;

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cluster.createNamespace('uikpo');
    [s, browser] = await Promise.all([
      startUiServer({
        triggerer: false,
        env: { CAPSTAN__KUBERNETES_EXECUTOR__KUBERNETES_CONN_ID: 'k8s_test', CAPSTAN__KUBERNETES_EXECUTOR__NAMESPACE: namespace },
        dags: {
          'ui_kpo.ts': dagSource({
            ok: podAnnotations({ outcome: 'succeed', runMs: 200, logs: { base: 'hello\nfrom the pod\n' } }),
            oom: podAnnotations({ outcome: 'oom', runMs: 100, logs: { base: 'allocating\n' } }),
          }),
        },
      }),
      launchChromium(),
    ]);
    const fernet = createFernet(s.t.engine.config.core.fernetKey);
    await new ConnectionStore(s.t.engine.db, { fernet }).add({
      connId: 'k8s_test', connType: 'kubernetes', description: 'test control plane', host: null, schema: null, login: null, password: null, port: null,
      extra: { kubeconfigPath: cluster.kubeconfigPath, namespace },
    });
    await s.t.trigger('ui_kpo', { runId: 'r1' });
    await s.t.waitForRun('ui_kpo', 'r1', { timeoutMs: 120_000 });
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  test('pod, containers with exit code and OOMKilled, events and the container log', { timeout: 120_000 }, async () => {
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url, undefined, undefined, '/dags/ui_kpo/runs/r1/tasks/ok?tab=k8s');
    const pod = page.getByRole('region', { name: 'Pod', exact: true });
    await pod.getByText('Succeeded').waitFor();
    assert.match((await pod.textContent()) ?? '', new RegExp(`Namespace${namespace}`));
    assert.match((await pod.textContent()) ?? '', /pod-operator/);
    const base = page.locator('tr[data-container="base"]');
    await base.waitFor();
    assert.match((await base.textContent()) ?? '', /baseterminated.*0/);
    const log = page.getByRole('log', { name: /^Log of container base of / });
    await log.getByText(/hello\s+from the pod/).waitFor();
    await page.getByRole('status').filter({ hasText: /^complete/ }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], 'kubernetes tab');
    await screenshot(page, 'ti-kubernetes');

    await page.goto(`${s.url}/dags/ui_kpo/runs/r1/tasks/oom?tab=k8s`);
    const killed = page.locator('tr[data-container="base"]');
    await killed.getByText('OOMKilled').waitFor();
    assert.match((await killed.textContent()) ?? '', /137/);
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], 'kubernetes tab, OOM');
    await screenshot(page, 'ti-kubernetes-oom');
    assert.deepEqual(problems, []);
    await context.close();
  });
});
