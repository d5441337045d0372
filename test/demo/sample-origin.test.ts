// The demo origin over real HTTP: Ant Media file names, a live window that moves with the clock, and
// the static-file semantics (Range/416/304/HEAD) that the gate has to pass through untouched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSampleOrigin, type SampleOrigin } from '../../src/demo/sample-origin.js';
import { retimeFragment } from '../../src/demo/sample-media.js';

let t = Date.UTC(2026, 0, 1, 12, 0, 0);
let origin: SampleOrigin;
let base: string;

before(async () => {
  origin = await startSampleOrigin({ host: '127.0.0.1', port: 0, now: () => t });
  base = `${origin.url}/LiveApp/streams`;
});
after(() => origin.close());

const get = (path: string, init?: RequestInit) => fetch(`${base}/${path}`, init);
const bytes = async (r: Response) => Buffer.from(await r.arrayBuffer());
const uris = (playlist: string) => playlist.split('\n').filter((l) => l && !l.startsWith('#'));
const tag = (playlist: string, name: string) => new RegExp(`^#${name}:(.*)$`, 'm').exec(playlist)?.[1];

describe('sample origin: live HLS', () => {
  it('serves a full rolling window that advances with the clock', async () => {
    const r1 = await get('stream1.m3u8');
    assert.equal(r1.status, 200);
    assert.equal(r1.headers.get('content-type'), 'application/vnd.apple.mpegurl');
    const p1 = await r1.text();
    assert.equal(tag(p1, 'EXT-X-TARGETDURATION'), '2');
    assert.equal(tag(p1, 'EXT-X-MEDIA-SEQUENCE'), '0');
    assert.deepEqual(uris(p1), [0, 1, 2, 3, 4].map((n) => `stream1${String(n).padStart(9, '0')}.ts`));

    t += 2000;
    const p2 = await (await get('stream1.m3u8')).text();
    assert.equal(tag(p2, 'EXT-X-MEDIA-SEQUENCE'), '1');
    assert.equal(uris(p2).length, 5);
    assert.equal(uris(p2).at(-1), 'stream1000000005.ts');

    t += 20_000; // ten more segments: the cycle of 4 files has wrapped, so discontinuities are marked
    const p3 = await (await get('stream1.m3u8')).text();
    assert.equal(tag(p3, 'EXT-X-MEDIA-SEQUENCE'), '11');
    assert.equal(tag(p3, 'EXT-X-DISCONTINUITY-SEQUENCE'), '2');
    assert.match(p3, /#EXT-X-DISCONTINUITY\n#EXTINF:2\.000,\nstream1000000012\.ts/);
  });

  it('serves listed segments as MPEG-TS and 404s segments not produced yet', async () => {
    const playlist = await (await get('stream1.m3u8')).text();
    const last = uris(playlist).at(-1)!;
    const seg = await get(`${last}?token=ignored-by-the-origin`);
    assert.equal(seg.status, 200);
    assert.equal(seg.headers.get('content-type'), 'video/mp2t');
    const body = await bytes(seg);
    assert.ok(body.length > 1000 && body.length % 188 === 0);
    assert.equal(body[0], 0x47); // TS sync byte
    const next = Number(last.slice('stream1'.length, -3)) + 1;
    assert.equal((await get(`stream1${String(next).padStart(9, '0')}.ts`)).status, 404);
    assert.equal((await get('stream1000000000.ts')).status, 200, 'old segments stay available');
  });

  it('has an adaptive master with two renditions whose playlists and segments resolve', async () => {
    const master = await (await get('stream1_adaptive.m3u8')).text();
    assert.deepEqual(uris(master), ['stream1_240p300kbps.m3u8', 'stream1_480p800kbps.m3u8']);
    assert.match(master, /RESOLUTION=426x240,CODECS="avc1\.[0-9a-f]{6}"/);
    for (const rendition of ['240p300kbps', '480p800kbps']) {
      const playlist = await (await get(`stream1_${rendition}.m3u8`)).text();
      const segs = uris(playlist);
      assert.equal(segs.length, 5);
      assert.match(segs[0]!, new RegExp(`^stream1_${rendition}\\d{9}\\.ts$`));
      const seg = await get(segs[0]!);
      assert.equal(seg.status, 200);
      assert.equal(seg.headers.get('content-type'), 'video/mp2t');
      await seg.arrayBuffer();
    }
  });

  it('keeps stream10 apart from stream1 (different bytes, own names)', async () => {
    const p = await (await get('stream10.m3u8')).text();
    assert.ok(uris(p).every((u) => /^stream10\d{9}\.ts$/.test(u)));
    const a = await bytes(await get('stream1000000000.ts'));
    const b = await bytes(await get('stream10000000000.ts'));
    assert.notDeepEqual(a, b);
    const ma = await bytes(await get('stream1.mp4'));
    const mb = await bytes(await get('stream10.mp4'));
    assert.notDeepEqual(ma, mb);
    assert.equal((await get('stream2.m3u8')).status, 404);
  });
});

describe('sample origin: DASH', () => {
  it('serves a dynamic MPD, init segments and retimed chunks', async () => {
    const r = await get('stream1/stream1.mpd');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/dash+xml');
    const mpd = await r.text();
    assert.match(mpd, /type="dynamic"/);
    assert.match(mpd, /media="chunk_\$RepresentationID\$_\$Number%05d\$\.m4s"/);
    assert.match(mpd, /initialization="init_\$RepresentationID\$\.m4s"/);

    const init = await get('stream1/init_0.m4s');
    assert.equal(init.status, 200);
    assert.equal(init.headers.get('content-type'), 'video/iso.segment');
    assert.equal((await bytes(init)).toString('latin1', 4, 8), 'ftyp');

    const c1 = await bytes(await get('stream1/chunk_0_00001.m4s'));
    const c5 = await bytes(await get('stream1/chunk_0_00005.m4s'));
    // Chunk 5 reuses chunk 1's file, moved four chunk durations later in the timeline.
    assert.notDeepEqual(c1, c5);
    assert.equal(c5.length, c1.length);
    assert.equal((await get('stream1/chunk_0_99999.m4s')).status, 404);
    assert.equal((await get('stream1/chunk_7_00001.m4s')).status, 404);
  });

  it('retimeFragment moves tfdt and round-trips', async () => {
    const c1 = await bytes(await get('stream1/chunk_1_00001.m4s'));
    const moved = retimeFragment(c1, 123_456_789n);
    assert.notDeepEqual(moved, c1);
    assert.deepEqual(retimeFragment(moved, 0n), c1);
  });
});

describe('sample origin: MP4 VoD', () => {
  it('answers Range with 206 and the exact bytes', async () => {
    const full = await bytes(await get('stream1.mp4'));
    assert.ok(full.length > 1000);
    const r = await get('stream1.mp4', { headers: { Range: 'bytes=100-199' } });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), `bytes 100-199/${full.length}`);
    assert.equal(r.headers.get('content-length'), '100');
    assert.deepEqual(await bytes(r), full.subarray(100, 200));

    const tail = await get('stream1.mp4', { headers: { Range: 'bytes=-10' } });
    assert.equal(tail.status, 206);
    assert.deepEqual(await bytes(tail), full.subarray(full.length - 10));
    const open = await get('stream1.mp4', { headers: { Range: `bytes=${full.length - 3}-` } });
    assert.deepEqual(await bytes(open), full.subarray(full.length - 3));
  });

  it('answers an unsatisfiable Range with 416 and bytes */size', async () => {
    const size = (await bytes(await get('stream1.mp4'))).length;
    const r = await get('stream1.mp4', { headers: { Range: `bytes=${size}-` } });
    assert.equal(r.status, 416);
    assert.equal(r.headers.get('content-range'), `bytes */${size}`);
    await r.arrayBuffer();
  });

  it('HEAD has the headers and no body', async () => {
    const g = await get('stream1.mp4');
    const size = (await bytes(g)).length;
    const h = await get('stream1.mp4', { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('content-type'), 'video/mp4');
    assert.equal(h.headers.get('content-length'), String(size));
    assert.equal(h.headers.get('accept-ranges'), 'bytes');
    assert.equal((await bytes(h)).length, 0);
  });

  it('revalidates with ETag and Last-Modified (304)', async () => {
    const r = await get('stream1.mp4');
    await r.arrayBuffer();
    const etag = r.headers.get('etag')!;
    const lastModified = r.headers.get('last-modified')!;
    assert.match(etag, /^"[^"]+"$/);
    const inm = await get('stream1.mp4', { headers: { 'If-None-Match': etag } });
    assert.equal(inm.status, 304);
    assert.equal((await bytes(inm)).length, 0);
    assert.equal(inm.headers.get('etag'), etag);
    const ims = await get('stream1.mp4', { headers: { 'If-Modified-Since': lastModified } });
    assert.equal(ims.status, 304);
    const other = await get('stream1.mp4', { headers: { 'If-None-Match': '"something-else"' } });
    assert.equal(other.status, 200);
    await other.arrayBuffer();
    // If-Range with a stale validator: the whole file, not a range of it.
    const stale = await get('stream1.mp4', { headers: { Range: 'bytes=0-9', 'If-Range': '"stale"' } });
    assert.equal(stale.status, 200);
    await stale.arrayBuffer();
  });
});

describe('sample origin: pages and errors', () => {
  it('serves play.html and the root page as HTML', async () => {
    for (const url of [`${origin.url}/LiveApp/play.html`, `${origin.url}/`]) {
      const r = await fetch(url);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(await r.text(), /<!doctype html>/);
    }
  });

  it('404s unknown files and other apps, 405s writes', async () => {
    for (const path of ['/LiveApp/streams/nothing.txt', '/OtherApp/streams/stream1.m3u8', '/LiveApp/streams/stream1.M3U8', '/favicon.ico']) {
      const r = await fetch(`${origin.url}${path}`);
      assert.equal(r.status, 404, path);
      await r.arrayBuffer();
    }
    const post = await get('stream1.m3u8', { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    await post.arrayBuffer();
  });

  it('serves the same streams under every configured app', async () => {
    const multi = await startSampleOrigin({ apps: ['LiveApp', 'SubscriberApp'], now: () => t });
    try {
      assert.deepEqual(multi.apps, ['LiveApp', 'SubscriberApp']);
      for (const app of multi.apps) {
        const r = await fetch(`${multi.url}/${app}/streams/stream1.m3u8`);
        assert.equal(r.status, 200, app);
        await r.arrayBuffer();
      }
      const other = await fetch(`${multi.url}/WebRTCAppEE/streams/stream1.m3u8`);
      assert.equal(other.status, 404);
      await other.arrayBuffer();
    } finally {
      await multi.close();
    }
  });
});
