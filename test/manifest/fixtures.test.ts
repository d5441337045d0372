// Real manifests from public sources (test/fixtures/manifests/README.md names each one's origin). For
// every fixture the expected output is built here, independently of the rewriter, by a plain
// line/regex walk over the URI-bearing tags and attributes the specs define: every such URI that
// is relative or on the gate's host gains the grant, and not one other byte changes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileManifest, detectManifestKind } from '../../src/manifest/manifest.js';
import { renderTemplate } from '../../src/manifest/template.js';

const dir = fileURLToPath(new URL('../fixtures/manifests/', import.meta.url));
const GRANTS = ['v1.eyJhIjoiTGl2ZUFwcCJ9.c2lnbmF0dXJlLW9uZQ', 'v1.eyJhIjoiTGl2ZUFwcCIsInMiOjJ9.c2lnbmF0dXJlLXR3bw'];

/** draft-pantos-hls-rfc8216bis-18 §4.4 URI attributes, plus HLS Interstitials and Roku image playlists. */
const HLS_URI_ATTRIBUTES: Record<string, readonly string[]> = {
  'EXT-X-MAP': ['URI'],
  'EXT-X-KEY': ['URI'],
  'EXT-X-SESSION-KEY': ['URI'],
  'EXT-X-MEDIA': ['URI'],
  'EXT-X-I-FRAME-STREAM-INF': ['URI'],
  'EXT-X-IMAGE-STREAM-INF': ['URI'],
  'EXT-X-PART': ['URI'],
  'EXT-X-PRELOAD-HINT': ['URI'],
  'EXT-X-RENDITION-REPORT': ['URI'],
  'EXT-X-SESSION-DATA': ['URI'],
  'EXT-X-CONTENT-STEERING': ['SERVER-URI'],
  'EXT-X-DATERANGE': ['X-ASSET-URI', 'X-ASSET-LIST'],
};
/** ISO/IEC 23009-1 URL attributes by element. */
const DASH_URL_ATTRIBUTES: Record<string, readonly string[]> = {
  SegmentTemplate: ['media', 'initialization', 'index', 'bitstreamSwitching'],
  SegmentURL: ['media', 'index'],
  Initialization: ['sourceURL'],
  RepresentationIndex: ['sourceURL'],
  BitstreamSwitching: ['sourceURL'],
};

/** Fixture → the client-facing origin of the gate (absolute URIs there are ours), and a floor on URIs rewritten. */
const FIXTURES: Record<string, { origin: string; atLeast: number }> = {
  'apple-bipbop-adv-master.m3u8': { origin: 'https://edge.example.com', atLeast: 24 + 6 + 4 },
  'llhls-media.m3u8': { origin: 'https://edge.example.com', atLeast: 30 },
  'llhls-delta.m3u8': { origin: 'https://edge.example.com', atLeast: 10 },
  'fmp4-keys-maps.m3u8': { origin: 'http://media.example.com', atLeast: 10 },
  'define-queryparam-master.m3u8': { origin: 'https://edge.example.com', atLeast: 2 },
  'define-import-media.m3u8': { origin: 'https://edge.example.com', atLeast: 4 },
  'content-steering-master.m3u8': { origin: 'http://example.com', atLeast: 1 },
  'interstitials-media.m3u8': { origin: 'https://example.com', atLeast: 8 },
  'roku-image-master.m3u8': { origin: 'https://edge.example.com', atLeast: 9 + 1 + 3 + 6 },
  'roku-image-media.m3u8': { origin: 'https://edge.example.com', atLeast: 13 },
  'ffmpeg-hls-master.m3u8': { origin: 'https://edge.example.com', atLeast: 1 },
  'ffmpeg-hls-fmp4-media.m3u8': { origin: 'https://edge.example.com', atLeast: 5 },
  'antmedia-live-stream1.m3u8': { origin: 'https://edge.example.com', atLeast: 5 },
  'ffmpeg-dash-number.mpd': { origin: 'https://edge.example.com', atLeast: 4 },
  'ffmpeg-dash-time.mpd': { origin: 'https://edge.example.com', atLeast: 2 },
  'dashjs-dynamic.mpd': { origin: 'https://edge.example.com', atLeast: 4 },
  'mpd-parser-location.mpd': { origin: 'https://www.example.com', atLeast: 4 },
  'mpd-parser-segmentList.mpd': { origin: 'https://www.example.com', atLeast: 8 },
  'mpd-parser-segmentBase.mpd': { origin: 'https://www.example.com', atLeast: 3 },
  'mpd-parser-multiperiod-segment-template.mpd': { origin: 'https://www.example.com', atLeast: 6 },
};

/** Relative, or absolute on the gate's own origin. A `{$var}` before the path decides nothing here (none in the fixtures). */
function ours(uri: string, origin: string): boolean {
  if (uri === '') return false;
  const resolved = new URL(uri, `${origin}/app/streams/`);
  return resolved.origin === origin && (resolved.protocol === 'http:' || resolved.protocol === 'https:');
}

function withGrant(uri: string, grant: string, amp: string): string {
  assert.ok(!uri.includes('#'), `fixture URI with a fragment: ${uri}`);
  return `${uri}${uri.includes('?') ? amp : '?'}sg=${grant}`;
}

function expectedHls(text: string, origin: string, grant: string): { text: string; uris: number } {
  let uris = 0;
  const add = (u: string) => {
    uris++;
    return withGrant(u, grant, '&');
  };
  const lines = text.split('\n').map((line) => {
    const body = line.trim();
    if (body === '') return line;
    if (body.startsWith('#')) {
      const tag = /^#(EXT-X-[A-Z0-9-]+):/.exec(body);
      const names = tag ? HLS_URI_ATTRIBUTES[tag[1]!] : undefined;
      if (!names) return line;
      return line.replace(/([A-Z0-9-]+)="([^"]*)"/g, (all, name: string, value: string) => (names.includes(name) && ours(value, origin) ? `${name}="${add(value)}"` : all));
    }
    return ours(body, origin) ? line.replace(body, add(body)) : line;
  });
  return { text: lines.join('\n'), uris };
}

function expectedDash(xml: string, origin: string, grant: string): { text: string; uris: number } {
  let uris = 0;
  const add = (u: string) => {
    uris++;
    return withGrant(u, grant, '&amp;');
  };
  let out = xml.replace(/<(SegmentTemplate|SegmentURL|Initialization|RepresentationIndex|BitstreamSwitching)\b([^>]*)>/g, (all, el: string, attrs: string) => {
    const names = DASH_URL_ATTRIBUTES[el]!;
    const rewritten = attrs.replace(/(\s)([A-Za-z]+)="([^"]*)"/g, (a, sp: string, name: string, value: string) => (names.includes(name) && ours(value, origin) ? `${sp}${name}="${add(value)}"` : a));
    return `<${el}${rewritten}>`;
  });
  out = out.replace(/(\sxlink:href=")([^"]*)"/g, (all, pre: string, value: string) => (ours(value, origin) ? `${pre}${add(value)}"` : all));
  out = out.replace(/<(BaseURL|Location|PatchLocation)((?:\s[^>]*)?)>([^<]*)<\/\1>/g, (all, el: string, attrs: string, text: string) => {
    const value = text.trim();
    return ours(value, origin) ? `<${el}${attrs}>${text.replace(value, add(value))}</${el}>` : all;
  });
  return { text: out, uris };
}

describe('real manifests: every URI the spec defines gets the grant, nothing else changes', () => {
  for (const [file, { origin, atLeast }] of Object.entries(FIXTURES)) {
    it(file, () => {
      const input = readFileSync(`${dir}${file}`, 'utf8');
      const kind = detectManifestKind(file.endsWith('.mpd') ? 'application/dash+xml' : 'application/vnd.apple.mpegurl', input);
      assert.equal(kind, file.endsWith('.mpd') ? 'dash' : 'hls');
      // Parsed once, answered twice: each viewer's copy carries only its own grant.
      const template = compileManifest(kind!, input, { param: 'sg', removeParams: ['token', 'subscriberId', 'subscriberCode'], clientOrigin: origin });
      for (const grant of GRANTS) {
        const expected: { text: string; uris: number } = kind === 'dash' ? expectedDash(input, origin, grant) : expectedHls(input, origin, grant);
        assert.ok(expected.uris >= atLeast, `the walk found ${expected.uris} URIs, expected at least ${atLeast}`);
        assert.equal(template.slots, expected.uris);
        assert.equal(renderTemplate(template, grant), expected.text);
      }
    });
  }

  it('EXT-X-DEFINE templates survive byte for byte: braces are not encoded and {$token} is not stripped as a credential', () => {
    const input = readFileSync(`${dir}define-import-media.m3u8`, 'utf8');
    const out = renderTemplate(compileManifest('hls', input, { param: 'sg', removeParams: ['token', 't'], clientOrigin: 'https://edge.example.com' }), GRANTS[0]!);
    assert.match(out, /\nhls_450k_video\.ts\?t=\{\$token\}&sg=v1\./);
    assert.match(out, /\nhls_450k_video\.ts\?t=\{\$foo\}&sg=v1\./);
    const master = readFileSync(`${dir}define-queryparam-master.m3u8`, 'utf8');
    const m = renderTemplate(compileManifest('hls', master, { param: 'sg', removeParams: ['token'], clientOrigin: 'https://edge.example.com' }), GRANTS[0]!);
    assert.match(m, /\ndefine_one\.m3u8\?\{\$token\}&sg=v1\./);
  });
});
