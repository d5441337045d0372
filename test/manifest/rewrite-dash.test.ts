// DASH MPD rewriting and the manifest dispatch: inputs modelled on Ant Media's CMAF output
// (streams/<id>/<id>.mpd) and on SegmentList/BaseURL packagers; expected documents written in full.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rewriteDashManifest } from '../../src/manifest/rewrite-dash.js';
import {
  detectManifestKind,
  isManifestContentType,
  manifestKindOfContentType,
  mayBeManifest,
  rewriteManifest,
  sniffManifestKind,
  type RewriteOptions,
} from '../../src/manifest/manifest.js';

const opts: RewriteOptions = {
  param: 'sg',
  grant: 'v1.cGF5bG9hZA.c2lnbmF0dXJl',
  removeParams: ['token', 'subscriberCode'],
  manifestUrl: { origin: 'https://edge.example.com', path: '/LiveApp/streams/stream1/stream1.mpd' },
};

interface Case {
  name: string;
  input: string;
  expected: string;
}

const cases: Case[] = [
  {
    name: "Ant Media CMAF (stream1/stream1.mpd): SegmentTemplate with $RepresentationID$ and $Number%05d$",
    input: `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
\txmlns="urn:mpeg:dash:schema:mpd:2011"
\tprofiles="urn:mpeg:dash:profile:isoff-live:2011"
\ttype="dynamic"
\tminimumUpdatePeriod="PT5S"
\tavailabilityStartTime="2024-05-10T09:12:31.123Z"
\ttimeShiftBufferDepth="PT30S"
\tminBufferTime="PT4.0S">
\t<Period id="0" start="PT0.0S">
\t\t<AdaptationSet id="0" contentType="video" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true" frameRate="30/1" maxWidth="1280" maxHeight="720" par="16:9">
\t\t\t<Representation id="0" mimeType="video/mp4" codecs="avc1.42c01f" bandwidth="2000000" width="1280" height="720" sar="1:1">
\t\t\t\t<SegmentTemplate timescale="1000000" duration="6000000" initialization="init_$RepresentationID$.m4s" media="chunk_$RepresentationID$_$Number%05d$.m4s" startNumber="1">
\t\t\t\t</SegmentTemplate>
\t\t\t</Representation>
\t\t</AdaptationSet>
\t\t<AdaptationSet id="1" contentType="audio" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true">
\t\t\t<Representation id="1" mimeType="audio/mp4" codecs="opus" bandwidth="64000" audioSamplingRate="48000">
\t\t\t\t<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2" />
\t\t\t\t<SegmentTemplate timescale="48000" duration="288000" initialization="init_$RepresentationID$.m4s" media="chunk_$RepresentationID$_$Number%05d$.m4s" startNumber="1"/>
\t\t\t</Representation>
\t\t</AdaptationSet>
\t</Period>
\t<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-xsdate:2014" value="https://time.akamai.com/?iso" />
</MPD>
`,
    expected: `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
\txmlns="urn:mpeg:dash:schema:mpd:2011"
\tprofiles="urn:mpeg:dash:profile:isoff-live:2011"
\ttype="dynamic"
\tminimumUpdatePeriod="PT5S"
\tavailabilityStartTime="2024-05-10T09:12:31.123Z"
\ttimeShiftBufferDepth="PT30S"
\tminBufferTime="PT4.0S">
\t<Period id="0" start="PT0.0S">
\t\t<AdaptationSet id="0" contentType="video" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true" frameRate="30/1" maxWidth="1280" maxHeight="720" par="16:9">
\t\t\t<Representation id="0" mimeType="video/mp4" codecs="avc1.42c01f" bandwidth="2000000" width="1280" height="720" sar="1:1">
\t\t\t\t<SegmentTemplate timescale="1000000" duration="6000000" initialization="init_$RepresentationID$.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl" media="chunk_$RepresentationID$_$Number%05d$.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl" startNumber="1">
\t\t\t\t</SegmentTemplate>
\t\t\t</Representation>
\t\t</AdaptationSet>
\t\t<AdaptationSet id="1" contentType="audio" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true">
\t\t\t<Representation id="1" mimeType="audio/mp4" codecs="opus" bandwidth="64000" audioSamplingRate="48000">
\t\t\t\t<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2" />
\t\t\t\t<SegmentTemplate timescale="48000" duration="288000" initialization="init_$RepresentationID$.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl" media="chunk_$RepresentationID$_$Number%05d$.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl" startNumber="1"/>
\t\t\t</Representation>
\t\t</AdaptationSet>
\t</Period>
\t<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-xsdate:2014" value="https://time.akamai.com/?iso" />
</MPD>
`,
  },
  {
    name: 'SegmentList: Location, BaseURL relative/absolute/foreign, Initialization@sourceURL, SegmentURL, &amp; queries, single quotes',
    input: `<?xml version="1.0" encoding="UTF-8"?>
<!-- packager v2; <SegmentURL media="commented.m4s"/> must stay as written -->
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" minimumUpdatePeriod="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Location>https://edge.example.com/LiveApp/streams/stream1/stream1.mpd?token=abc&amp;v=2</Location>
  <BaseURL>https://edge.example.com/LiveApp/streams/stream1/</BaseURL>
  <Period id="p0" start="PT0S">
    <BaseURL serviceLocation="backup">https://cdn.other.net/LiveApp/streams/stream1/</BaseURL>
    <AdaptationSet mimeType="video/mp4" segmentAlignment="true">
      <Representation id="v0" bandwidth="800000" width="640" height="360" codecs="avc1.4d401e">
        <BaseURL>
          v0/
        </BaseURL>
        <SegmentList timescale="1000" duration="2000">
          <Initialization sourceURL="init.mp4?cdn=a&amp;token=abc"/>
          <SegmentURL media="seg-1.m4s"/>
          <SegmentURL media = 'seg-2.m4s?a=1&amp;b=%26&amp;note="q"' />
          <SegmentURL mediaRange="0-1023" media="seg-3.m4s"/>
          <SegmentURL media="https://cdn.other.net/seg-4.m4s?a=1&amp;token=x"/>
        </SegmentList>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`,
    expected: `<?xml version="1.0" encoding="UTF-8"?>
<!-- packager v2; <SegmentURL media="commented.m4s"/> must stay as written -->
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" minimumUpdatePeriod="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Location>https://edge.example.com/LiveApp/streams/stream1/stream1.mpd?v=2&amp;sg=v1.cGF5bG9hZA.c2lnbmF0dXJl</Location>
  <BaseURL>https://edge.example.com/LiveApp/streams/stream1/?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl</BaseURL>
  <Period id="p0" start="PT0S">
    <BaseURL serviceLocation="backup">https://cdn.other.net/LiveApp/streams/stream1/</BaseURL>
    <AdaptationSet mimeType="video/mp4" segmentAlignment="true">
      <Representation id="v0" bandwidth="800000" width="640" height="360" codecs="avc1.4d401e">
        <BaseURL>
          v0/?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl
        </BaseURL>
        <SegmentList timescale="1000" duration="2000">
          <Initialization sourceURL="init.mp4?cdn=a&amp;sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"/>
          <SegmentURL media="seg-1.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"/>
          <SegmentURL media = 'seg-2.m4s?a=1&amp;b=%26&amp;note="q"&amp;sg=v1.cGF5bG9hZA.c2lnbmF0dXJl' />
          <SegmentURL mediaRange="0-1023" media="seg-3.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"/>
          <SegmentURL media="https://cdn.other.net/seg-4.m4s?a=1&amp;token=x"/>
        </SegmentList>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`,
  },
  {
    name: 'SegmentTemplate with $Time$ timeline, an existing ?, an old grant, $$ escapes and entity spellings',
    input: `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static">
<Period>
<AdaptationSet>
<SegmentTemplate timescale="90000" media="$RepresentationID$/t$Time$.m4s?ver=3&amp;sg=old" initialization="$RepresentationID$/init.mp4?x=&#38;&#x26;y=$$1" index="$RepresentationID$/index.sidx">
<SegmentTimeline><S t="0" d="540000" r="9"/></SegmentTimeline>
</SegmentTemplate>
<Representation id="v1" bandwidth="1500000"><BaseURL>v1.mp4</BaseURL><SegmentBase><RepresentationIndex sourceURL="v1.sidx"/></SegmentBase></Representation>
<Representation id="v2" bandwidth="3000000"><SegmentTemplate media="$RepresentationID$_$Bandwidth$_$Number$.m4s"/></Representation>
</AdaptationSet>
</Period>
</MPD>`,
    expected: `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static">
<Period>
<AdaptationSet>
<SegmentTemplate timescale="90000" media="$RepresentationID$/t$Time$.m4s?ver=3&amp;sg=v1.cGF5bG9hZA.c2lnbmF0dXJl" initialization="$RepresentationID$/init.mp4?x=&amp;y=$$1&amp;sg=v1.cGF5bG9hZA.c2lnbmF0dXJl" index="$RepresentationID$/index.sidx?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl">
<SegmentTimeline><S t="0" d="540000" r="9"/></SegmentTimeline>
</SegmentTemplate>
<Representation id="v1" bandwidth="1500000"><BaseURL>v1.mp4?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl</BaseURL><SegmentBase><RepresentationIndex sourceURL="v1.sidx?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"/></SegmentBase></Representation>
<Representation id="v2" bandwidth="3000000"><SegmentTemplate media="$RepresentationID$_$Bandwidth$_$Number$.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"/></Representation>
</AdaptationSet>
</Period>
</MPD>`,
  },
  {
    name: 'CDATA, namespace prefixes, CRLF, DOCTYPE, comments inside text and unknown entities',
    input:
      '<?xml version="1.0"?>\r\n<!DOCTYPE MPD [ <!ENTITY host "edge.example.com"> ]>\r\n' +
      '<mpd:MPD xmlns:mpd="urn:mpeg:dash:schema:mpd:2011">\r\n' +
      '  <mpd:BaseURL> <![CDATA[https://edge.example.com/LiveApp/streams/s1/?a=1&b=2]]> </mpd:BaseURL>\r\n' +
      '  <BaseURL>a/<!-- x -->b/</BaseURL>\r\n' +
      '  <BaseURL>https://&host;/LiveApp/</BaseURL>\r\n' +
      '  <Location/>\r\n' +
      '  <PatchLocation ttl="60">patch.mpp</PatchLocation>\r\n' +
      '  <mpd:SegmentTemplate media="c_$Number$.m4s" other:media="ignored.m4s"/>\r\n' +
      '</mpd:MPD>\r\n',
    expected:
      '<?xml version="1.0"?>\r\n<!DOCTYPE MPD [ <!ENTITY host "edge.example.com"> ]>\r\n' +
      '<mpd:MPD xmlns:mpd="urn:mpeg:dash:schema:mpd:2011">\r\n' +
      '  <mpd:BaseURL> <![CDATA[https://edge.example.com/LiveApp/streams/s1/?a=1&b=2&sg=v1.cGF5bG9hZA.c2lnbmF0dXJl]]> </mpd:BaseURL>\r\n' +
      '  <BaseURL>a/<!-- x -->b/</BaseURL>\r\n' +
      '  <BaseURL>https://&host;/LiveApp/</BaseURL>\r\n' +
      '  <Location/>\r\n' +
      '  <PatchLocation ttl="60">patch.mpp?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl</PatchLocation>\r\n' +
      '  <mpd:SegmentTemplate media="c_$Number$.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl" other:media="ignored.m4s"/>\r\n' +
      '</mpd:MPD>\r\n',
  },
  {
    name: 'malformed markup ends the scan: what came before is rewritten, the rest is copied',
    input: '<MPD><BaseURL>a/</BaseURL><SegmentURL media="x.m4s"/><SegmentURL media=unquoted.m4s/><SegmentURL media="y.m4s"/></MPD>',
    expected:
      '<MPD><BaseURL>a/?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl</BaseURL><SegmentURL media="x.m4s?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl"/>' +
      '<SegmentURL media=unquoted.m4s/><SegmentURL media="y.m4s"/></MPD>',
  },
];

describe('rewriteDashManifest', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(rewriteDashManifest(c.input, opts), c.expected);
    });
  }

  it('returns the input unchanged when nothing matches, and survives truncated documents', () => {
    const text = '<MPD><Period/></MPD>';
    assert.equal(rewriteDashManifest(text, opts), text);
    for (const t of ['', '<', '<MPD', '<!--', '<![CDATA[', '<?xml', '<!DOCTYPE [', '<SegmentURL media="a', '<BaseURL>x']) {
      assert.equal(rewriteDashManifest(t, opts), t);
    }
  });

  it('stays linear on hostile input', () => {
    const hostile = '<MPD>' + '<SegmentURL media="&&&&&&&&&&&&&&&&&&&&" />'.repeat(20_000) + '<!--'.repeat(50_000) + '</MPD>';
    const started = process.hrtime.bigint();
    rewriteDashManifest(hostile, opts);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(ms < 1000, `took ${ms} ms`);
  });
});

describe('manifest detection and dispatch', () => {
  const types: Array<[string | undefined, ReturnType<typeof manifestKindOfContentType>]> = [
    ['application/vnd.apple.mpegurl', 'hls'],
    ['Application/X-MpegURL; charset=utf-8', 'hls'],
    ['audio/mpegurl', 'hls'],
    ['application/dash+xml', 'dash'],
    ['text/plain', 'generic'],
    ['application/octet-stream', 'generic'],
    ['application/xml', 'generic'],
    [undefined, 'generic'],
    ['video/mp2t', null],
    ['video/iso.segment', null],
    ['text/html', null],
  ];
  for (const [ct, kind] of types) {
    it(`content type ${String(ct)} → ${String(kind)}`, () => {
      assert.equal(manifestKindOfContentType(ct), kind);
      assert.equal(isManifestContentType(ct), kind === 'hls' || kind === 'dash');
      assert.equal(mayBeManifest(ct), kind !== null);
    });
  }

  const bodies: Array<[string, 'hls' | 'dash' | null]> = [
    ['#EXTM3U\n#EXT-X-VERSION:3\n', 'hls'],
    ['\uFEFF#EXTM3U\r\n', 'hls'],
    ['#EXTM3U', 'hls'],
    ['#EXTM3UX\n', null],
    ['\n#EXTM3U\n', null],
    ['<?xml version="1.0"?>\n<!-- c -->\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">', 'dash'],
    ['<mpd:MPD xmlns:mpd="urn:mpeg:dash:schema:mpd:2011">', 'dash'],
    ['<MPDX/>', null],
    ['<html><body>404</body></html>', null],
    ['', null],
  ];
  for (const [body, kind] of bodies) {
    it(`sniffs ${JSON.stringify(body.slice(0, 30))} → ${String(kind)}`, () => {
      assert.equal(sniffManifestKind(body), kind);
    });
  }

  it('requires the body to agree with a specific content type', () => {
    assert.equal(detectManifestKind('application/vnd.apple.mpegurl', '#EXTM3U\n'), 'hls');
    assert.equal(detectManifestKind('application/vnd.apple.mpegurl', '<html>error</html>'), null);
    assert.equal(detectManifestKind('application/dash+xml', '#EXTM3U\n'), null);
    assert.equal(detectManifestKind('text/plain', '<MPD/>'), 'dash');
    assert.equal(detectManifestKind(undefined, '#EXTM3U\n'), 'hls');
    assert.equal(detectManifestKind('video/mp2t', '#EXTM3U\n'), null);
  });

  it('dispatches to the right rewriter', () => {
    assert.equal(rewriteManifest('hls', '#EXTM3U\ns.ts\n', opts), '#EXTM3U\ns.ts?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl\n');
    assert.equal(
      rewriteManifest('dash', '<MPD><BaseURL>s/</BaseURL></MPD>', opts),
      '<MPD><BaseURL>s/?sg=v1.cGF5bG9hZA.c2lnbmF0dXJl</BaseURL></MPD>',
    );
  });
});

describe('DASH remote elements, patches and steering (ISO/IEC 23009-1 §5.5, §5.15; DASH-IF CTS 001)', () => {
  const G = 'v1.cGF5bG9hZA.c2lnbmF0dXJl';
  it('xlink:href on Period / AdaptationSet / EventStream, PatchLocation, ContentSteering, BitstreamSwitching; resolve-to-zero stays', () => {
    const input = `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:xlink="http://www.w3.org/1999/xlink" type="dynamic">
  <PatchLocation ttl="60">patch.mpp?publishTime=2024</PatchLocation>
  <ContentSteering defaultServiceLocation="alpha" queryBeforeStart="true">https://edge.example.com/steer</ContentSteering>
  <Period id="ad" xlink:href="ads/period.xml" xlink:actuate="onLoad"/>
  <Period id="gone" xlink:href="urn:mpeg:dash:resolve-to-zero:2013" xlink:actuate="onLoad"/>
  <Period id="main">
    <EventStream xlink:href="events.xml"/>
    <AdaptationSet xlink:href="https://cdn.other.net/as.xml"/>
    <AdaptationSet><Representation id="v"><SegmentList><BitstreamSwitching sourceURL="switch.mp4"/><SegmentURL media="s1.m4s"/></SegmentList></Representation></AdaptationSet>
  </Period>
</MPD>`;
    const expected = `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:xlink="http://www.w3.org/1999/xlink" type="dynamic">
  <PatchLocation ttl="60">patch.mpp?publishTime=2024&amp;sg=${G}</PatchLocation>
  <ContentSteering defaultServiceLocation="alpha" queryBeforeStart="true">https://edge.example.com/steer?sg=${G}</ContentSteering>
  <Period id="ad" xlink:href="ads/period.xml?sg=${G}" xlink:actuate="onLoad"/>
  <Period id="gone" xlink:href="urn:mpeg:dash:resolve-to-zero:2013" xlink:actuate="onLoad"/>
  <Period id="main">
    <EventStream xlink:href="events.xml?sg=${G}"/>
    <AdaptationSet xlink:href="https://cdn.other.net/as.xml"/>
    <AdaptationSet><Representation id="v"><SegmentList><BitstreamSwitching sourceURL="switch.mp4?sg=${G}"/><SegmentURL media="s1.m4s?sg=${G}"/></SegmentList></Representation></AdaptationSet>
  </Period>
</MPD>`;
    assert.equal(rewriteDashManifest(input, opts), expected);
  });
});
