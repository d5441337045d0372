import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalizeUrl } from '../../src/request/canonical-path.js';

const MAX = 2048;

describe('canonicalizeUrl: accepted request-targets', () => {
  const cases: [raw: string, path: string, segments: string[], rawQuery: string][] = [
    ['/', '/', [''], ''],
    ['/favicon.ico', '/favicon.ico', ['favicon.ico'], ''],
    ['/LiveApp', '/LiveApp', ['LiveApp'], ''],
    ['/LiveApp/', '/LiveApp/', ['LiveApp', ''], ''],
    ['/LiveApp/streams/stream1.m3u8', '/LiveApp/streams/stream1.m3u8', ['LiveApp', 'streams', 'stream1.m3u8'], ''],
    ['/LiveApp/streams/stream1.m3u8?token=abc&x=1', '/LiveApp/streams/stream1.m3u8', ['LiveApp', 'streams', 'stream1.m3u8'], 'token=abc&x=1'],
    ['/a?b=1#frag', '/a', ['a'], 'b=1'],
    ['/a#frag?b=1', '/a', ['a'], ''],
    ['/a?', '/a', ['a'], ''],
    // the query is passed through untouched: it never takes part in routing
    ['/a?b=/../c;d', '/a', ['a'], 'b=/../c;d'],
    ['/LiveApp/streams/s1/s1.mpd', '/LiveApp/streams/s1/s1.mpd', ['LiveApp', 'streams', 's1', 's1.mpd'], ''],
    // unreserved characters stay literal, including dots inside a name and '~'
    ['/a/my.stream-1_x~y.m3u8', '/a/my.stream-1_x~y.m3u8', ['a', 'my.stream-1_x~y.m3u8'], ''],
    ['/a/...', '/a/...', ['a', '...'], ''],
    // everything else is re-encoded as uppercase %XX
    ['/a/%c3%a9', '/a/%C3%A9', ['a', 'é'], ''],
    ['/a/x!y', '/a/x%21y', ['a', 'x!y'], ''],
    ['/a/x@y:z', '/a/x%40y%3Az', ['a', 'x@y:z'], ''],
    ['/a/%20', '/a/%20', ['a', ' '], ''],
    ['/a/%3B', '/a/%3B', ['a', ';'], ''],
    ['/a/%252e%252e', '/a/%252e%252e', ['a', '%2e%2e'], ''],
    ['/a/%F0%9F%8E%A5', '/a/%F0%9F%8E%A5', ['a', '🎥'], ''],
  ];
  for (const [raw, path, segments, rawQuery] of cases) {
    it(raw, () => {
      assert.deepEqual(canonicalizeUrl(raw, MAX), { ok: true, path, segments, rawQuery });
    });
  }
});

describe('canonicalizeUrl: two spellings of one path forward identically', () => {
  const pairs: [string, string][] = [
    ['/LiveApp/streams/%73tream1.m3u8', '/LiveApp/streams/stream1.m3u8'],
    ['/%4CiveApp/streams/stream1.m3u8', '/LiveApp/streams/stream1.m3u8'],
    ['/a/%7E', '/a/~'],
    ['/a/%7e', '/a/~'],
    ['/a/x%21', '/a/x!'],
    ['/a/%c3%A9', '/a/%C3%a9'],
    ['/a/%2D%5F', '/a/-_'],
  ];
  for (const [left, right] of pairs) {
    it(`${left} ≡ ${right}`, () => {
      const a = canonicalizeUrl(left, MAX);
      const b = canonicalizeUrl(right, MAX);
      assert.ok(a.ok && b.ok);
      assert.equal(a.path, b.path);
      assert.deepEqual(a.segments, b.segments);
    });
  }
});

describe('canonicalizeUrl: refused request-targets', () => {
  const invalid: [label: string, raw: string][] = [
    // traversal, raw and encoded (reference §1.4: the token filter reads stream1, Tomcat serves stream2)
    ['dot-dot after a stream1__ prefix', '/LiveApp/streams/stream1__/../stream2.m3u8'],
    ['dot-dot ts', '/LiveApp/streams/stream1__/../stream2000000001.ts'],
    ['dot-dot mp4', '/LiveApp/streams/stream1__/../stream2.mp4'],
    ['trailing dot-dot', '/LiveApp/streams/stream2.m3u8/x/..'],
    ['dot segment', '/LiveApp/./streams/stream1.m3u8'],
    ['trailing dot segment', '/LiveApp/streams/.'],
    ['%2e%2e', '/LiveApp/streams/%2e%2e/stream2.m3u8'],
    ['%2E%2E', '/LiveApp/streams/%2E%2E/stream2.m3u8'],
    ['.%2e', '/LiveApp/streams/.%2e/stream2.m3u8'],
    ['%2e inside a name', '/LiveApp/streams/stream1%2em3u8'],
    ['%2F', '/LiveApp/streams/stream1__%2F..%2Fstream2.m3u8'],
    ['%2f', '/LiveApp/streams%2fstream1.m3u8'],
    ['..%5c', '/LiveApp/streams/..%5cstream2.m3u8'],
    ['%5C', '/LiveApp/streams/x%5C..%5Cstream2.m3u8'],
    ['raw backslash', '/LiveApp/streams/..\\stream2.m3u8'],
    // path parameters
    [';jsessionid=', '/LiveApp/streams/stream1.m3u8;jsessionid=ABC'],
    ['; in the app segment', '/LiveApp;x=1/streams/stream1.m3u8'],
    // empty segments
    ['double slash', '/LiveApp//streams/stream1.m3u8'],
    ['leading double slash', '//evil.example/LiveApp/streams/stream1.m3u8'],
    ['two trailing slashes', '/LiveApp/streams//'],
    // NUL and control characters, raw and encoded
    ['%00', '/LiveApp/streams/stream1.m3u8%00.jpg'],
    ['raw NUL', '/LiveApp/streams/stream1\u0000.m3u8'],
    ['raw tab', '/LiveApp/streams/stream1\t.m3u8'],
    ['raw CR LF', '/LiveApp/streams/stream1\r\n.m3u8'],
    ['%0a', '/LiveApp/streams/stream1%0a.m3u8'],
    ['%0D', '/LiveApp/streams/stream1%0D.m3u8'],
    ['%7f', '/LiveApp/streams/stream1%7f.m3u8'],
    ['raw DEL', '/LiveApp/streams/stream1\u007f.m3u8'],
    ['encoded C1 control (U+0085)', '/LiveApp/streams/stream1%C2%85.m3u8'],
    ['raw space', '/LiveApp/streams/stream 1.m3u8'],
    // malformed escapes
    ['lone %', '/LiveApp/streams/100%.m3u8'],
    ['short escape at end', '/LiveApp/streams/x%4'],
    ['non-hex escape', '/LiveApp/streams/x%G1.m3u8'],
    ['escape cut by a slash', '/LiveApp/streams/x%4/y'],
    // invalid UTF-8
    ['overlong slash %C0%AF', '/LiveApp/streams/x%C0%AF..%C0%AFy'],
    ['overlong dot %C0%AE', '/LiveApp/streams/%C0%AE%C0%AE/y'],
    ['lone continuation byte', '/LiveApp/streams/x%80'],
    ['lone %FF', '/LiveApp/streams/x%FF'],
    ['truncated sequence', '/LiveApp/streams/x%E2%82'],
    ['UTF-16 surrogate', '/LiveApp/streams/x%ED%A0%80'],
    ['above U+10FFFF', '/LiveApp/streams/x%F4%90%80%80'],
    ['raw non-ASCII', '/LiveApp/streams/é.m3u8'],
    // request-target forms other than origin-form
    ['absolute-form', 'http://origin.example/LiveApp/streams/stream1.m3u8'],
    ['asterisk-form', '*'],
    ['authority-form', 'origin.example:443'],
    ['empty', ''],
    ['query only', '?token=x'],
  ];
  for (const [label, raw] of invalid) {
    it(label, () => {
      const result = canonicalizeUrl(raw, MAX);
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.reason === 'path_invalid', JSON.stringify(result));
      assert.ok(!result.ok && result.message.length > 0);
    });
  }
});

describe('canonicalizeUrl: length cap', () => {
  it('accepts a request-target of exactly maxBytes', () => {
    const raw = '/' + 'a'.repeat(99);
    assert.equal(canonicalizeUrl(raw, 100).ok, true);
  });
  it('refuses maxBytes + 1 with uri_too_long', () => {
    const raw = '/' + 'a'.repeat(100);
    const result = canonicalizeUrl(raw, 100);
    assert.ok(!result.ok && result.reason === 'uri_too_long');
  });
  it('counts the query toward the cap', () => {
    const result = canonicalizeUrl('/a?' + 'x'.repeat(200), 100);
    assert.ok(!result.ok && result.reason === 'uri_too_long');
  });
  it('counts bytes, not UTF-16 code units', () => {
    const raw = '/a?' + 'é'.repeat(60); // 63 chars, 123 UTF-8 bytes
    const result = canonicalizeUrl(raw, 100);
    assert.ok(!result.ok && result.reason === 'uri_too_long');
  });
});

describe('canonicalizeUrl: 100 KB junk is refused in one pass', () => {
  const KB100 = 100 * 1024;
  const junk: [label: string, raw: string, cap: number][] = [
    ['repeated stream1__ with a trailing traversal', '/LiveApp/streams/' + 'stream1__'.repeat(KB100 / 9) + '/../x.m3u8', 1 << 20],
    ['the ReDoS shape of Ant Media rules 13/14, then ;jsessionid', '/LiveApp/streams/' + '-20' + '0'.repeat(KB100) + ';jsessionid=x', 1 << 20],
    ['many segments then a NUL', '/' + 'a/'.repeat(KB100 / 2) + '%00', 1 << 20],
    ['percent soup ending malformed', '/' + '%41'.repeat(KB100 / 3) + '%', 1 << 20],
    ['long query behind many segments, then //', '/' + 'a/'.repeat(5000) + '/?' + 'q'.repeat(KB100), 1 << 20],
    ['any of these under the default 2 KB cap', '/LiveApp/streams/' + 'x'.repeat(KB100), 2048],
  ];
  for (const [label, raw, cap] of junk) {
    it(label, () => {
      assert.ok(raw.length >= KB100 - 64);
      assert.equal(canonicalizeUrl(raw, cap).ok, false);
    });
  }
  it('a 100 KB well-formed path is accepted when the cap allows it', () => {
    const raw = '/' + 'abcdefg/'.repeat(KB100 / 8) + 'x.m3u8';
    const result = canonicalizeUrl(raw, 1 << 20);
    assert.ok(result.ok && result.path === raw);
  });
});
