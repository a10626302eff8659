import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createLogger, formatPrettyLine } from '../../src/logging/index.ts';

function capture(): { lines: string[]; destination: { write: (s: string) => void } } {
  const lines: string[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(s) } };
}

void describe('createLogger', () => {
  void it('writes one JSON object per event with level label, component, ISO time and redacted secrets', () => {
    const out = capture();
    const log = createLogger({ level: 'info', format: 'json', baseLogFolder: '/unused' }, 'scheduler', out);
    log.info({ dagId: 'etl', connection: { password: 'hunter2' } }, 'run created');
    log.debug('not written at info');
    assert.equal(out.lines.length, 1);
    const event = JSON.parse(out.lines[0] ?? '') as Record<string, unknown>;
    assert.equal(event.level, 'info');
    assert.equal(event.component, 'scheduler');
    assert.equal(event.msg, 'run created');
    assert.equal(event.dagId, 'etl');
    assert.deepEqual(event.connection, { password: '***' });
    assert.match(String(event.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  void it('writes human lines when the format is pretty, with the error stack below', () => {
    const out = capture();
    const log = createLogger({ level: 'debug', format: 'pretty', baseLogFolder: '/unused' }, 'api', out);
    log.debug({ route: '/health', status: 200 }, 'request');
    log.error({ err: new Error('boom') }, 'failed');
    assert.match(out.lines[0] ?? '', /^\S+Z DEBUG \[api\] request route=\/health status=200\n$/);
    assert.match(out.lines[1] ?? '', /^\S+Z ERROR \[api\] failed\n {4}Error: boom\n {8}at /);
  });

  void it('passes lines that are not JSON through unchanged', () => {
    assert.equal(formatPrettyLine('plain text'), 'plain text\n');
  });
});
