// HLS playlist rewriting (strategy S2): every URI the player will fetch from us gets `?<param>=<grant>`,
// because relative URIs drop the playlist's own query string (RFC 3986 §5.2). The scan is a single
// pass over lines that cuts the playlist at every grant slot (template.ts), so unknown tags,
// comments, spacing and CRLF line endings come out byte for byte, and the same template answers
// every viewer. Tags and attributes follow draft-pantos-hls-rfc8216bis-18 §4.4 plus the common
// extensions listed in URI_ATTRIBUTES.
import { TemplateBuilder, renderTemplate, type ManifestTemplate, type SlotKind } from './template.js';
import { createUriSplitter, type SplitUri, type UriContext, type UriSplitter } from './uri.js';

export interface RewriteOptions {
  /** Query parameter that carries the grant (config `session.param`, default `sg`). */
  param: string;
  /** The signed grant; already URL-safe (base64url and dots). */
  grant: string;
  /** Parameters stripped from every rewritten URI (the consumed or single-use credential). */
  removeParams: readonly string[];
  manifestUrl: {
    /** `scheme://host[:port]` as the client sees it; absolute URIs elsewhere are left alone. */
    origin: string;
    /** Path of the manifest request; informational (relative URIs are same-origin whatever it is). */
    path: string;
  };
}

/** Rewrites one URI, or answers null when it must stay as it is (foreign, `data:`, `skd:`, empty). */
export type UriRewriter = (uri: string) => string | null;

/** The URI context of one-shot rewrite options. */
export function uriContextOf(opts: RewriteOptions): UriContext {
  return { param: opts.param, removeParams: opts.removeParams, clientOrigin: opts.manifestUrl.origin };
}

/** One URI rewritten with one grant (tests, and callers that rewrite a single URI). */
export function createUriRewriter(opts: RewriteOptions): UriRewriter {
  const split = createUriSplitter(uriContextOf(opts));
  return (uri) => {
    const s = split(uri);
    return s === null ? null : renderTemplate({ parts: [s.before, s.after], staticBytes: 0, slots: 1, sessionSlots: null }, opts.grant);
  };
}

/**
 * Tags whose attributes name a resource the player fetches, and which attributes. All quoted-string
 * URIs: EXT-X-KEY/-SESSION-KEY (§4.4.4.4, §4.4.6.5), -MAP (§4.4.4.5), -PART (§4.4.4.9), -MEDIA
 * (§4.4.6.1), -I-FRAME-STREAM-INF (§4.4.6.3), -SESSION-DATA (§4.4.6.4), -CONTENT-STEERING SERVER-URI
 * (§4.4.6.6), -PRELOAD-HINT (§4.4.5.3), -RENDITION-REPORT (§4.4.5.4); EXT-X-DATERANGE X-ASSET-URI and
 * X-ASSET-LIST (Apple HLS Interstitials); EXT-X-IMAGE-STREAM-INF (Roku/Disney/WarnerMedia image
 * playlists, whose EXT-X-TILES segments are ordinary URI lines). The URI line after EXT-X-STREAM-INF
 * and every segment line are URI lines.
 */
const URI_ATTRIBUTES = new Map<string, readonly string[]>([
  ['#EXT-X-MAP', ['URI']],
  ['#EXT-X-KEY', ['URI']],
  ['#EXT-X-SESSION-KEY', ['URI']],
  ['#EXT-X-MEDIA', ['URI']],
  ['#EXT-X-I-FRAME-STREAM-INF', ['URI']],
  ['#EXT-X-IMAGE-STREAM-INF', ['URI']],
  ['#EXT-X-PART', ['URI']],
  ['#EXT-X-PRELOAD-HINT', ['URI']],
  ['#EXT-X-RENDITION-REPORT', ['URI']],
  ['#EXT-X-SESSION-DATA', ['URI']],
  ['#EXT-X-CONTENT-STEERING', ['SERVER-URI']],
  ['#EXT-X-DATERANGE', ['X-ASSET-URI', 'X-ASSET-LIST']],
]);
const DEFINE = '#EXT-X-DEFINE';
const STREAM_INF = '#EXT-X-STREAM-INF';
/**
 * Tags whose URIs name a playlist or document that a player re-requests unchanged while it plays
 * (a live variant or rendition playlist is reloaded every target duration, §6.3.4; a steering
 * manifest every TTL; an interstitial's asset list when its date range comes up): session slots,
 * which carry the grant that lasts the whole session (template.ts). Plus the URI line after
 * EXT-X-STREAM-INF. Everything else (segments, keys, maps, parts, session data) is a media slot.
 */
const SESSION_TAGS: ReadonlySet<string> = new Set(['#EXT-X-MEDIA', '#EXT-X-I-FRAME-STREAM-INF', '#EXT-X-IMAGE-STREAM-INF', '#EXT-X-RENDITION-REPORT', '#EXT-X-CONTENT-STEERING', '#EXT-X-DATERANGE']);

export function rewriteHlsPlaylist(text: string, opts: RewriteOptions): string {
  return renderTemplate(compileHlsPlaylist(text, uriContextOf(opts)), opts.grant);
}

/** The playlist cut at every grant slot; `renderTemplate(t, grant)` is one viewer's playlist. */
export function compileHlsPlaylist(text: string, ctx: UriContext): ManifestTemplate {
  const scan = new HlsScan(text, createUriSplitter(ctx));
  let start = 0;
  const n = text.length;
  while (start < n) {
    let nl = text.indexOf('\n', start);
    if (nl === -1) nl = n;
    const end = nl > start && text.charCodeAt(nl - 1) === 13 /* \r */ ? nl - 1 : nl;
    scan.line(start, end);
    start = nl + 1;
  }
  return scan.out.finish();
}

class HlsScan {
  readonly out: TemplateBuilder;
  /** The next URI line is a variant playlist (it follows EXT-X-STREAM-INF, §4.4.6.2). */
  private variantNext = false;
  /** EXT-X-DEFINE NAME/VALUE pairs seen so far (§4.4.3.8); imports and query params stay unknown. */
  private vars: Map<string, string> | null = null;
  private readonly resolve = (uri: string): string =>
    uri.replace(/\{\$([A-Za-z0-9_-]+)\}/g, (ref, name: string) => this.vars?.get(name) ?? ref);

  constructor(
    private readonly text: string,
    private readonly split: UriSplitter,
  ) {
    this.out = new TemplateBuilder(text);
  }

  /** Line [start, end) without its terminator. */
  line(start: number, end: number): void {
    const text = this.text;
    let a = start;
    let b = end;
    while (a < b && isLineSpace(text.charCodeAt(a))) a++;
    while (b > a && isLineSpace(text.charCodeAt(b - 1))) b--;
    if (a === b) return;
    if (text.charCodeAt(a) === 35 /* # */) {
      if (!text.startsWith('#EXT', a)) return; // a comment
      let colon = a + 4;
      while (colon < b && text.charCodeAt(colon) !== 58 /* : */) colon++; // bounded: never past the line
      if (colon === b) return;
      const tag = text.slice(a, colon);
      if (tag === DEFINE) return this.define(colon + 1, b);
      if (tag === STREAM_INF) this.variantNext = true;
      const names = URI_ATTRIBUTES.get(tag);
      if (names) this.attributes(colon + 1, b, names, true, undefined, SESSION_TAGS.has(tag) ? 'session' : 'media');
      return;
    }
    const kind = this.variantNext ? 'session' : 'media';
    this.variantNext = false;
    this.cut(a, b, this.split(text.slice(a, b), this.resolve), kind);
  }

  private cut(from: number, to: number, s: SplitUri | null, kind: SlotKind): void {
    if (s !== null) this.out.cut(from, to, s.before, s.after, kind);
  }

  private define(from: number, to: number): void {
    let name: string | undefined;
    let value: string | undefined;
    this.attributes(from, to, ['NAME', 'VALUE'], false, (attr, v) => {
      if (attr === 'NAME') name = v;
      else value = v;
    });
    if (name !== undefined && value !== undefined) (this.vars ??= new Map()).set(name, value);
  }

  /**
   * Walks the attribute list (`NAME=value,NAME="quoted",…`) between `from` and `to`, handing the
   * quoted values of `names` to `rewrite` (cut them) or `seen`. Quoted strings cannot contain `"`, so
   * the walk is one pass and a `URI=` inside another attribute's quoted value is never mistaken for
   * the real one. A malformed list stops the walk: what was found before it is kept.
   */
  private attributes(from: number, to: number, names: readonly string[], rewrite: boolean, seen?: (name: string, value: string) => void, kind: SlotKind = 'media'): void {
    const line = this.text;
    let i = from;
    while (i < to) {
      const eq = line.indexOf('=', i);
      if (eq === -1 || eq >= to) return;
      const name = line.slice(i, eq).trim();
      let j = eq + 1;
      if (line.charCodeAt(j) === 34 /* " */) {
        const close = line.indexOf('"', j + 1);
        if (close === -1 || close >= to) return; // unterminated: leave the rest alone
        if (names.includes(name)) {
          const value = line.slice(j + 1, close);
          if (rewrite) this.cut(j + 1, close, this.split(value, this.resolve), kind);
          else seen?.(name, value);
        }
        j = close + 1;
      } else if (names.includes(name)) {
        return; // the spec requires a quoted string; do not guess
      }
      const comma = line.indexOf(',', j);
      if (comma === -1 || comma >= to) return;
      i = comma + 1;
    }
  }
}

/** A BOM before `#EXTM3U` and stray blanks around a URI are not part of it. */
function isLineSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 0xfeff;
}
