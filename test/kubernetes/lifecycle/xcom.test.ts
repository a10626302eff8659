// The XCom sidecar: injection into a pod (pure), the shell program's text, and parsing its output.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { parseXcomOutput, withXcomSidecar, XCOM_MARKER, XCOM_SIDECAR_SCRIPT } from '../../../src/kubernetes/lifecycle/xcom.ts';

const pod: V1Pod = {
  metadata: { name: 'p' },
  spec: {
    initContainers: [{ name: 'fetch', image: 'busybox' }],
    containers: [{ name: 'base', image: 'app', volumeMounts: [{ name: 'data', mountPath: '/data' }] }, { name: 'other', image: 'x' }],
    volumes: [{ name: 'data', emptyDir: {} }],
  },
};

void describe('withXcomSidecar', () => {
  test('adds the volume, the base mount and a native sidecar after the init containers, without touching the input', () => {
    const before = JSON.stringify(pod);
    const out = withXcomSidecar(pod, { image: 'alpine:3.22', maxBytes: 100, resources: { requests: { cpu: '5m' } } });
    assert.equal(JSON.stringify(pod), before);
    assert.deepEqual(out.spec?.volumes?.map((v) => v.name), ['data', 'capstan-xcom']);
    assert.deepEqual(out.spec?.containers[0]?.volumeMounts, [{ name: 'data', mountPath: '/data' }, { name: 'capstan-xcom', mountPath: '/airflow/xcom' }]);
    assert.equal(out.spec?.containers[1]?.volumeMounts, undefined);
    const sidecar = out.spec?.initContainers?.[1];
    assert.equal(out.spec?.initContainers?.[0]?.name, 'fetch');
    assert.equal(sidecar?.name, 'capstan-xcom');
    assert.equal(sidecar?.restartPolicy, 'Always');
    assert.equal(sidecar?.image, 'alpine:3.22');
    assert.deepEqual(sidecar?.resources, { requests: { cpu: '5m' } });
    assert.equal(sidecar?.securityContext?.runAsNonRoot, true, 'restricted-compliant by default');
    assert.equal(sidecar?.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(sidecar?.command?.slice(0, 2), ['sh', '-c']);
    assert.equal(sidecar?.command?.at(-1), '100');
    assert.deepEqual(withXcomSidecar(out), out, 'idempotent');
    assert.throws(() => withXcomSidecar({ spec: { containers: [{ name: 'main' }] } }), /no container named "base"/);
  });

  test('the sidecar program waits for TERM or the .done marker and prints one delimited result', () => {
    // Containers do not run in the test cluster: this pins the program's text (xcomScript.test.ts runs it under sh).
    assert.match(XCOM_SIDECAR_SCRIPT, /trap emit TERM INT/);
    assert.match(XCOM_SIDECAR_SCRIPT, /while \[ ! -e \/airflow\/xcom\/\.done \]; do sleep 1 & wait \$!; done/);
    assert.match(XCOM_SIDECAR_SCRIPT, /f=\/airflow\/xcom\/return\.json/);
    for (const verb of ['missing', 'empty', 'too-large $n', 'begin $n', 'end']) {
      assert.ok(XCOM_SIDECAR_SCRIPT.includes(`echo "$m ${verb}"`), verb);
    }
    assert.match(XCOM_SIDECAR_SCRIPT, /if \[ "\$n" -gt "\$max" \]/);
  });
});

void describe('parseXcomOutput', () => {
  const m = XCOM_MARKER;
  test('JSON between the delimiters is the value; multi-line JSON works', () => {
    assert.deepEqual(parseXcomOutput(`${m} begin 20\n{"a": [1,\n 2]}\n\n${m} end\n`), { kind: 'value', value: { a: [1, 2] } });
    assert.deepEqual(parseXcomOutput(`${m} begin 7\n"hello"\n${m} end\n`), { kind: 'value', value: 'hello' });
  });
  test('empty file → null; whitespace-only → null', () => {
    assert.deepEqual(parseXcomOutput(`${m} empty\n`), { kind: 'value', value: null });
    assert.deepEqual(parseXcomOutput(`${m} begin 2\n \n\n${m} end\n`), { kind: 'value', value: null });
  });
  test('invalid JSON, missing file, too large, truncated and silent sidecars are clear errors', () => {
    const invalid = parseXcomOutput(`${m} begin 6\nhello\n${m} end\n`);
    assert.ok(invalid.kind === 'error' && /not valid JSON/.test(invalid.message) && /hello/.test(invalid.message));
    const missing = parseXcomOutput(`${m} missing\n`);
    assert.ok(missing.kind === 'error' && /wrote no \/airflow\/xcom\/return.json/.test(missing.message));
    const large = parseXcomOutput(`${m} too-large 5000\n`, 100);
    assert.ok(large.kind === 'error' && /5000 bytes, more than the 100-byte/.test(large.message));
    const big = parseXcomOutput(`${m} begin 300\n"${'x'.repeat(300)}"\n${m} end\n`, 100);
    assert.ok(big.kind === 'error' && /larger than the 100-byte/.test(big.message));
    assert.equal(parseXcomOutput(`${m} begin 6\n{"a":`).kind, 'error');
    const none = parseXcomOutput('');
    assert.ok(none.kind === 'error' && /printed no result/.test(none.message));
  });
});
