// The list-then-watch loop against a scripted Watch: resume from the last resourceVersion after a clean
// close, re-list after 410 (as an ERROR event and as an HTTP status), retry after a failure.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Watch } from '@kubernetes/client-node';
import { runListWatch } from '../../../src/kubernetes/watch/listWatch.ts';
import type { Watched } from '../../../src/kubernetes/watch/listWatch.ts';

type Session = (cb: (type: string, obj: unknown) => void, done: (err: unknown) => void) => void;

function scriptedWatch(sessions: Session[], calls: string[], stop: AbortController): Watch {
  return {
    watch(_path: string, query: Record<string, unknown>, cb: (type: string, obj: unknown) => void, done: (err: unknown) => void) {
      calls.push(`watch@${String(query.resourceVersion)}`);
      const session = sessions.shift();
      const controller = new AbortController();
      if (session === undefined) stop.abort();
      else queueMicrotask(() => session(cb, done));
      return Promise.resolve(controller);
    },
  } as unknown as Watch;
}

const obj = (rv: string, name = 'p'): Watched => ({ metadata: { resourceVersion: rv, name } });

void describe('runListWatch', () => {
  test('resumes from the last version, re-lists on 410 (event or status), retries failures', async () => {
    const calls: string[] = [];
    const seen: string[] = [];
    const stop = new AbortController();
    let lists = 0;
    const sessions: Session[] = [
      (cb, done) => { cb('MODIFIED', obj('11')); cb('BOOKMARK', obj('12')); done(null); },
      (cb, done) => { cb('ERROR', { kind: 'Status', code: 410, reason: 'Expired' }); done(null); },
      (_cb, done) => { done(Object.assign(new Error('Gone'), { statusCode: 410 })); },
      (_cb, done) => { done(Object.assign(new Error('reset'), { code: 'ECONNRESET' })); },
      (cb, done) => { cb('DELETED', obj('40')); done(null); },
    ];
    await runListWatch<Watched>({
      watch: scriptedWatch(sessions, calls, stop),
      path: '/api/v1/namespaces/n/pods',
      list: () => {
        lists += 1;
        calls.push(`list#${lists}`);
        return Promise.resolve({ items: [obj(`${lists}0`)], metadata: { resourceVersion: `${lists}0` } });
      },
      onList: (items) => seen.push(`list:${items.length}`),
      onEvent: (type, o) => seen.push(`${type}:${o.metadata?.resourceVersion}`),
      signal: stop.signal,
      backoff: { initialMs: 1, maxMs: 2 },
    });
    assert.deepEqual(calls, ['list#1', 'watch@10', 'watch@12', 'list#2', 'watch@20', 'list#3', 'watch@30', 'watch@30', 'watch@40']);
    assert.deepEqual(seen, ['list:1', 'MODIFIED:11', 'list:1', 'list:1', 'DELETED:40']);
  });
});
