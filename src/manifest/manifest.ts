// Which responses are manifests, and the dispatch to the HLS or DASH rewriter. Origins label
// playlists inconsistently (Ant Media's Tomcat, S3 buckets and CDNs send text/plain or
// application/octet-stream), so a generic content type is settled by sniffing the body's start.
import { compileDashManifest, rewriteDashManifest } from './rewrite-dash.js';
import { compileHlsPlaylist, rewriteHlsPlaylist, type RewriteOptions } from './rewrite-hls.js';
import type { ManifestTemplate } from './template.js';
import type { UriContext } from './uri.js';

export type { RewriteOptions } from './rewrite-hls.js';
export type ManifestKind = 'hls' | 'dash';

const HLS_TYPES = new Set([
  'application/vnd.apple.mpegurl',
  'application/x-mpegurl',
  'application/mpegurl',
  'audio/mpegurl',
  'audio/x-mpegurl',
]);
const DASH_TYPES = new Set(['application/dash+xml']);
/** Labels that say nothing about the body: a manifest may hide behind them. */
const GENERIC_TYPES = new Set([
  '',
  'text/plain',
  'application/octet-stream',
  'binary/octet-stream',
  'application/xml',
  'text/xml',
]);

/** How far into a body sniffing looks for `#EXTM3U` / `<MPD` (prolog, comments and a BOM fit easily). */
const SNIFF_LIMIT = 4096;

/** The media type without parameters, lower-cased (`Application/X-MpegURL; charset=utf-8` → `application/x-mpegurl`). */
function mediaType(contentType: string | null | undefined): string {
  if (contentType === undefined || contentType === null) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** The manifest kind a content type names, 'generic' when it could be either, null when it is neither. */
export function manifestKindOfContentType(contentType: string | null | undefined): ManifestKind | 'generic' | null {
  const t = mediaType(contentType);
  if (HLS_TYPES.has(t)) return 'hls';
  if (DASH_TYPES.has(t)) return 'dash';
  return GENERIC_TYPES.has(t) ? 'generic' : null;
}

/** True when the content type names an HLS playlist or a DASH MPD. */
export function isManifestContentType(contentType: string | null | undefined): boolean {
  const kind = manifestKindOfContentType(contentType);
  return kind === 'hls' || kind === 'dash';
}

/**
 * True when the response must be buffered and sniffed: a manifest type, or a generic one (a missing
 * header counts as generic). Anything else (video/mp2t, text/html error pages, …) streams through.
 */
export function mayBeManifest(contentType: string | null | undefined): boolean {
  return manifestKindOfContentType(contentType) !== null;
}

/** HLS when the first line is `#EXTM3U`, DASH when the root element is `MPD`, else null. */
export function sniffManifestKind(body: string): ManifestKind | null {
  const head = body.length > SNIFF_LIMIT ? body.slice(0, SNIFF_LIMIT) : body;
  let i = head.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (head.startsWith('#EXTM3U', i)) {
    const c = head.charCodeAt(i + 7);
    // The tag stands alone on its line (`#EXTM3Ux` is not it); NaN means the body ends there.
    return Number.isNaN(c) || c === 10 || c === 13 || c === 32 || c === 9 ? 'hls' : null;
  }
  // Skip the XML prolog: whitespace, `<?xml …?>`, comments, a DOCTYPE.
  for (;;) {
    while (i < head.length && isXmlSpace(head.charCodeAt(i))) i++;
    let end = -1;
    if (head.startsWith('<?', i)) end = endOf(head, '?>', i);
    else if (head.startsWith('<!--', i)) end = endOf(head, '-->', i);
    else if (head.startsWith('<!DOCTYPE', i)) end = endOf(head, '>', i);
    else break;
    if (end === -1) return null;
    i = end;
  }
  if (head.charCodeAt(i) !== 60 /* < */) return null;
  let nameEnd = i + 1;
  while (nameEnd < head.length && !isXmlSpace(head.charCodeAt(nameEnd)) && head[nameEnd] !== '>' && head[nameEnd] !== '/') {
    nameEnd++;
  }
  const qname = head.slice(i + 1, nameEnd);
  return qname.slice(qname.indexOf(':') + 1) === 'MPD' && nameEnd < head.length ? 'dash' : null;
}

/**
 * The kind to rewrite the body as, or null to pass it through untouched. The body must agree with a
 * specific content type: an HTML error page served as application/vnd.apple.mpegurl is not rewritten.
 */
export function detectManifestKind(contentType: string | null | undefined, body: string): ManifestKind | null {
  const declared = manifestKindOfContentType(contentType);
  if (declared === null) return null;
  const sniffed = sniffManifestKind(body);
  return declared === 'generic' || declared === sniffed ? sniffed : null;
}

/** Parses a manifest once into the template every viewer's answer is rendered from. */
export function compileManifest(kind: ManifestKind, bodyText: string, ctx: UriContext): ManifestTemplate {
  return kind === 'hls' ? compileHlsPlaylist(bodyText, ctx) : compileDashManifest(bodyText, ctx);
}

export function rewriteManifest(kind: ManifestKind, bodyText: string, opts: RewriteOptions): string {
  switch (kind) {
    case 'hls':
      return rewriteHlsPlaylist(bodyText, opts);
    case 'dash':
      return rewriteDashManifest(bodyText, opts);
    default: {
      const never: never = kind;
      throw new TypeError(`rewriteManifest: unknown kind ${String(never)}`);
    }
  }
}

function isXmlSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function endOf(s: string, terminator: string, from: number): number {
  const at = s.indexOf(terminator, from);
  return at === -1 ? -1 : at + terminator.length;
}
