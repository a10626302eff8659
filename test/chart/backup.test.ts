// The chart's optional PostgreSQL backup CronJob: rendered only when asked, with its claim, the database URL from
// the components' Secret and a place among the pods PostgreSQL's NetworkPolicy admits; and its script, taken from
// the rendered manifest, run for real with Debian's pg_dump against the test PostgreSQL: each run leaves a complete
// custom-format dump that pg_restore reads, keeps the newest `keep`, and a failed dump leaves the earlier ones and
// no partial file.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import { at, find, helm, HELM_MISSING, ofKind, render, renderError } from './helm.ts';
import type { Container, K8sObject } from './helm.ts';
import { createTestDatabase, postgresBinDir, stopPostgres } from '../support/postgres.ts';

const skip = !helm && HELM_MISSING;

interface BackupPod {
  containers: Container[];
  volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }>;
  automountServiceAccountToken?: boolean;
  restartPolicy: string;
}

const podOf = (cron: K8sObject): BackupPod => at(cron, 'spec.jobTemplate.spec.template.spec') as BackupPod;

void describe('chart: PostgreSQL backup', { skip }, () => {
  after(() => stopPostgres());

  void test('a pg_dump CronJob only when asked: its claim kept on uninstall, the database URL from the Secret, admitted by the PostgreSQL NetworkPolicy', () => {
    assert.deepEqual(ofKind(render(), 'CronJob'), []);
    const objects = render({ values: { backup: { enabled: true, keep: 3 }, networkPolicies: { enabled: true } } });
    const cron = find(objects, 'CronJob', 'rel-capstan-backup');
    assert.equal(at(cron, 'spec.schedule'), '30 2 * * *');
    assert.equal(at(cron, 'spec.concurrencyPolicy'), 'Forbid');
    const pod = podOf(cron);
    assert.equal(pod.restartPolicy, 'Never');
    assert.equal(pod.automountServiceAccountToken, false);
    const c = pod.containers[0] as Container & { env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }> };
    assert.equal(c.image, 'postgres:17-alpine');
    assert.deepEqual(c.env.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef, { name: 'rel-capstan-database', key: 'url' });
    assert.equal(c.env.find((e) => e.name === 'KEEP')?.value, '3');
    assert.equal(pod.volumes[0]?.persistentVolumeClaim?.claimName, 'rel-capstan-backup');
    const claim = find(objects, 'PersistentVolumeClaim', 'rel-capstan-backup');
    assert.equal(claim.metadata.annotations?.['helm.sh/resource-policy'], 'keep');

    const policy = find(objects, 'NetworkPolicy', 'rel-capstan-postgresql');
    const admitted = JSON.stringify(at(policy, 'spec.ingress'));
    assert.match(admitted, /"backup"/);
    assert.match(admitted, /"cleanup"/, 'the db clean CronJob reaches PostgreSQL too');

    // An external database's Secret, an existing claim of yours: no claim made.
    const external = render({ values: { backup: { enabled: true, persistence: { existingClaim: 'mine' } }, postgresql: { enabled: false }, database: { existingSecret: 'ext', existingSecretKey: 'dsn' } } });
    const ep = podOf(find(external, 'CronJob', 'rel-capstan-backup'));
    assert.equal(ep.volumes[0]?.persistentVolumeClaim?.claimName, 'mine');
    assert.deepEqual(ofKind(external, 'PersistentVolumeClaim').filter((o) => o.metadata.name === 'rel-capstan-backup'), []);
    assert.match(JSON.stringify(ep.containers[0]), /"name":"ext","key":"dsn"/);

    assert.match(renderError({ values: { backup: { enabled: true, keep: 0 } } }), /keep/);
    assert.match(renderError({ values: { backup: { enabled: true, extra: 1 } } }), /extra/);
  });

  void test('its script, run with pg_dump: complete dumps pg_restore reads, the newest `keep` kept, a failed dump changes nothing', async () => {
    const cron = find(render({ values: { backup: { enabled: true, keep: 2 } } }), 'CronJob', 'rel-capstan-backup');
    const c = podOf(cron).containers[0] as Container & { command: string[]; args: string[] };
    assert.deepEqual(c.command, ['/bin/sh', '-c']);
    const dir = mkdtempSync(join(tmpdir(), 'capstan-backup-'));
    const script = (c.args[0] ?? '').replaceAll('/backups', dir);
    const db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query("create table task_instance (id text primary key); insert into task_instance values ('t1')");
    await client.end();
    const path = `${postgresBinDir()}${delimiter}${process.env['PATH'] ?? ''}`;
    const run = (url: string) => spawnSync('/bin/sh', ['-c', script], { env: { PATH: path, DATABASE_URL: url, KEEP: '2' }, encoding: 'utf8' });
    try {
      const dumps = (): string[] => readdirSync(dir).sort();
      for (let i = 0; i < 3; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 1100)); // dumps are named by the second
        const r = run(db.url);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /backup written: .*capstan-\d{8}T\d{6}Z\.dump \(\d+ bytes\)/);
      }
      const kept = dumps();
      assert.equal(kept.length, 2, kept.join(' '));
      assert.ok(kept.every((f) => /^capstan-\d{8}T\d{6}Z\.dump$/.test(f)));
      const list = execFileSync(join(postgresBinDir(), 'pg_restore'), ['--list', join(dir, kept[1] as string)], { encoding: 'utf8' });
      assert.match(list, /TABLE public task_instance/);

      const failed = run(db.url.replace(/\/[^/?]+(\?|$)/, '/no_such_database$1'));
      assert.notEqual(failed.status, 0);
      assert.deepEqual(dumps(), kept, 'the earlier dumps are kept, and no partial file is left');
    } finally {
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
