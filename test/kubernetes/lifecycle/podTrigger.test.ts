// KubernetesPodTrigger without a cluster: found by its stable built-in classpath, rebuilt from its stored
// kwargs unchanged, and bad kwargs refused with the field named.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinTriggerNames, loadTrigger } from '../../../src/triggerer/providerTriggers.ts';
import { KubernetesPodTrigger } from '../../../src/kubernetes/lifecycle/podTrigger.ts';
import { InvalidArgument } from '../../../src/core/errors.ts';

const kwargs = {
  kubernetesConnId: 'k8s_prod', namespace: 'etl', name: 'train-abc12345', uid: '6f1c0c1e-0000-4000-8000-000000000001',
  scheduleTimeoutSeconds: 300, startupTimeoutSeconds: 120, deleteGracePeriodSeconds: 10, watchTimeoutSeconds: 300, tryKey: 'd/r/t try 1',
};

void describe('KubernetesPodTrigger', () => {
  void test('is a built-in trigger loaded by capstan.KubernetesPodTrigger and serializes back to the same kwargs', async () => {
    assert.ok(builtinTriggerNames().includes('KubernetesPodTrigger'));
    const trigger = await loadTrigger({ classpath: 'capstan.KubernetesPodTrigger', kwargs });
    assert.ok(trigger instanceof KubernetesPodTrigger);
    assert.deepEqual(trigger.serialize(), { classpath: 'capstan.KubernetesPodTrigger', kwargs });
  });

  void test('defaults: default cluster (null connection), the pod\'s own grace period, a 300 s watch', () => {
    const { kubernetesConnId: _c, deleteGracePeriodSeconds: _g, watchTimeoutSeconds: _w, ...rest } = kwargs;
    const t = new KubernetesPodTrigger(rest);
    assert.equal(t.kwargs.kubernetesConnId, null);
    assert.equal(t.kwargs.deleteGracePeriodSeconds, null);
    assert.equal(t.kwargs.watchTimeoutSeconds, 300);
  });

  void test('bad kwargs are refused naming the field', () => {
    assert.throws(() => new KubernetesPodTrigger({ ...kwargs, name: '' }), (e: unknown) => e instanceof InvalidArgument && /kwargs\.name/.test(e.message));
    assert.throws(() => new KubernetesPodTrigger({ ...kwargs, startupTimeoutSeconds: -1 }), /kwargs\.startupTimeoutSeconds/);
    assert.throws(() => new KubernetesPodTrigger({ ...kwargs, kubernetesConnId: 3 }), /kwargs\.kubernetesConnId/);
  });
});
