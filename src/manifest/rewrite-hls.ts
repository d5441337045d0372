// HLS playlist rewriting (strategy S2): every URI the player will fetch from us gets `?<param>=<grant>`,
// because relative URIs drop the playlist's own query string (RFC 3986 §5.2). The scan is a single
// pass over lines that splices only the URIs it changes, so unknown tags, comments, spacing and
// CRLF line endings come out byte for byte. The URI helpers here are shared with rewrite-dash.ts.

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

/** Tags whose `URI="…"` attribute names a resource fetched through us. */
const URI_TAGS = new Set([
  '#EXT-X-MAP',
  '#EXT-X-KEY',
  '#EXT-X-MEDIA',
  '#EXT-X-I-FRAME-STREAM-INF',
  '#EXT-X-PART',
  '#EXT-X-PRELOAD-HINT',
  '#EXT-X-RENDITION-REPORT',
  '#EXT-X-SESSION-DATA',
  '#EXT-X-SESSION-KEY',
]);

export function rewriteHlsPlaylist(text: string, opts: RewriteOptions): string {
  const rewriteUri = createUriRewriter(opts);
  const parts: string[] = [];
  let last = 0; // end of the input already copied to parts
  let start = 0;
  const n = text.length;
  while (start < n) {
    let nl = text.indexOf('\n', start);
    if (nl === -1) nl = n;
    const end = nl > start && text.charCodeAt(nl - 1) === 13 /* \r */ ? nl - 1 : nl;
    const replaced = rewriteLine(text, start, end, rewriteUri);
    if (replaced !== null) {
      parts.push(text.slice(last, start), replaced);
      last = end;
    }
    start = nl + 1;
  }
  if (parts.length === 0) return text;
  parts.push(text.slice(last));
  return parts.join('');
}

/** The new content of line [start, end), or null to keep it. */
function rewriteLine(text: string, start: number, end: number, rewriteUri: UriRewriter): string | null {
  let a = start;
  let b = end;
  while (a < b && isLineSpace(text.charCodeAt(a))) a++;
  while (b > a && isLineSpace(text.charCodeAt(b - 1))) b--;
  if (a === b) return null;
  if (text.charCodeAt(a) === 35 /* # */) {
    if (!text.startsWith('#EXT', a)) return null; // a comment
    let colon = a + 4;
    while (colon < b && text.charCodeAt(colon) !== 58 /* : */) colon++; // bounded: never past the line
    if (colon === b || !URI_TAGS.has(text.slice(a, colon))) return null;
    const line = text.slice(start, end);
    return rewriteUriAttribute(line, colon + 1 - start, b - start, rewriteUri);
  }
  const uri = rewriteUri(text.slice(a, b));
  return uri === null ? null : text.slice(start, a) + uri + text.slice(b, end);
}

/** A BOM before `#EXTM3U` and stray blanks around a URI are not part of it. */
function isLineSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 0xfeff;
}

/**
 * Walks the attribute list (`NAME=value,NAME="quoted",…`) of `line` between `from` and `to` and
 * rewrites the value of the `URI` attribute. Quoted strings cannot contain `"`, so the walk is one pass
 * and a `URI=` inside another attribute's quoted value is never mistaken for the real one.
 */
function rewriteUriAttribute(line: string, from: number, to: number, rewriteUri: UriRewriter): string | null {
  let i = from;
  while (i < to) {
    const eq = line.indexOf('=', i);
    if (eq === -1 || eq >= to) return null;
    const name = line.slice(i, eq).trim();
    let j = eq + 1;
    if (line.charCodeAt(j) === 34 /* " */) {
      const close = line.indexOf('"', j + 1);
      if (close === -1 || close >= to) return null; // unterminated: leave the line alone
      if (name === 'URI') {
        const uri = rewriteUri(line.slice(j + 1, close));
        return uri === null ? null : line.slice(0, j + 1) + uri + line.slice(close);
      }
      j = close + 1;
    } else if (name === 'URI') {
      return null; // the spec requires a quoted string; do not guess
    }
    const comma = line.indexOf(',', j);
    if (comma === -1 || comma >= to) return null;
    i = comma + 1;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// URI rewriting, shared by HLS and DASH (DASH decodes XML entities before and re-escapes after).

interface Origin {
  scheme: string;
  host: string;
  port: string;
}

// A gate sees a handful of client-facing origins; parsing one per manifest is wasted work.
const origins = new Map<string, Origin | null>();
function cachedOrigin(text: string): Origin | null {
  let o = origins.get(text);
  if (o === undefined) {
    o = parseOrigin(text);
    if (origins.size >= 256) origins.clear(); // bounded: Host headers are client-controlled
    origins.set(text, o);
  }
  return o;
}

export function createUriRewriter(opts: RewriteOptions): UriRewriter {
  const origin = cachedOrigin(opts.manifestUrl.origin);
  const drop = new Set<string>(opts.removeParams);
  drop.add(opts.param); // an existing grant is replaced, never duplicated
  const appended = `${encodeURIComponent(opts.param)}=${encodeURIComponent(opts.grant)}`;

  return (uri: string): string | null => {
    if (uri.length === 0) return null;
    const scheme = schemeOf(uri);
    if (scheme !== null) {
      if (origin === null || scheme !== origin.scheme) return null; // data:, skd:, other hosts' schemes
      if (!sameAuthority(uri, scheme.length + 1, origin)) return null;
    } else if (uri.startsWith('//')) {
      if (origin === null || !sameAuthority(uri, 0, origin)) return null;
    }
    return withParam(uri, drop, appended);
  };
}

/** Lower-cased scheme when the URI starts with `scheme:`, else null (a relative reference). */
function schemeOf(uri: string): string | null {
  const c0 = uri.charCodeAt(0);
  if (!isAlpha(c0)) return null;
  for (let i = 1; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c === 58 /* : */) return uri.slice(0, i).toLowerCase();
    if (!(isAlpha(c) || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)) return null;
  }
  return null;
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function parseOrigin(text: string): Origin | null {
  const sep = text.indexOf('://');
  if (sep <= 0) return null;
  const scheme = text.slice(0, sep).toLowerCase();
  if (schemeOf(text) !== scheme) return null;
  let authority = text.slice(sep + 3);
  if (authority.endsWith('/')) authority = authority.slice(0, -1);
  return parseAuthority(authority, scheme);
}

/** `uri` has `//authority` at `at`; is it the manifest's origin? */
function sameAuthority(uri: string, at: number, origin: Origin): boolean {
  if (!uri.startsWith('//', at)) return false;
  let end = at + 2;
  while (end < uri.length) {
    const c = uri.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
    end++;
  }
  const parsed = parseAuthority(uri.slice(at + 2, end), origin.scheme);
  return parsed !== null && parsed.host === origin.host && parsed.port === origin.port;
}

/** host and port with the scheme's default port filled in; null when unusable (userinfo, bad port). */
function parseAuthority(authority: string, scheme: string): Origin | null {
  // userinfo would let `https://edge@evil/` look like our host to a careless reader; never ours.
  if (authority.length === 0 || authority.includes('@')) return null;
  let host: string;
  let port = '';
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) return null;
    host = authority.slice(0, close + 1);
    const rest = authority.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return null;
      port = rest.slice(1);
    }
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon === -1 ? authority : authority.slice(0, colon);
    port = colon === -1 ? '' : authority.slice(colon + 1);
  }
  if (!/^[0-9]*$/.test(port)) return null;
  if (port === '') port = scheme === 'https' ? '443' : scheme === 'http' ? '80' : '';
  else port = String(Number(port));
  return { scheme, host: host.toLowerCase(), port };
}

/**
 * Appends `appended` to the query, dropping parameters named in `drop`; path, kept parameters and
 * fragment stay exactly as written. Names are compared percent-decoded (`%74oken` is `token`).
 */
function withParam(uri: string, drop: ReadonlySet<string>, appended: string): string {
  const hash = uri.indexOf('#');
  const beforeFragment = hash === -1 ? uri : uri.slice(0, hash);
  const fragment = hash === -1 ? '' : uri.slice(hash);
  const q = beforeFragment.indexOf('?');
  if (q === -1) return `${beforeFragment}?${appended}${fragment}`;
  let query = '';
  for (const part of beforeFragment.slice(q + 1).split('&')) {
    if (part === '' || drop.has(paramName(part))) continue;
    query += `${part}&`;
  }
  return `${beforeFragment.slice(0, q)}?${query}${appended}${fragment}`;
}

function paramName(part: string): string {
  const eq = part.indexOf('=');
  const raw = eq === -1 ? part : part.slice(0, eq);
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return raw; // malformed escapes: compare as written
  }
}
