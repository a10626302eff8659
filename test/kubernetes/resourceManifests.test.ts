// Generic resources, pure parts: manifests from multi-document YAML, JSON, objects and Lists, with errors that
// name the document and field; wait conditions judged on a snapshot.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';
import { checkWait, parseManifests } from '../../src/kubernetes/resources/index.ts';

void describe('parseManifests', () => {
  test('documents, JSON, objects and Lists', () => {
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n---\n---\napiVersion: v1\nkind: Secret\nmetadata: { name: b }\n';
    assert.deepEqual(parseManifests(yaml).map((m) => `${m.kind}/${m.metadata.name}`), ['ConfigMap/a', 'Secret/b']);
    assert.deepEqual(parseManifests('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"}}').map((m) => m.metadata.name), ['j']);
    const list = { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }] };
    assert.deepEqual(parseManifests([list]).map((m) => m.metadata.name), ['x']);
  });
  test('errors name the document and the field', () => {
    assert.throws(() => parseManifests('kind: ConfigMap\nmetadata: { name: a }\n'), /yamlConf\[0\]\.apiVersion: every manifest needs an apiVersion/);
    assert.throws(() => parseManifests([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'x-' } }]), /yamlConf\[0\]\.metadata\.name: every manifest needs a name/);
    assert.throws(() => parseManifests('a: [\n'), /yamlConf: document 1 is not YAML/);
    assert.throws(() => parseManifests(''), /yamlConf: no manifest found/);
  });
});

void describe('checkWait', () => {
  const obj = (status: Record<string, unknown>) => ({ object: { status } as KubernetesObject, deleted: false });
  test('condition, jsonPath, failure conditions, deletion', () => {
    assert.deepEqual(checkWait(obj({ conditions: [{ type: 'Available', status: 'True' }] }), { condition: 'Available' }), { kind: 'met' });
    assert.equal(checkWait(obj({ conditions: [{ type: 'Available', status: 'False' }] }), { condition: 'Available' }), undefined);
    assert.deepEqual(checkWait(obj({ phase: 'Bound' }), { jsonPath: { path: 'status.phase', value: 'Bound' } }), { kind: 'met' });
    assert.equal(checkWait(obj({ phase: 'Pending' }), { jsonPath: { path: 'status.phase', value: 'Bound' } }), undefined);
    assert.deepEqual(checkWait(obj({ conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'limit' }] }), { condition: 'Complete', failureConditions: ['Failed'] }),
      { kind: 'failed', message: 'condition Failed is True (BackoffLimitExceeded): limit' });
    assert.equal(checkWait({ object: undefined, deleted: true }, { condition: 'Ready' })?.kind, 'failed');
  });
});
