/**
 * The DAG processor stores pod tasks' authoring warnings with the DAG: `capstan dags list-warnings` and `dags show`
 * print them, a fixed DAG loses them on its next parse, and `dagProcessor.warn…` settings turn each check off.
 */
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { forEachCliDialect } from '../cli/capstan.ts';

const dagFile = (podArgs: string) => `
import { dag, KubernetesPodOperator } from 'capstan';
export default dag({ dagId: 'pods', schedule: null }, () => {
  new KubernetesPodOperator({ taskId: 'careless', ${podArgs} });
  new KubernetesPodOperator({ taskId: 'careful', image: 'busybox:1.36', containerResources: { requests: { cpu: '100m', memory: '64Mi' } } });
});
`;

forEachCliDialect('DAG warnings', (t) => {
  void test('stored at parse time, listed and shown, gone once fixed, and configurable', async () => {
    const dags = join(t.home, 'dags');
    mkdirSync(dags, { recursive: true });
    const config = (extra: string) => writeFileSync(join(t.home, 'capstan.yaml'), `core:\n  loadExamples: false\nlogging:\n  level: warn\n${extra}`);
    config('');
    const file = join(dags, 'pods.ts');
    writeFileSync(file, dagFile("image: 'busybox'"));
    assert.equal((await t.run(['dag-processor', '--once'])).code, 0, 'warnings do not fail a parse');

    const list = async () => JSON.parse((await t.run(['-o', 'json', 'dags', 'list-warnings'])).stdout) as Array<{ dagId: string; taskId: string; code: string; message: string }>;
    assert.deepEqual((await list()).map((w) => [w.dagId, w.taskId, w.code]), [
      ['pods', 'careless', 'latest-image-without-pull-policy'],
      ['pods', 'careless', 'pod-without-resource-requests'],
    ]);
    const shown = await t.run(['dags', 'show', 'pods']);
    assert.match(shown.stdout, /warning \(latest-image-without-pull-policy, task careless\): image 'busybox' resolves to :latest/);
    assert.match((await t.run(['dags', 'list-warnings', '--dag-id', 'pods'])).stdout, /pod-without-resource-requests/);

    // Fixed in the file: the next parse stores the DAG without warnings.
    writeFileSync(file, dagFile("image: 'busybox:1.36', containerResources: { requests: { cpu: '50m' } }"));
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    await t.run(['dag-processor', '--once']);
    assert.deepEqual(await list(), []);

    // Checks switched off in config.
    writeFileSync(file, dagFile("image: 'busybox'"));
    utimesSync(file, new Date(), new Date(Date.now() + 10_000));
    config('dagProcessor:\n  warnLatestImage: false\n');
    await t.run(['dag-processor', '--once']);
    assert.deepEqual((await list()).map((w) => w.code), ['pod-without-resource-requests']);
  });
});
