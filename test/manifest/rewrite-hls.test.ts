// HLS playlist rewriting: inputs modelled on Ant Media's own output and on Apple's authoring examples;
// every expected playlist is written out in full so a diff shows exactly which byte moved.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createUriRewriter, rewriteHlsPlaylist, type RewriteOptions } from '../../src/manifest/rewrite-hls.js';

const opts: RewriteOptions = {
  param: 'sg',
  grant: 'v1.cGF5bG9hZA.c2lnbmF0dXJl',
  removeParams: ['token', 'subscriberCode'],
  manifestUrl: { origin: 'https://edge.example.com', path: '/LiveApp/streams/stream1_adaptive.m3u8' },
};

describe('createUriRewriter', () => {
  const rewrite = createUriRewriter(opts);
  const cases: Array<[string, string | null]> = [
    // relative and root-relative: always ours
    ['stream1_240p300kbps000000012.ts', 'stream1_240p300kbps000000012.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    ['../1M/waitForMSN.php', '../1M/waitForMSN.php?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    ['/LiveApp/streams/s.ts', '/LiveApp/streams/s.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    // existing queries and fragments are kept; the credential and an old grant are dropped
    ['s.ts?a=1&b=two', 's.ts?a=1&b=two&sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    ['s.ts?token=803744123715293436876927', 's.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    ['s.ts?token=t&subscriberId=s1&subscriberCode=123456&sg=old', 's.ts?subscriberId=s1&sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    ['s.ts?sg=old&sg=older&x=%26', 's.ts?x=%26&sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    ['s.ts?%74oken=encoded-name&tokens=kept', 's.ts?tokens=kept&sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    ['s.ts?&&a=1&', 's.ts?a=1&sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    ['s.ts?', 's.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    ['s.vtt#t=10', 's.vtt?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl#t=10'],
    ['s.ts?a=1#frag?x=y', 's.ts?a=1&sg=v1.cGF5bG9hZA.c2lnbmF0dXJl#frag?x=y'],
    ['s.ts?bad=%zz&token=x', 's.ts?bad=%zz&sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    // same origin, spelled differently
    ['https://edge.example.com/LiveApp/streams/s.ts', 'https://edge.example.com/LiveApp/streams/s.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    ['HTTPS://EDGE.Example.COM:443/s.ts?token=x', 'HTTPS://EDGE.Example.COM:443/s.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    ['https://edge.example.com?x=1', 'https://edge.example.com?x=1&sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    ['//edge.example.com/s.ts', '//edge.example.com/s.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl'],
    // not ours: other scheme, port, host, userinfo tricks, non-HTTP schemes, nothing
    ['http://edge.example.com/s.ts', null],
    ['https://edge.example.com:8443/s.ts', null],
    ['https://cdn.other.net/LiveApp/streams/s.ts?token=x', null],
    ['https://edge.example.com.evil.net/s.ts', null],
    ['https://edge.example.com@evil.net/s.ts', null],
    ['https://evil.net#@edge.example.com/s.ts', null],
    ['//cdn.other.net/s.ts', null],
    ['data:text/plain;base64,AAECAwQFBgcICQoLDA0ODw==', null],
    ['skd://key-server/k1', null],
    ['', null],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(rewrite(input), expected);
    });
  }

  it('matches IPv6 and explicit default ports against the origin', () => {
    const v6 = createUriRewriter({ ...opts, manifestUrl: { origin: 'http://[2001:DB8::1]:80', path: '/' } });
    assert.equal(v6('http://[2001:db8::1]/s.ts'), 'http://[2001:db8::1]/s.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl');
    assert.equal(v6('http://[2001:db8::1]:5080/s.ts'), null);
    const port = createUriRewriter({ ...opts, manifestUrl: { origin: 'http://ams.local:5080', path: '/' } });
    assert.equal(port('http://ams.local:5080/s.ts'), 'http://ams.local:5080/s.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl');
    assert.equal(port('http://ams.local/s.ts'), null);
  });
});

interface Case {
  name: string;
  input: string;
  expected: string;
}

const cases: Case[] = [
  {
    name: "Ant Media adaptive master (stream1_adaptive.m3u8)",
    input: `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=2628000,RESOLUTION=1280x720,CODECS="avc1.42e01f,mp4a.40.2"
stream1.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=428000,RESOLUTION=426x240,CODECS="avc1.42e00d,mp4a.40.2"
stream1_240p300kbps.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1128000,RESOLUTION=854x480,CODECS="avc1.42e01e,mp4a.40.2"
stream1_480p1000kbps.m3u8?token=803744123715293436876927&subscriberId=sub1
`,
    expected: `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=2628000,RESOLUTION=1280x720,CODECS="avc1.42e01f,mp4a.40.2"
stream1.m3u8?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
#EXT-X-STREAM-INF:BANDWIDTH=428000,RESOLUTION=426x240,CODECS="avc1.42e00d,mp4a.40.2"
stream1_240p300kbps.m3u8?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
#EXT-X-STREAM-INF:BANDWIDTH=1128000,RESOLUTION=854x480,CODECS="avc1.42e01e,mp4a.40.2"
stream1_480p1000kbps.m3u8?subscriberId=sub1&sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
`,
  },
  {
    name: 'Ant Media media playlist (stream1_240p300kbps.m3u8), an old grant already present',
    input: `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:12
#EXTINF:2.000000,
stream1_240p300kbps000000012.ts
#EXTINF:2.000000,
stream1_240p300kbps000000013.ts?sg=v1.b2xk.b2xkbWFj
#EXTINF:1.966667,
stream1_240p300kbps000000014.ts
`,
    expected: `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:12
#EXTINF:2.000000,
stream1_240p300kbps000000012.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
#EXTINF:2.000000,
stream1_240p300kbps000000013.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
#EXTINF:1.966667,
stream1_240p300kbps000000014.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
`,
  },
  {
    name: 'master with session data/keys, audio + subtitle renditions, closed captions and an I-frame playlist',
    input: `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-SESSION-DATA:DATA-ID="com.example.title",URI="meta/title.json"
#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://key-server/k1",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud1",LANGUAGE="en",NAME="English, URI=fake",AUTOSELECT=YES,DEFAULT=YES,CHANNELS="2",URI="a1/prog_index.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="sub1",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,URI="s1/en/prog_index.m3u8"
#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc1",LANGUAGE="en",NAME="English",DEFAULT=YES,AUTOSELECT=YES,INSTREAM-ID="CC1"
#EXT-X-STREAM-INF:AVERAGE-BANDWIDTH=2168183,BANDWIDTH=2177116,CODECS="avc1.640020,mp4a.40.2",RESOLUTION=960x540,FRAME-RATE=60.000,CLOSED-CAPTIONS="cc1",AUDIO="aud1",SUBTITLES="sub1"
v5/prog_index.m3u8
#EXT-X-I-FRAME-STREAM-INF:AVERAGE-BANDWIDTH=186522,BANDWIDTH=187067,CODECS="avc1.640020",RESOLUTION=960x540,URI="v5/iframe_index.m3u8"
`,
    expected: `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-SESSION-DATA:DATA-ID="com.example.title",URI="meta/title.json?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"
#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://key-server/k1",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud1",LANGUAGE="en",NAME="English, URI=fake",AUTOSELECT=YES,DEFAULT=YES,CHANNELS="2",URI="a1/prog_index.m3u8?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="sub1",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,URI="s1/en/prog_index.m3u8?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"
#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc1",LANGUAGE="en",NAME="English",DEFAULT=YES,AUTOSELECT=YES,INSTREAM-ID="CC1"
#EXT-X-STREAM-INF:AVERAGE-BANDWIDTH=2168183,BANDWIDTH=2177116,CODECS="avc1.640020,mp4a.40.2",RESOLUTION=960x540,FRAME-RATE=60.000,CLOSED-CAPTIONS="cc1",AUDIO="aud1",SUBTITLES="sub1"
v5/prog_index.m3u8?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
#EXT-X-I-FRAME-STREAM-INF:AVERAGE-BANDWIDTH=186522,BANDWIDTH=187067,CODECS="avc1.640020",RESOLUTION=960x540,URI="v5/iframe_index.m3u8?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"
`,
  },
  {
    name: 'fMP4 with EXT-X-MAP, AES-128 keys (same-origin and foreign, data: URI) and byte ranges',
    input: `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-KEY:METHOD=AES-128,URI="https://edge.example.com/LiveApp/keys/k1.key?kid=7&token=abc",IV=0x00000000000000000000000000000001
#EXT-X-MAP:URI="stream1_1719999999999_init.mp4",BYTERANGE="720@0"
#EXTINF:6.000000,
stream1000000000.fmp4
#EXT-X-KEY:METHOD=AES-128,KEYFORMAT="identity",URI="https://keys.other.net/k2.key"
#EXTINF:6.000000,
#EXT-X-BYTERANGE:1024@0
stream1000000001.fmp4
#EXT-X-KEY:METHOD=SAMPLE-AES,URI="data:text/plain;base64,AAECAwQFBgcICQoLDA0ODw==",KEYFORMAT="identity"
#EXT-X-KEY:METHOD=NONE
#EXTINF:6.000000,
stream1000000002.m4s
#EXT-X-ENDLIST
`,
    expected: `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-KEY:METHOD=AES-128,URI="https://edge.example.com/LiveApp/keys/k1.key?kid=7&sg=v1.cGF5bG9hZA.c2lnbmF0dXJl",IV=0x00000000000000000000000000000001
#EXT-X-MAP:URI="stream1_1719999999999_init.mp4?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl",BYTERANGE="720@0"
#EXTINF:6.000000,
stream1000000000.fmp4?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
#EXT-X-KEY:METHOD=AES-128,KEYFORMAT="identity",URI="https://keys.other.net/k2.key"
#EXTINF:6.000000,
#EXT-X-BYTERANGE:1024@0
stream1000000001.fmp4?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
#EXT-X-KEY:METHOD=SAMPLE-AES,URI="data:text/plain;base64,AAECAwQFBgcICQoLDA0ODw==",KEYFORMAT="identity"
#EXT-X-KEY:METHOD=NONE
#EXTINF:6.000000,
stream1000000002.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
#EXT-X-ENDLIST
`,
  },
  {
    name: 'LL-HLS: parts, preload hint, rendition reports (Ant Media ll-hls layout)',
    input: `#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-VERSION:9
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=12.0
#EXT-X-PART-INF:PART-TARGET=0.33334
#EXT-X-MEDIA-SEQUENCE:266
#EXT-X-PROGRAM-DATE-TIME:2024-05-10T09:13:36.106Z
#EXT-X-MAP:URI="stream1__init.mp4"
#EXTINF:4.00008,
stream1__266.m4s
#EXT-X-PART:DURATION=0.33334,URI="stream1__267.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.33334,URI="stream1__267.1.m4s"
#EXTINF:4.00008,
stream1__267.m4s
#EXT-X-PART:DURATION=0.33334,URI="stream1__268.0.m4s",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="stream1__268.1.m4s"
#EXT-X-RENDITION-REPORT:URI="../stream1_720p/stream1__720p2000kbps.m3u8",LAST-MSN=267,LAST-PART=1
#EXT-X-RENDITION-REPORT:URI="https://cdn.other.net/ll-hls/stream1/stream1__240p.m3u8",LAST-MSN=267,LAST-PART=1
`,
    expected: `#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-VERSION:9
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=12.0
#EXT-X-PART-INF:PART-TARGET=0.33334
#EXT-X-MEDIA-SEQUENCE:266
#EXT-X-PROGRAM-DATE-TIME:2024-05-10T09:13:36.106Z
#EXT-X-MAP:URI="stream1__init.mp4?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"
#EXTINF:4.00008,
stream1__266.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
#EXT-X-PART:DURATION=0.33334,URI="stream1__267.0.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.33334,URI="stream1__267.1.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"
#EXTINF:4.00008,
stream1__267.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
#EXT-X-PART:DURATION=0.33334,URI="stream1__268.0.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="stream1__268.1.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"
#EXT-X-RENDITION-REPORT:URI="../stream1_720p/stream1__720p2000kbps.m3u8?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl",LAST-MSN=267,LAST-PART=1
#EXT-X-RENDITION-REPORT:URI="https://cdn.other.net/ll-hls/stream1/stream1__240p.m3u8",LAST-MSN=267,LAST-PART=1
`,
  },
  {
    name: 'absolute same-origin vs foreign URIs, existing queries, .aac/.vtt, no trailing newline',
    input: `#EXTM3U
#EXT-X-TARGETDURATION:6
#EXTINF:6,
https://edge.example.com/LiveApp/streams/a000000001.ts
#EXTINF:6,
https://EDGE.example.com:443/LiveApp/streams/a000000002.ts?x=1&token=abc
#EXTINF:6,
http://edge.example.com/LiveApp/streams/a000000003.ts
#EXTINF:6,
https://cdn.other.net/LiveApp/streams/a000000004.ts?token=abc
#EXTINF:6,
//edge.example.com/LiveApp/streams/audio000000005.aac
#EXTINF:6,
/LiveApp/streams/subs000000006.vtt?token=abc&sg=old&subscriberId=s1#t=0
#EXTINF:6,
https://edge.example.com@evil.net/a000000007.ts`,
    expected: `#EXTM3U
#EXT-X-TARGETDURATION:6
#EXTINF:6,
https://edge.example.com/LiveApp/streams/a000000001.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
#EXTINF:6,
https://EDGE.example.com:443/LiveApp/streams/a000000002.ts?x=1&sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
#EXTINF:6,
http://edge.example.com/LiveApp/streams/a000000003.ts
#EXTINF:6,
https://cdn.other.net/LiveApp/streams/a000000004.ts?token=abc
#EXTINF:6,
//edge.example.com/LiveApp/streams/audio000000005.aac?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
#EXTINF:6,
/LiveApp/streams/subs000000006.vtt?subscriberId=s1&sg=v1.cGF5bG9hZA.c2lnbmF0dXJl#t=0
#EXTINF:6,
https://edge.example.com@evil.net/a000000007.ts`,
  },
  {
    name: 'unknown tags, look-alike tags, comments, blank lines and stray blanks are left alone',
    input: `\uFEFF#EXTM3U
# a comment with URI="not-a-uri.ts"
#EXT-X-COM-EXAMPLE-AD:ID="ad1",URI="ad.m3u8"
#EXT-X-MAPX:URI="lookalike.mp4"
#EXT-X-MAP:URI=unquoted.mp4
#EXT-X-MAP:URI="unterminated.mp4
#EXT-X-CUE-OUT:30

#EXTINF:6,title with URI="x"
\t stream1000000001.ts \t
`,
    expected: `\uFEFF#EXTM3U
# a comment with URI="not-a-uri.ts"
#EXT-X-COM-EXAMPLE-AD:ID="ad1",URI="ad.m3u8"
#EXT-X-MAPX:URI="lookalike.mp4"
#EXT-X-MAP:URI=unquoted.mp4
#EXT-X-MAP:URI="unterminated.mp4
#EXT-X-CUE-OUT:30

#EXTINF:6,title with URI="x"
\t stream1000000001.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl \t
`,
  },
  {
    name: 'CRLF line endings are preserved, including a lone LF and a final line without one',
    input: '#EXTM3U\r\n#EXT-X-MAP:URI="init.mp4"\r\n#EXTINF:2,\r\nseg1.m4s\r\n#EXTINF:2,\nseg2.m4s\r\n\r\nseg3.m4s',
    expected:
      '#EXTM3U\r\n#EXT-X-MAP:URI="init.mp4?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"\r\n#EXTINF:2,\r\n' +
      'seg1.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl\r\n#EXTINF:2,\nseg2.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl\r\n\r\n' +
      'seg3.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl',
  },
];

describe('rewriteHlsPlaylist', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(rewriteHlsPlaylist(c.input, opts), c.expected);
    });
  }

  it('uses the configured parameter name and removes exactly the configured credentials', () => {
    const custom: RewriteOptions = { ...opts, param: 'grant', removeParams: ['jwt'] };
    assert.equal(
      rewriteHlsPlaylist('#EXTM3U\ns.ts?jwt=a&token=b&sg=c&grant=d\n', custom),
      '#EXTM3U\ns.ts?token=b&sg=c&grant=v1.cGF5bG9hZA.c2lnbmF0dXJl\n',
    );
  });

  it('returns the same string when nothing is rewritten', () => {
    const text = '#EXTM3U\n#EXT-X-ENDLIST\n';
    assert.equal(rewriteHlsPlaylist(text, opts), text);
    assert.equal(rewriteHlsPlaylist('', opts), '');
  });

  it('stays linear on hostile input (a megabyte of colon-less tags and long attribute lists)', () => {
    const hostile = '#EXTM3U\n' + '#EXT-X-GAP\n'.repeat(50_000) + `#EXT-X-KEY:${'A=1,'.repeat(100_000)}\n` + 'x.ts\n';
    const started = process.hrtime.bigint();
    const out = rewriteHlsPlaylist(hostile, opts);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(out.endsWith('x.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl\n'));
    assert.ok(ms < 1000, `took ${ms} ms`);
  });
});

describe('EXT-X-DEFINE variables (draft-pantos-hls-rfc8216bis-18 §4.4.3.8)', () => {
  const G = 'v1.cGF5bG9hZA.c2lnbmF0dXJl';
  it('keeps `{$name}` references byte for byte, in the query and as a parameter named like a credential', () => {
    const input = '#EXTM3U\n#EXT-X-DEFINE:QUERYPARAM="token"\n#EXT-X-MAP:URI="init.mp4?token={$token}"\nseg.ts?token={$token}&token=spent\n{$dir}/seg.ts\n';
    assert.equal(
      rewriteHlsPlaylist(input, opts),
      `#EXTM3U\n#EXT-X-DEFINE:QUERYPARAM="token"\n#EXT-X-MAP:URI="init.mp4?token={$token}&sg=${G}"\nseg.ts?token={$token}&sg=${G}\n{$dir}/seg.ts\n`,
    );
  });

  it('a variable that could name another host keeps the grant away unless the playlist defines it as ours', () => {
    const input = [
      '#EXTM3U',
      '#EXT-X-DEFINE:NAME="here",VALUE="https://edge.example.com/LiveApp/streams"',
      '#EXT-X-DEFINE:NAME="there",VALUE="https://cdn.other.net/x"',
      '#EXT-X-DEFINE:IMPORT="host"',
      '{$here}/a.ts',
      '{$there}/b.ts',
      '{$host}/c.ts',
      'https://{$host}/d.ts',
      'e_{$here}.ts',
      '',
    ].join('\n');
    const out = rewriteHlsPlaylist(input, opts).split('\n');
    assert.equal(out[4], `{$here}/a.ts?sg=${G}`);
    assert.equal(out[5], '{$there}/b.ts');
    assert.equal(out[6], '{$host}/c.ts');
    assert.equal(out[7], 'https://{$host}/d.ts');
    // Substituted, `e_https://edge…` has no valid scheme (`_`): a relative path, ours.
    assert.equal(out[8], `e_{$here}.ts?sg=${G}`);
  });
});

describe('URI attributes beyond URI=', () => {
  const G = 'v1.cGF5bG9hZA.c2lnbmF0dXJl';
  it('EXT-X-CONTENT-STEERING SERVER-URI, DATERANGE X-ASSET-URI / X-ASSET-LIST, EXT-X-IMAGE-STREAM-INF URI', () => {
    const input = [
      '#EXTM3U',
      '#EXT-X-CONTENT-STEERING:SERVER-URI="/steering?video=1",PATHWAY-ID="CDN-A"',
      '#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=40000,RESOLUTION=320x180,CODECS="jpeg",URI="thumbs/320.m3u8"',
      '#EXT-X-DATERANGE:ID="ad",CLASS="com.apple.hls.interstitial",START-DATE="2024-01-01T00:00:00Z",X-ASSET-URI="ads/a.m3u8",X-ASSET-LIST="https://ads.other.net/list.json",X-RESUME-OFFSET=0',
      '#EXT-X-DATERANGE:ID="id3",START-DATE="2024-01-01T00:00:00Z",X-COM-EXAMPLE-URI="x.json"',
      '',
    ].join('\n');
    assert.equal(
      rewriteHlsPlaylist(input, opts),
      [
        '#EXTM3U',
        `#EXT-X-CONTENT-STEERING:SERVER-URI="/steering?video=1&sg=${G}",PATHWAY-ID="CDN-A"`,
        `#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=40000,RESOLUTION=320x180,CODECS="jpeg",URI="thumbs/320.m3u8?sg=${G}"`,
        `#EXT-X-DATERANGE:ID="ad",CLASS="com.apple.hls.interstitial",START-DATE="2024-01-01T00:00:00Z",X-ASSET-URI="ads/a.m3u8?sg=${G}",X-ASSET-LIST="https://ads.other.net/list.json",X-RESUME-OFFSET=0`,
        '#EXT-X-DATERANGE:ID="id3",START-DATE="2024-01-01T00:00:00Z",X-COM-EXAMPLE-URI="x.json"',
        '',
      ].join('\n'),
    );
  });
});
