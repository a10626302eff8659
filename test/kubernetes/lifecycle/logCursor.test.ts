// The log resume bookkeeping: timestamps parsed, repeated lines after a reopen dropped, none lost.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, LogCursor, parseTimedLine } from '../../../src/kubernetes/lifecycle/logCursor.ts';

const at = (ms: number, text: string): string => `${new Date(Date.UTC(2026, 0, 2, 3, 4, 5) + ms).toISOString().replace('Z', '123456Z')} ${text}`;

void describe('parseTimedLine', () => {
  test('splits an RFC3339Nano timestamp from the text, keeping nanoseconds', () => {
    const a = parseTimedLine('2026-01-02T03:04:05.000000001Z hello world');
    const b = parseTimedLine('2026-01-02T03:04:05.000000002Z x');
    assert.equal(a.text, 'hello world');
    assert.equal(a.timestamp, '2026-01-02T03:04:05.000000001Z');
    assert.equal(b.ns! - a.ns!, 1n);
    assert.deepEqual(parseTimedLine('no stamp here'), { ns: undefined, timestamp: undefined, text: 'no stamp here' });
  });
});

void describe('LogCursor', () => {
  test('a reopened stream repeating the whole second delivers only the new lines', () => {
    const cursor = new LogCursor();
    const delivered: string[] = [];
    const feed = (lines: string[]): void => {
      cursor.beginStream();
      for (const l of lines) {
        const t = parseTimedLine(l);
        if (cursor.accept(t)) delivered.push(t.text);
      }
    };
    // Two lines share a timestamp; the cut happens between them.
    const all = [at(0, 'one'), at(5, 'two'), at(5, 'two'), at(9, 'three'), at(1500, 'four')];
    feed(all.slice(0, 3));
    assert.equal(cursor.sinceTime(), '2026-01-02T03:04:05Z');
    feed(all); // the server repeats from the start of the second
    assert.deepEqual(delivered, ['one', 'two', 'two', 'three', 'four']);
    feed(all);
    assert.deepEqual(delivered, ['one', 'two', 'two', 'three', 'four'], 'a third identical stream adds nothing');
  });

  test('identical lines at one timestamp are all kept within one stream', () => {
    const cursor = new LogCursor();
    cursor.beginStream();
    const n = [at(0, 'x'), at(0, 'x'), at(0, 'x')].filter((l) => cursor.accept(parseTimedLine(l))).length;
    assert.equal(n, 3);
  });
});

void describe('LineSplitter', () => {
  test('keeps a partial line until its newline arrives, across multi-byte characters', () => {
    const s = new LineSplitter();
    const bytes = new TextEncoder().encode('a\nbé');
    assert.deepEqual(s.push(bytes.subarray(0, 4)), ['a']);
    assert.deepEqual(s.push(bytes.subarray(4)), []);
    assert.deepEqual(s.push(new TextEncoder().encode('c\r\n')), ['béc']);
    assert.equal(s.rest(), undefined);
    s.push(new TextEncoder().encode('tail'));
    assert.equal(s.rest(), 'tail');
  });
});
