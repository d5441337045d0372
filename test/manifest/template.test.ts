// Manifest templates: which slot takes which grant. URIs a player re-requests unchanged while it
// plays (variant and rendition playlists, an MPD Location, a steering manifest, remote periods) take
// the session grant; everything it fetches once (segments, keys, init sections, parts) the media
// grant. The rendered bytes' length is the Content-Length sent, so it must match byte for byte.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileManifest } from '../../src/manifest/manifest.js';
import { renderTemplate, renderTemplateBytes } from '../../src/manifest/template.js';

const ctx = { param: 'sg', removeParams: ['token'], clientOrigin: 'https://edge.example.com' };
let sessionCalls = 0;
const grants = {
  media: 'MEDIA',
  session: () => {
    sessionCalls++;
    return 'SESSION~é'; // not URI-safe: percent-encoded in the answer, counted in bytes
  },
};
const SESSION_IN_URI = encodeURIComponent('SESSION~é');
/** Each URI (line or quoted attribute) of an answer → the grant it carries. */
const grantsByUri = (text: string) =>
  [...text.matchAll(/(?:^|URI=")([^"\n#][^"\n]*?)\?sg=([^"\n&]+)/gm)].map((m) => [m[1], m[2] === 'MEDIA' ? 'media' : m[2] === SESSION_IN_URI ? 'session' : m[2]]);

describe('manifest templates: media and session slots', () => {
  it('HLS multivariant playlist: variant lines and rendition/i-frame/image playlists take the session grant; keys and session data the media grant', () => {
    const master = [
      '#EXTM3U',
      '#EXT-X-SESSION-KEY:METHOD=AES-128,URI="key.bin"',
      '#EXT-X-SESSION-DATA:DATA-ID="com.example.title",URI="title.json"',
      '#EXT-X-CONTENT-STEERING:SERVER-URI="steering.json",PATHWAY-ID="A"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="audio_en.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=300000,AUDIO="aud"',
      'stream1_240p.m3u8?token=t',
      '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=80000,URI="iframes.m3u8"',
      '#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=10000,URI="thumbs.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=900000',
      'stream1_720p.m3u8',
      '',
    ].join('\n');
    const t = compileManifest('hls', master, ctx);
    const out = renderTemplate(t, grants);
    assert.deepEqual(grantsByUri(out), [
      ['key.bin', 'media'],
      ['title.json', 'media'],
      ['steering.json', 'session'], // re-fetched every TTL
      ['audio_en.m3u8', 'session'],
      ['stream1_240p.m3u8', 'session'],
      ['iframes.m3u8', 'session'],
      ['thumbs.m3u8', 'session'],
      ['stream1_720p.m3u8', 'session'],
    ]);
    assert.equal(renderTemplateBytes(t, grants).length, Buffer.byteLength(out), 'the Content-Length sent');
    assert.deepEqual(renderTemplateBytes(t, grants), Buffer.from(out), 'the bytes sent are the text, UTF-8');
  });

  it('HLS media playlist: segments, maps, parts and hints take the media grant; rendition reports the session grant; the session grant is not even signed when unused', () => {
    const media = [
      '#EXTM3U',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXT-X-KEY:METHOD=AES-128,URI="k1.bin"',
      '#EXTINF:2.0,',
      'seg1.m4s',
      '#EXT-X-PART:DURATION=0.5,URI="seg2.0.m4s"',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg2.1.m4s"',
      '#EXT-X-RENDITION-REPORT:URI="../720p/live.m3u8",LAST-MSN=2',
      '',
    ].join('\n');
    const t = compileManifest('hls', media, ctx);
    assert.deepEqual(grantsByUri(renderTemplate(t, grants)), [
      ['init.mp4', 'media'],
      ['k1.bin', 'media'],
      ['seg1.m4s', 'media'],
      ['seg2.0.m4s', 'media'],
      ['seg2.1.m4s', 'media'],
      ['../720p/live.m3u8', 'session'],
    ]);
    const plain = compileManifest('hls', media.replace(/#EXT-X-RENDITION-REPORT.*\n/, ''), ctx);
    assert.equal(plain.sessionSlots, null);
    const before = sessionCalls;
    const out = renderTemplate(plain, grants);
    assert.equal(renderTemplateBytes(plain, grants).length, Buffer.byteLength(out), 'the Content-Length sent');
    assert.deepEqual(renderTemplateBytes(plain, grants), Buffer.from(out));
    assert.equal(sessionCalls, before, 'a media playlist without session slots never asks for the session grant');
  });

  it('DASH: Location, PatchLocation and remote periods take the session grant; BaseURL and segment templates the media grant', () => {
    const mpd = `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:xlink="http://www.w3.org/1999/xlink" type="dynamic">
  <Location>https://edge.example.com/LiveApp/streams/s/s.mpd?token=t</Location>
  <PatchLocation ttl="60">patch.mpp</PatchLocation>
  <BaseURL>https://edge.example.com/LiveApp/streams/s/</BaseURL>
  <Period id="ad" xlink:href="ad-period.xml" xlink:actuate="onRequest"/>
  <Period id="p0"><AdaptationSet><Representation id="v0" bandwidth="1">
    <SegmentTemplate media="chunk_$RepresentationID$_$Number%05d$.m4s" initialization="init_$RepresentationID$.m4s"/>
  </Representation></AdaptationSet></Period>
</MPD>
`;
    const t = compileManifest('dash', mpd, ctx);
    const out = renderTemplate(t, grants);
    const slot = (uri: string) => {
      const at = out.indexOf(uri);
      const m = /^[^<"]*?sg=([^<"&]+)/.exec(out.slice(at));
      return m?.[1] === 'MEDIA' ? 'media' : m?.[1] === SESSION_IN_URI ? 'session' : m?.[1];
    };
    assert.equal(slot('https://edge.example.com/LiveApp/streams/s/s.mpd'), 'session');
    assert.equal(slot('patch.mpp'), 'session');
    assert.equal(slot('ad-period.xml'), 'session');
    assert.equal(slot('https://edge.example.com/LiveApp/streams/s/<'), undefined); // sanity: no match past the URI
    assert.equal(slot('https://edge.example.com/LiveApp/streams/s/?'), 'media');
    assert.equal(slot('chunk_$RepresentationID$'), 'media');
    assert.equal(slot('init_$RepresentationID$'), 'media');
    assert.equal(renderTemplateBytes(t, grants).length, Buffer.byteLength(out), 'the Content-Length sent');
    assert.deepEqual(renderTemplateBytes(t, grants), Buffer.from(out));
    assert.deepEqual(renderTemplateBytes(t, { media: 'MEDIA' }), Buffer.from(renderTemplate(t, 'MEDIA')), 'without a session grant every slot takes the media grant');
  });

  it('non-ASCII text is sent as UTF-8, with or without slots', () => {
    const text = '#EXTM3U\n#EXT-X-SESSION-DATA:DATA-ID="t",VALUE="Zoë 🎬"\n';
    const none = compileManifest('hls', text, ctx);
    assert.equal(none.slots, 0);
    assert.deepEqual(renderTemplateBytes(none, grants), Buffer.from(text));
    const some = compileManifest('hls', `${text}#EXTINF:2,é\nseg-é.ts\n`, ctx);
    assert.equal(some.slots, 1);
    assert.deepEqual(renderTemplateBytes(some, grants), Buffer.from(`${text}#EXTINF:2,é\nseg-é.ts?sg=MEDIA\n`));
  });

  it('a plain grant string fills every slot (one-grant callers and the fixtures)', () => {
    const t = compileManifest('hls', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n', ctx);
    assert.equal(renderTemplate(t, 'G'), '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8?sg=G\n');
    assert.equal(renderTemplateBytes(t, { media: 'G' }).length, Buffer.byteLength(renderTemplate(t, 'G')));
  });
});
