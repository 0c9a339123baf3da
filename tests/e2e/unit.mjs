// The web inbox's pure modules in node, no browser: the SSE parser
// (events split anywhere, CRLF, comments, ids, retry) and the cutting
// of an item's text at the rules' byte offsets (multi-byte text,
// overlapping hits, offsets out of range). Ends with "N passed, N failed".
//
//   node tests/e2e/unit.mjs

import assert from 'node:assert/strict';
import { SseParser } from '../../contrib/web/js/sse.js';
import { segments } from '../../contrib/web/js/highlight.js';

let passed = 0;
let failed = 0;

function test(name, fn) {
  try {
    fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}

const STREAM = 'retry: 2000\n\nid: ingest:1-0\nevent: item\ndata: {"id":"a"}\n\n' +
  ': keepalive\n\nid: audit:2-0\r\nevent: claimed\r\ndata: {"id":"a",\r\ndata: "by":"bob"}\r\n\r\n';

test('sse: whole stream', () => {
  const p = new SseParser();
  const ev = p.push(STREAM);
  assert.equal(ev.length, 2);
  assert.deepEqual(ev[0], { type: 'item', data: '{"id":"a"}', id: 'ingest:1-0' });
  assert.equal(ev[1].type, 'claimed');
  assert.equal(ev[1].data, '{"id":"a",\n"by":"bob"}');
  assert.equal(ev[1].id, 'audit:2-0');
  assert.equal(p.retry, 2000);
});

test('sse: split at every byte gives the same events', () => {
  for (let cut = 1; cut < STREAM.length; cut++) {
    const p = new SseParser();
    const ev = [...p.push(STREAM.slice(0, cut)), ...p.push(STREAM.slice(cut))];
    assert.equal(ev.length, 2, `cut at ${cut}`);
    assert.equal(ev[1].data, '{"id":"a",\n"by":"bob"}', `cut at ${cut}`);
  }
});

test('sse: one character at a time', () => {
  const p = new SseParser();
  const ev = [];
  for (const c of STREAM) ev.push(...p.push(c));
  assert.equal(ev.length, 2);
});

test('sse: an event without data is not dispatched; the id stays', () => {
  const p = new SseParser();
  assert.deepEqual(p.push('id: x:1-0\nevent: item\n\n'), []);
  assert.equal(p.lastId, 'x:1-0');
  const ev = p.push('data: {}\n\n');
  assert.equal(ev[0].type, 'message');
  assert.equal(ev[0].id, 'x:1-0');
});

test('sse: no space after the colon, unknown fields, bad retry', () => {
  const p = new SseParser();
  const ev = p.push('event:item\ndata:{"a":1}\nfoo: bar\nretry: soon\n\n');
  assert.equal(ev[0].type, 'item');
  assert.equal(ev[0].data, '{"a":1}');
  assert.equal(p.retry, null);
});

const joined = (segs) => segs.map((s) => s.text).join('');

test('highlight: ASCII spans', () => {
  const t = 'FREE MONEY!!! click http://bit.ly/x';
  const s = segments(t, [{ rule: 'r1', category: 'spam', start: 0, end: 10 },
    { rule: 'r2', category: 'spam', start: 27, end: 35 }]);
  assert.equal(joined(s), t);
  assert.deepEqual(s.filter((x) => x.hits.length).map((x) => x.text), ['FREE MONEY', 'bit.ly/x']);
});

test('highlight: byte offsets in multi-byte text', () => {
  const t = 'Когда будет доставка?';
  const start = Buffer.byteLength('Когда ');
  const end = start + Buffer.byteLength('будет');
  const s = segments(t, [{ rule: 'ru.q', category: 'question', start, end }]);
  assert.equal(joined(s), t);
  assert.equal(s.find((x) => x.hits.length).text, 'будет');
});

test('highlight: overlapping hits split into runs', () => {
  const t = 'abcdefghij';
  const s = segments(t, [{ rule: 'a', start: 0, end: 6 }, { rule: 'b', start: 4, end: 10 }]);
  assert.deepEqual(s.map((x) => [x.text, x.hits.map((h) => h.rule).join('+')]),
    [['abcd', 'a'], ['ef', 'a+b'], ['ghij', 'b']]);
});

test('highlight: offsets out of range or backwards are clipped or dropped', () => {
  const t = 'short';
  const s = segments(t, [{ rule: 'x', start: 2, end: 99 }, { rule: 'y', start: 4, end: 1 },
    { rule: 'z', start: 50, end: 60 }, { rule: 'w' }]);
  assert.equal(joined(s), t);
  assert.deepEqual(s.map((x) => [x.text, x.hits.length]), [['sh', 0], ['ort', 1]]);
});

test('highlight: no hits, no text', () => {
  assert.deepEqual(segments('plain', []).map((x) => x.text), ['plain']);
  assert.equal(joined(segments('', null)), '');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
