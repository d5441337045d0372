// Which URIs in a manifest are fetched through us, and where the grant goes in each. Shared by the
// HLS and DASH rewriters. A URI is split around the grant (`before` + grant + `after`) instead of
// being rewritten with one grant, so a manifest is parsed once and answered to every viewer by
// joining the pieces with that viewer's grant (see template.ts).

/** What every viewer's answer has in common: how the grant is carried and which URIs are ours. */
export interface UriContext {
  /** Query parameter that carries the grant (config `session.param`, default `sg`). */
  param: string;
  /** Parameters stripped from every rewritten URI (the consumed or single-use credential). */
  removeParams: readonly string[];
  /** `scheme://host[:port]` as the client sees the gate; absolute URIs elsewhere are left alone. */
  clientOrigin: string;
}

/** A URI with the grant's place cut out: the rewritten URI is `before + grant + after`. */
export interface SplitUri {
  before: string;
  after: string;
}

/**
 * Splits one URI, or answers null when it must stay as it is (foreign host, `data:`, `skd:`, `urn:`,
 * empty, or a scheme/authority hidden behind an unresolvable `{$variable}`).
 * `resolve` substitutes the variables the manifest defines (HLS `EXT-X-DEFINE`), for classification
 * only: the URI itself is never expanded, the player does that (draft-pantos-hls-rfc8216bis §4.2).
 */
export type UriSplitter = (uri: string, resolve?: (uri: string) => string) => SplitUri | null;

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

/** `{$name}`: an HLS variable reference (draft-pantos-hls-rfc8216bis §4.3, "Variable Substitution"). */
const VARIABLE_START = '{$';

export function createUriSplitter(ctx: UriContext): UriSplitter {
  const origin = cachedOrigin(ctx.clientOrigin);
  const drop = new Set<string>(ctx.removeParams);
  drop.add(ctx.param); // an existing grant is replaced, never duplicated
  const name = `${encodeURIComponent(ctx.param)}=`;

  return (uri, resolve) => {
    if (uri.length === 0) return null;
    let probe = uri;
    if (uri.includes(VARIABLE_START)) {
      // Whether a URI is ours is decided by its scheme and authority. When a variable sits there, its
      // value decides: substitute what the manifest defines, and leave anything still unknown alone
      // (an imported or query-supplied value could name another host: the grant must not go there).
      if (uri.indexOf(VARIABLE_START) < authorityEnd(uri)) {
        probe = resolve ? resolve(uri) : uri;
        if (probe.indexOf(VARIABLE_START) !== -1 && probe.indexOf(VARIABLE_START) < authorityEnd(probe)) return null;
      }
    }
    if (!isOurs(probe, origin)) return null;
    return splitQuery(uri, drop, name);
  };
}

/** Where the part of a URI that decides its target ends: after the authority, or the first path segment. */
function authorityEnd(uri: string): number {
  const scheme = schemeOf(uri);
  let at = 0;
  if (scheme !== null) {
    at = scheme.length + 1;
    if (!uri.startsWith('//', at)) return at;
  }
  if (uri.startsWith('//', at)) at += 2;
  while (at < uri.length) {
    const c = uri.charCodeAt(at);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
    at++;
  }
  return at;
}

function isOurs(uri: string, origin: Origin | null): boolean {
  const scheme = schemeOf(uri);
  if (scheme !== null) {
    if (origin === null || scheme !== origin.scheme) return false; // data:, skd:, urn:, other schemes
    return sameAuthority(uri, scheme.length + 1, origin);
  }
  if (uri.startsWith('//')) return origin !== null && sameAuthority(uri, 0, origin);
  return true; // relative: resolved against the manifest, which the client fetched from us
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
 * Cuts the grant's place into the query, dropping parameters named in `drop`; path, kept parameters
 * and fragment stay exactly as written. Names are compared percent-decoded (`%74oken` is `token`).
 * A parameter whose value is a variable reference (`token={$token}`, filled in by the player from an
 * `EXT-X-DEFINE`) is a template, not a credential: it is kept byte for byte.
 */
function splitQuery(uri: string, drop: ReadonlySet<string>, name: string): SplitUri {
  const hash = uri.indexOf('#');
  const beforeFragment = hash === -1 ? uri : uri.slice(0, hash);
  const after = hash === -1 ? '' : uri.slice(hash);
  const q = beforeFragment.indexOf('?');
  if (q === -1) return { before: `${beforeFragment}?${name}`, after };
  let query = '';
  for (const part of beforeFragment.slice(q + 1).split('&')) {
    if (part === '') continue;
    if (drop.has(paramName(part)) && !part.includes(VARIABLE_START)) continue;
    query += `${part}&`;
  }
  return { before: `${beforeFragment.slice(0, q)}?${query}${name}`, after };
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
