// doXcomPush needs native sidecars (Kubernetes ≥ 1.29): the pure decision on a served /version, and the per-client
// cache of the version read (one request per client set). test/kubernetes/cluster/lifecycle.test.ts reads the real server's.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { VersionInfo } from '@kubernetes/client-node';
import { TaskFailFast } from '../../../src/core/errors.ts';
import type { KubeClients } from '../../../src/kubernetes/client/clients.ts';
import { nativeSidecarProblem, parseServerVersion, requireNativeSidecars, serverVersion } from '../../../src/kubernetes/lifecycle/serverVersion.ts';

const served = (major: string, minor: string, gitVersion: string) => ({ major, minor, gitVersion });

void describe('native sidecar support', () => {
  test('versions as servers report them: plain, "+"-suffixed minors (EKS, GKE), gitVersion when major/minor are empty', () => {
    assert.deepEqual(parseServerVersion(served('1', '37', 'v1.37.0')), { major: 1, minor: 37, gitVersion: 'v1.37.0' });
    assert.deepEqual(parseServerVersion(served('1', '29+', 'v1.29.3-eks-adc7111')), { major: 1, minor: 29, gitVersion: 'v1.29.3-eks-adc7111' });
    assert.deepEqual(parseServerVersion(served('', '', 'v1.28.4+k3s1')), { major: 1, minor: 28, gitVersion: 'v1.28.4+k3s1' });
    assert.equal(parseServerVersion(served('', '', 'unknown')), undefined);
  });

  test('1.29 and later have native sidecars; 1.28 and older get a message naming the version and what to do', () => {
    for (const [major, minor] of [['1', '29'], ['1', '30'], ['1', '37'], ['2', '0']] as const) {
      assert.equal(nativeSidecarProblem(parseServerVersion(served(major, minor, `v${major}.${minor}.0`))), undefined, `${major}.${minor}`);
    }
    const old = nativeSidecarProblem(parseServerVersion(served('1', '28', 'v1.28.9')));
    assert.match(old ?? '', /doXcomPush needs native sidecars \(Kubernetes ≥ 1\.29\); this cluster runs v1\.28\.9/);
    assert.match(old ?? '', /upgrade the cluster|doXcomPush: false/);
    assert.ok(nativeSidecarProblem(parseServerVersion(served('1', '27+', 'v1.27.1-gke.1'))) !== undefined);
    assert.equal(nativeSidecarProblem(undefined), undefined, 'a version that cannot be read as numbers is not refused');
  });

  test('the version is read once per client set; an old one fails the task fast with the message', async () => {
    let calls = 0;
    const clientsOf = (info: VersionInfo | Pick<VersionInfo, 'major' | 'minor' | 'gitVersion'>) =>
      ({ version: { getCode: async () => { calls++; return info; } } }) as unknown as KubeClients;
    const current = clientsOf(served('1', '31', 'v1.31.2'));
    await requireNativeSidecars(current);
    await requireNativeSidecars(current);
    assert.deepEqual(await serverVersion(current), { major: 1, minor: 31, gitVersion: 'v1.31.2' });
    assert.equal(calls, 1, 'cached per client set');
    const old = clientsOf(served('1', '28', 'v1.28.9'));
    await assert.rejects(requireNativeSidecars(old), (err: unknown) => err instanceof TaskFailFast && /v1\.28\.9/.test(err.message));
    assert.equal(calls, 2, 'another client set reads its own server');
    let failures = 0;
    const flaky = { version: { getCode: async () => { failures++; throw new Error('connection refused'); } } } as unknown as KubeClients;
    await assert.rejects(requireNativeSidecars(flaky), /cannot read the Kubernetes server version.*connection refused/);
    await assert.rejects(requireNativeSidecars(flaky), /connection refused/);
    assert.equal(failures, 2, 'a failed read is not cached');
  });
});
