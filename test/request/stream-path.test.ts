import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalizeUrl } from '../../src/request/canonical-path.js';
import { isStreamId, readFlatFile, routeRequest, streamGrammar, type Route, type StreamGrammar } from '../../src/request/stream-path.js';
import { compileSuffixFormat } from '../../src/request/segment-suffix.js';

function route(path: string, grammar?: StreamGrammar): Route {
  const canonical = canonicalizeUrl(path, 1 << 20);
  assert.ok(canonical.ok, `${path} should canonicalize`);
  return routeRequest(canonical.segments, grammar ? () => grammar : undefined);
}

const LEGAL_ID = /^[A-Za-z0-9_.-]+$/;

describe('routeRequest: areas', () => {
  const cases: [path: string, expected: Route][] = [
    ['/', { area: 'root' }],
    ['/favicon.ico', { area: 'root' }],
    ['/LiveApp', { area: 'root' }],
    ['/LiveApp/', { area: 'static', app: 'LiveApp' }],
    ['/LiveApp/play.html', { area: 'static', app: 'LiveApp' }],
    ['/LiveApp/js/webrtc_adaptor.js', { area: 'static', app: 'LiveApp' }],
    ['/LiveApp/previews/stream1.png', { area: 'static', app: 'LiveApp' }],
    ['/LiveApp/websocket', { area: 'websocket', app: 'LiveApp', name: 'websocket' }],
    ['/LiveApp/custom-ws_1', { area: 'websocket', app: 'LiveApp', name: 'custom-ws_1' }],
    ['/LiveApp/websocket/', { area: 'static', app: 'LiveApp' }],
    ['/LiveApp/websocket/x', { area: 'static', app: 'LiveApp' }],
    ['/LiveApp/rest', { area: 'rest', app: 'LiveApp', rest: [] }],
    ['/LiveApp/rest/v2/broadcasts/list/0/10', { area: 'rest', app: 'LiveApp', rest: ['v2', 'broadcasts', 'list', '0', '10'] }],
    ['/LiveApp/whip/stream1', { area: 'whip', app: 'LiveApp', streamId: 'stream1', rest: [] }],
    ['/LiveApp/whip/stream1/etag-123', { area: 'whip', app: 'LiveApp', streamId: 'stream1', rest: ['etag-123'] }],
    ['/LiveApp/whip', { area: 'whip', app: 'LiveApp', streamId: null, rest: [] }],
    ['/LiveApp/whip/', { area: 'whip', app: 'LiveApp', streamId: null, rest: [] }],
    ['/LiveApp/whip/stream1/', { area: 'whip', app: 'LiveApp', streamId: null, rest: [''] }],
    ['/LiveApp/whip/bad%20id', { area: 'whip', app: 'LiveApp', streamId: null, rest: [] }],
    ['/LiveApp/whip/s1/etag/extra', { area: 'whip', app: 'LiveApp', streamId: null, rest: ['etag', 'extra'] }],
    ['/LiveApp/chunked/s1/media_1.m3u8', { area: 'ingest', app: 'LiveApp', kind: 'chunked', streamIds: ['s1'] }],
    ['/LiveApp/chunked/s1/', { area: 'ingest', app: 'LiveApp', kind: 'chunked', streamIds: [] }],
    ['/LiveApp/chunked', { area: 'ingest', app: 'LiveApp', kind: 'chunked', streamIds: [] }],
    ['/LiveApp/hls-upload/s1/s1000000001.ts', { area: 'ingest', app: 'LiveApp', kind: 'hls-upload', streamIds: ['s1'] }],
    ['/LiveApp/hls-upload/s1_240p000000001.ts', { area: 'ingest', app: 'LiveApp', kind: 'hls-upload', streamIds: ['s1', 's1_240p'] }],
    ['/LiveApp/streams', { area: 'streams', app: 'LiveApp', file: '', kind: null, streamIds: [] }],
    ['/LiveApp/streams/', { area: 'streams', app: 'LiveApp', file: '', kind: null, streamIds: [] }],
  ];
  for (const [path, expected] of cases) {
    it(path, () => assert.deepEqual(route(path), expected));
  }
});

type Reading = [kind: 'manifest' | 'segment' | 'file', streamIds: string[]] | null;

describe('routeRequest: files under /streams/', () => {
  const cases: [file: string, expected: Reading][] = [
    // HLS playlists
    ['stream1.m3u8', ['manifest', ['stream1']]],
    ['stream1_adaptive.m3u8', ['manifest', ['stream1', 'stream1_adaptive']]],
    ['stream1_240p.m3u8', ['manifest', ['stream1', 'stream1_240p']]],
    ['stream1_300kbps.m3u8', ['manifest', ['stream1', 'stream1_300kbps']]],
    ['stream1_240p300kbps.m3u8', ['manifest', ['stream1', 'stream1_240p300kbps']]],
    ['my.stream.m3u8', ['manifest', ['my.stream']]],
    ['stream1_240x.m3u8', ['manifest', ['stream1_240x']]],
    ['stream1_p.m3u8', ['manifest', ['stream1_p']]],
    ['stream1_kbps.m3u8', ['manifest', ['stream1_kbps']]],
    ['stream1_240p300.m3u8', ['manifest', ['stream1_240p300']]],
    // HLS segments: exactly nine index digits, optional rendition
    ['stream1000000001.ts', ['segment', ['stream1']]],
    ['stream1000000001.fmp4', ['segment', ['stream1']]],
    ['stream10000000001.ts', ['segment', ['stream10']]],
    ['stream100000000001.ts', ['segment', ['stream100']]],
    ['stream1_240p000000001.ts', ['segment', ['stream1', 'stream1_240p']]],
    ['stream1_300kbps000000001.ts', ['segment', ['stream1', 'stream1_300kbps']]],
    ['stream1_240p300kbps000000001.fmp4', ['segment', ['stream1', 'stream1_240p300kbps']]],
    ['stream1_000000001.ts', ['segment', ['stream1_']]],
    ['000000001.ts', null],
    ['stream10001.ts', null], // legacy 4-digit index: only with `%04d` configured (below)
    ['stream1000001.ts', null],
    ['stream1x00000001.ts', null],
    // fMP4 init segments
    ['stream1_1719999999999_init.mp4', ['segment', ['stream1', 'stream1_1719999999999_init']]],
    [
      'stream1_240p300kbps_1719999999999_init.mp4',
      ['segment', ['stream1', 'stream1_240p300kbps', 'stream1_240p300kbps_1719999999999_init']],
    ],
    ['stream1_init.mp4', ['file', ['stream1_init']]],
    ['stream1_x_init.mp4', ['file', ['stream1_x_init']]],
    // VoD and recordings: ID[-date][_rendition][_N]
    ['stream1.mp4', ['file', ['stream1']]],
    ['stream1.webm', ['file', ['stream1']]],
    ['stream1_2.mp4', ['file', ['stream1', 'stream1_2']]],
    ['stream1_240p300kbps.mp4', ['file', ['stream1', 'stream1_240p300kbps']]],
    ['stream1_240p300kbps_3.webm', ['file', ['stream1', 'stream1_240p300kbps', 'stream1_240p300kbps_3']]],
    ['stream1-2024-01-31_12-00-00.000.mp4', ['file', ['stream1', 'stream1-2024-01-31_12-00-00.000']]],
    [
      'stream1-2024-01-31_12-00-00.000_240p300kbps_2.mp4',
      [
        'file',
        [
          'stream1',
          'stream1-2024-01-31_12-00-00.000',
          'stream1-2024-01-31_12-00-00.000_240p300kbps',
          'stream1-2024-01-31_12-00-00.000_240p300kbps_2',
        ],
      ],
    ],
    ['stream1-2024-01-31_12-00-00.mp4', ['file', ['stream1-2024-01-31_12-00-00']]], // no millis: not a date
    ['my_stream_2.mp4', ['file', ['my_stream', 'my_stream_2']]],
    ['a_1_1.mp4', ['file', ['a_1', 'a_1_1']]],
    // unrecognized directly under streams/
    ['stream1.M3U8', null],
    ['stream1.MP4', null],
    ['stream1.mpd', null],
    ['stream1000000001.m4s', null],
    ['stream1.jpg', null],
    ['stream1.key', null],
    ['stream1.vtt', null],
    // audio-only VoD: named like MP4 recordings
    ['stream1.mp3', ['file', ['stream1']]],
    ['stream1_2.mp3', ['file', ['stream1', 'stream1_2']]],
    ['stream1-2024-01-31_12-00-00.000.mp3', ['file', ['stream1', 'stream1-2024-01-31_12-00-00.000']]],
    ['stream1.MP3', null],
    ['stream1_1719999999999_init.mp3', ['file', ['stream1_1719999999999_init']]], // no init segments in mp3
    ['stream1', null],
    ['.m3u8', null],
    ['stream%201.m3u8', null],
    ['stream!1.m3u8', null],
    ['-20' + '0'.repeat(5000) + '!.mp4', null],
    // DASH/CMAF folders: the folder names the stream for the files a per-stream folder holds
    ['stream1/stream1.mpd', ['manifest', ['stream1']]],
    ['stream1/stream1.m3u8', ['manifest', ['stream1']]],
    ['stream1/stream1_240p.m3u8', ['manifest', ['stream1', 'stream1_240p']]],
    ['stream1/stream1_0segment00139.m4s', ['segment', ['stream1']]],
    ['stream1/init_0.m4s', ['segment', ['stream1']]],
    ['stream1_240p/init_0.m4s', ['segment', ['stream1_240p']]],
    ['stream10/stream1.mpd', ['manifest', ['stream10']]],
    ['stream1/', null],
    ['bad!id/x.mpd', null],
    // subFolders (nested too): the id is in the FILE name, never the folder's
    ['folder/other.m3u8', ['manifest', ['other']]],
    ['folder/other_adaptive.m3u8', ['manifest', ['other', 'other_adaptive']]],
    ['folder/other000000001.ts', ['segment', ['other']]],
    ['folder/other_240p000000001.fmp4', ['segment', ['other', 'other_240p']]],
    ['folder/other_1719999999999_init.mp4', ['segment', ['other', 'other_1719999999999_init']]],
    ['folder/other.mp4', ['file', ['other']]],
    ['folder/other.mp3', ['file', ['other']]],
    ['a/b/c/other.m3u8', ['manifest', ['other']]],
    ['a/b/c/other000000001.ts', ['segment', ['other']]],
    ['folder/folder.m3u8', ['manifest', ['folder']]],
    ['folder/folder000000001.ts', ['segment', ['folder']]],
    ['stream1/stream10.m3u8', ['manifest', ['stream10']]], // not `stream1`: the playlist does not carry its id
    ['stream1/stream10000000001.ts', ['segment', ['stream10']]],
    ['folder/media_0.m3u8', ['manifest', ['media_0']]],
    ['folder/x.ts', null],
    ['folder/x.key', null],
    ['folder/mpd', null],
    ['folder/.m4s', null],
    ['folder/', null],
    // DASH and LL-HLS inside a subFolder: the last folder is the stream
    ['subfolder/s1/s1.mpd', ['manifest', ['s1']]],
    ['a/b/s1/init_0.m4s', ['segment', ['s1']]],
    ['sub/ll-hls/s1/s1__master.m3u8', ['manifest', ['s1', 's1__master']]],
    // LL-HLS: the folder names the stream; names that carry it also read as subFolder files
    ['ll-hls/stream1/stream1__master.m3u8', ['manifest', ['stream1', 'stream1__master']]],
    ['ll-hls/stream1/stream1__720p2000kbps.m3u8', ['manifest', ['stream1', 'stream1_', 'stream1__720p2000kbps']]],
    ['ll-hls/stream1/x.m4s', ['segment', ['stream1']]],
    [
      'll-hls/stream1/stream1__720p2000kbps_0.mp4',
      ['segment', ['stream1', 'stream1_', 'stream1__720p2000kbps', 'stream1__720p2000kbps_0']],
    ],
    ['ll-hls/stream1/', null],
    ['ll-hls/stream1/other.m3u8', ['manifest', ['other']]],
    ['ll-hls/stream1/a/b.m3u8', ['manifest', ['b']]],
    ['ll-hls/ll-hls.mpd', ['manifest', ['ll-hls']]], // a stream may be called ll-hls
  ];
  for (const [file, expected] of cases) {
    it(file.length > 80 ? `${file.slice(0, 40)}… (${file.length} chars)` : file, () => {
      const result = route(`/LiveApp/streams/${file}`);
      assert.equal(result.area, 'streams');
      assert.ok(result.area === 'streams');
      if (expected === null) {
        assert.equal(result.kind, null);
        assert.deepEqual(result.streamIds, []);
      } else {
        assert.equal(result.kind, expected[0]);
        assert.deepEqual(result.streamIds, expected[1]);
      }
    });
  }
});

/** Every file Ant Media can write for a stream, across types, renditions and indices. */
function filesOf(id: string): string[] {
  const renditions = ['', '_240p', '_1080p', '_300kbps', '_240p300kbps', '_1080p10000kbps'];
  const indices = ['000000000', '000000001', '000000010', '100000000', '999999999', '012345678'];
  const files: string[] = [];
  for (const r of renditions) {
    files.push(`${id}${r}.m3u8`);
    for (const index of indices) files.push(`${id}${r}${index}.ts`, `${id}${r}${index}.fmp4`);
    files.push(`${id}${r}_1719999999999_init.mp4`, `${id}${r}_0_init.mp4`);
    for (const date of ['', '-2024-01-31_12-00-00.000']) {
      for (const copy of ['', '_1', '_2', '_10', '_100']) {
        files.push(`${id}${date}${r}${copy}.mp4`, `${id}${date}${r}${copy}.webm`);
      }
    }
  }
  files.push(`${id}_adaptive.m3u8`, `${id}.mp3`, `${id}_2.mp3`);
  files.push(`sub/${id}.m3u8`, `sub/${id}000000001.ts`, `a/b/${id}_240p000000007.ts`, `a/b/${id}.mp4`, `sub/${id}/${id}.mpd`);
  files.push(`${id}/${id}.mpd`, `${id}/${id}_0segment00139.m4s`, `${id}/init_0.m4s`, `${id}/${id}.m3u8`);
  files.push(`ll-hls/${id}/${id}__master.m3u8`, `ll-hls/${id}/${id}__720p2000kbps.m3u8`, `ll-hls/${id}/seg_1.m4s`);
  return files;
}

describe('the stream1 / stream10 / stream100 family', () => {
  const family = ['stream1', 'stream10', 'stream100', 'stream1000'];
  for (const owner of family) {
    it(`every file of ${owner} names ${owner} first and no other family member`, () => {
      const files = filesOf(owner);
      assert.ok(files.length > 200);
      for (const file of files) {
        const result = route(`/LiveApp/streams/${file}`);
        assert.ok(result.area === 'streams' && result.kind !== null, `${file} should be recognized`);
        assert.equal(result.streamIds[0], owner, file);
        for (const other of family) {
          if (other !== owner) assert.ok(!result.streamIds.includes(other), `${file} must not match ${other}`);
        }
      }
    });
  }
});

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** X and O are the same id, or one extends the other across a `_` or `-` delimiter. */
function delimitedRelatives(x: string, o: string): boolean {
  if (x === o) return true;
  const [short, long] = x.length < o.length ? [x, o] : [o, x];
  const next = long.charAt(short.length);
  return long.startsWith(short) && (next === '_' || next === '-');
}

describe('properties over generated names', () => {
  const random = prng(0x5eed);
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABC0123456789_.-';
  const pick = (s: string) => s.charAt(Math.floor(random() * s.length));
  const randomId = () => Array.from({ length: 1 + Math.floor(random() * 12) }, () => pick(alphabet)).join('');

  it('every file of a random id names that id, and other readings differ only across a _ or - delimiter', () => {
    for (let n = 0; n < 300; n++) {
      const owner = randomId();
      if (owner === 'll-hls' || owner === '.' || owner === '..') continue;
      const files = filesOf(owner);
      for (const file of files.filter((_, i) => i % 7 === n % 7)) {
        const canonical = canonicalizeUrl(`/LiveApp/streams/${file}`, 1 << 20);
        if (!canonical.ok) continue; // e.g. an id of '.' segments; refused before routing
        const result = routeRequest(canonical.segments);
        assert.ok(result.area === 'streams');
        assert.ok(result.streamIds.includes(owner), `${file}: ${JSON.stringify(result.streamIds)} lacks ${owner}`);
        for (const id of result.streamIds) {
          assert.ok(delimitedRelatives(id, owner), `${file}: ${id} vs ${owner}`);
        }
      }
    }
  });

  it('any name parses to legal ids that are prefixes of the name, or to nothing', () => {
    const junkAlphabet = 'ab1_-.0pkbs9%!~/:_init.mp4.ts.m3u8';
    for (let n = 0; n < 5000; n++) {
      const name = Array.from({ length: 1 + Math.floor(random() * 30) }, () => pick(junkAlphabet)).join('');
      for (const suffix of ['', '.ts', '.m3u8', '.mp4', '_init.mp4', '000000001.ts']) {
        const reading = readFlatFile(name + suffix);
        if (reading === null) continue;
        assert.ok(reading.streamIds.length > 0);
        for (const id of reading.streamIds) {
          assert.match(id, LEGAL_ID);
          assert.ok(isStreamId(id));
          assert.ok((name + suffix).startsWith(id), `${name + suffix} → ${id}`);
        }
      }
    }
  });
});

describe('hlsSegmentFileSuffixFormat: other segment names', () => {
  const cases: [formats: string[], file: string, expected: Reading][] = [
    // date/epoch-based formats (Ant Media documents `-%Y%m%d-%s`)
    [['-%Y%m%d-%s'], 'stream1-20240131-1719999999.ts', ['segment', ['stream1']]],
    [['-%Y%m%d-%s'], 'stream1_240p300kbps-20240131-1719999999.fmp4', ['segment', ['stream1', 'stream1_240p300kbps']]],
    [['-%Y%m%d-%s'], 'a/b/stream1-20240131-1719999999.ts', ['segment', ['stream1']]],
    [['-%Y%m%d-%s'], 'stream1-2024013-1719999999.ts', null],
    [['-%Y%m%d-%s'], 'stream1-20240131_1719999999.ts', null],
    [['-%Y%m%d-%s'], 'stream1000000001.ts', null], // only the configured format is read
    [['-%Y%m%d-%s'], '-20240131-1719999999.ts', null],
    [['%s'], 'stream11719999999.ts', ['segment', ['stream1']]],
    [['_%Y-%m-%d_%H-%M-%S'], 'cam_2024-01-31_12-00-00.ts', ['segment', ['cam']]],
    // legacy 4-digit indexes (older Ant Media versions), opt-in next to the default
    [['%09d', '%04d'], 'stream10001.ts', ['segment', ['stream1']]],
    [['%09d', '%04d'], 'stream1_240p0001.ts', ['segment', ['stream1', 'stream1_240p']]],
    [['%09d', '%04d'], 'stream1000000001.ts', ['segment', ['stream1', 'stream100000']]], // both formats fit
    [['%09d', '%04d'], 'stream1001.ts', ['segment', ['stream']]],
    [['%09d', '%04d'], 'x001.ts', null],
    [['%04d'], 'stream1000000001.ts', ['segment', ['stream100000']]],
    // other files do not depend on the format
    [['-%Y%m%d-%s'], 'stream1.m3u8', ['manifest', ['stream1']]],
    [['%04d'], 'stream1_1719999999999_init.mp4', ['segment', ['stream1', 'stream1_1719999999999_init']]],
  ];
  for (const [formats, file, expected] of cases) {
    it(`${formats.join(', ')}: ${file}`, () => {
      const result = route(`/LiveApp/streams/${file}`, streamGrammar(formats));
      assert.ok(result.area === 'streams');
      if (expected === null) {
        assert.equal(result.kind, null);
        assert.deepEqual(result.streamIds, []);
      } else {
        assert.equal(result.kind, expected[0]);
        assert.deepEqual(result.streamIds, expected[1]);
      }
    });
  }

  it('the grammar is per app: another app keeps the default', () => {
    // Each format cuts at one fixed place; two formats read a name once per format that fits.
    const grammars = new Map([['DateApp', streamGrammar(['-%Y%m%d-%s'])]]);
    const canonical = canonicalizeUrl('/LiveApp/streams/stream1-20240131-1719999999.ts', 1 << 20);
    assert.ok(canonical.ok);
    // LiveApp reads the last nine digits as the segment number, so the name is another stream's.
    const other = routeRequest(canonical.segments, (app) => grammars.get(app));
    assert.ok(other.area === 'streams');
    assert.deepEqual(other.streamIds, ['stream1-20240131-1']);
    const dated = routeRequest(['DateApp', ...canonical.segments.slice(1)], (app) => grammars.get(app));
    assert.ok(dated.area === 'streams');
    assert.deepEqual(dated.streamIds, ['stream1']);
  });

  it('only fixed-width formats of file-name characters compile; errors say why', () => {
    assert.equal(compileSuffixFormat('%09d').width, 9);
    assert.equal(compileSuffixFormat('-%Y%m%d-%s').width, 20);
    assert.equal(compileSuffixFormat('%d').width, 2); // the day, as Ant Media reads it
    const refused: [string, RegExp][] = [
      ['%9d', /not a fixed-width field/],
      ['%x', /not a fixed-width field/],
      ['%', /not a fixed-width field/],
      ['%0d', /zero-padded number/],
      ['%021d', /zero-padded number/],
      ['%09x', /zero-padded number/],
      ['seg', /at least one field/],
      ['', /at least one field/],
      ['/%09d', /cannot appear/],
      ['%%%09d', /not a fixed-width field/], // a literal % never appears in a segment name
      ['%020d%020d%020d%09d', /at most 64/],
    ];
    for (const [format, message] of refused) assert.throws(() => compileSuffixFormat(format), message, format);
  });

  it('every segment of a random id under a date format names that id; others differ across a delimiter', () => {
    const random = prng(0xda7e);
    const alphabet = 'abcXYZ0189_.-';
    const grammar = streamGrammar(['-%Y%m%d-%s', '%09d']);
    for (let n = 0; n < 500; n++) {
      const owner = Array.from({ length: 1 + Math.floor(random() * 10) }, () => alphabet.charAt(Math.floor(random() * alphabet.length))).join('');
      if (!isStreamId(owner)) continue; // dot-only ids are refused everywhere
      for (const r of ['', '_240p', '_240p300kbps']) {
        for (const file of [`${owner}${r}-20240131-1719999999.ts`, `${owner}${r}000000042.fmp4`, `sub/${owner}${r}-20991231-4102444799.ts`]) {
          const canonical = canonicalizeUrl(`/LiveApp/streams/${file}`, 1 << 20);
          if (!canonical.ok) continue;
          const result = routeRequest(canonical.segments, () => grammar);
          assert.ok(result.area === 'streams' && result.streamIds.includes(owner), `${file}: ${JSON.stringify(result)}`);
          for (const id of result.streamIds) assert.ok(delimitedRelatives(id, owner), `${file}: ${id} vs ${owner}`);
        }
      }
    }
  });
});
