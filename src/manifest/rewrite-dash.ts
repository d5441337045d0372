// DASH MPD rewriting (strategy S2). A DOM round trip would reformat the manifest (attribute order,
// quotes, whitespace, namespaces), so this is a single forward scan over the markup that splices only
// the URL values it changes: segment/initialization templates and URLs, and BaseURL/Location text.
// Values are entity-decoded before the URI logic of rewrite-hls.ts and re-escaped after, so an
// existing `&amp;` query stays a query and the appended separator is written `&amp;`.
import { createUriRewriter, type RewriteOptions, type UriRewriter } from './rewrite-hls.js';

/** URL-valued attributes, by element local name. */
const URL_ATTRIBUTES = new Map<string, readonly string[]>([
  ['SegmentTemplate', ['media', 'initialization', 'index']],
  ['SegmentURL', ['media', 'index']],
  ['Initialization', ['sourceURL']],
  ['RepresentationIndex', ['sourceURL']],
]);

/** Elements whose text content is a URL the player fetches from us. */
const URL_TEXT_ELEMENTS = new Set(['BaseURL', 'Location', 'PatchLocation']);

interface Splicer {
  parts: string[];
  last: number;
}

export function rewriteDashManifest(xml: string, opts: RewriteOptions): string {
  const rewriteUri = createUriRewriter(opts);
  const out: Splicer = { parts: [], last: 0 };
  const n = xml.length;
  let i = 0;
  // Every step moves forward and a malformed construct ends the scan (a player could not parse the
  // document either), so the work is linear in the document size.
  for (;;) {
    const lt = xml.indexOf('<', i);
    if (lt === -1) break;
    let next: number;
    if (xml.startsWith('<!--', lt)) next = after(xml, '-->', lt + 4);
    else if (xml.startsWith('<![CDATA[', lt)) next = after(xml, ']]>', lt + 9);
    else if (xml.startsWith('<?', lt)) next = after(xml, '?>', lt + 2);
    else if (xml.startsWith('<!', lt)) next = skipDeclaration(xml, lt + 2);
    else if (xml.charCodeAt(lt + 1) === 47 /* / */) next = after(xml, '>', lt + 2);
    else next = startTag(xml, lt, rewriteUri, out);
    if (next === -1) break;
    i = next;
  }
  if (out.parts.length === 0) return xml;
  out.parts.push(xml.slice(out.last, n));
  return out.parts.join('');
}

function splice(xml: string, out: Splicer, from: number, to: number, value: string): void {
  out.parts.push(xml.slice(out.last, from), value);
  out.last = to;
}

function after(xml: string, terminator: string, from: number): number {
  const at = xml.indexOf(terminator, from);
  return at === -1 ? -1 : at + terminator.length;
}

/** `<!DOCTYPE …>` with an optional `[internal subset]`. */
function skipDeclaration(xml: string, from: number): number {
  let depth = 0;
  for (let p = from; p < xml.length; p++) {
    const c = xml.charCodeAt(p);
    if (c === 91 /* [ */) depth++;
    else if (c === 93 /* ] */) depth--;
    else if (c === 62 /* > */ && depth <= 0) return p + 1;
  }
  return -1;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** Scans the start tag at `lt`, splicing URL attributes (and URL text after it); returns where to resume. */
function startTag(xml: string, lt: number, rewriteUri: UriRewriter, out: Splicer): number {
  const n = xml.length;
  let p = lt + 1;
  while (p < n) {
    const c = xml.charCodeAt(p);
    if (isSpace(c) || c === 47 /* / */ || c === 62 /* > */) break;
    p++;
  }
  const qname = xml.slice(lt + 1, p);
  if (qname === '') return -1;
  const local = qname.slice(qname.indexOf(':') + 1);
  const wanted = URL_ATTRIBUTES.get(local);

  for (;;) {
    while (p < n && isSpace(xml.charCodeAt(p))) p++;
    if (p >= n) return -1;
    const c = xml.charCodeAt(p);
    if (c === 62 /* > */) {
      p++;
      break;
    }
    if (c === 47 /* / */) return xml.charCodeAt(p + 1) === 62 ? p + 2 : -1; // self-closing: no text
    const nameStart = p;
    while (p < n) {
      const d = xml.charCodeAt(p);
      if (isSpace(d) || d === 61 /* = */ || d === 47 || d === 62) break;
      p++;
    }
    const name = xml.slice(nameStart, p);
    while (p < n && isSpace(xml.charCodeAt(p))) p++;
    if (name === '' || xml.charCodeAt(p) !== 61 /* = */) return -1;
    p++;
    while (p < n && isSpace(xml.charCodeAt(p))) p++;
    const quote = xml.charCodeAt(p);
    if (quote !== 34 /* " */ && quote !== 39 /* ' */) return -1;
    const close = xml.indexOf(quote === 34 ? '"' : "'", p + 1);
    if (close === -1) return -1;
    if (wanted !== undefined && wanted.includes(name)) {
      const value = rewriteEscaped(xml.slice(p + 1, close), rewriteUri, quote === 34 ? '"' : "'");
      if (value !== null) splice(xml, out, p + 1, close, value);
    }
    p = close + 1;
  }

  if (URL_TEXT_ELEMENTS.has(local)) rewriteUrlText(xml, p, qname, rewriteUri, out);
  return p;
}

/**
 * Text content of `<BaseURL>` / `<Location>` starting at `from`: plain text (entity-escaped) or a
 * single CDATA section, each optionally surrounded by whitespace. Anything else (mixed content, a
 * comment inside) is left alone.
 */
function rewriteUrlText(xml: string, from: number, qname: string, rewriteUri: UriRewriter, out: Splicer): void {
  const lt = xml.indexOf('<', from);
  if (lt === -1) return;
  if (xml.startsWith('<![CDATA[', lt)) {
    if (!isBlank(xml, from, lt)) return;
    const start = lt + 9;
    const end = xml.indexOf(']]>', start);
    if (end === -1) return;
    const closeAt = xml.indexOf('<', end + 3);
    if (closeAt === -1 || !isBlank(xml, end + 3, closeAt) || !isEndTag(xml, closeAt, qname)) return;
    const [a, b] = trimmed(xml, start, end);
    if (a === b) return;
    const uri = rewriteUri(xml.slice(a, b));
    if (uri !== null && !uri.includes(']]>')) splice(xml, out, a, b, uri);
    return;
  }
  if (!isEndTag(xml, lt, qname)) return;
  const [a, b] = trimmed(xml, from, lt);
  if (a === b) return;
  const value = rewriteEscaped(xml.slice(a, b), rewriteUri, '>');
  if (value !== null) splice(xml, out, a, b, value);
}

function isEndTag(xml: string, at: number, qname: string): boolean {
  if (!xml.startsWith('</', at) || !xml.startsWith(qname, at + 2)) return false;
  const c = xml.charCodeAt(at + 2 + qname.length);
  return c === 62 /* > */ || isSpace(c);
}

function isBlank(xml: string, from: number, to: number): boolean {
  for (let p = from; p < to; p++) if (!isSpace(xml.charCodeAt(p))) return false;
  return true;
}

function trimmed(xml: string, from: number, to: number): [number, number] {
  let a = from;
  let b = to;
  while (a < b && isSpace(xml.charCodeAt(a))) a++;
  while (b > a && isSpace(xml.charCodeAt(b - 1))) b--;
  return [a, b];
}

/**
 * Decodes an escaped XML value, rewrites it, and escapes the result again: `&`, `<`, and the
 * delimiter that must not appear raw (the attribute's quote, or `>` in text). Null keeps the value.
 */
function rewriteEscaped(escaped: string, rewriteUri: UriRewriter, delimiter: '"' | "'" | '>'): string | null {
  const raw = decodeEntities(escaped);
  if (raw === null) return null; // an entity we cannot resolve (DTD-defined): do not guess
  const uri = rewriteUri(raw);
  if (uri === null) return null;
  const entity = delimiter === '"' ? '&quot;' : delimiter === "'" ? '&apos;' : '&gt;';
  return uri.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll(delimiter, entity);
}

function namedEntity(name: string): string | undefined {
  switch (name) {
    case 'amp':
      return '&';
    case 'lt':
      return '<';
    case 'gt':
      return '>';
    case 'quot':
      return '"';
    case 'apos':
      return "'";
    default:
      return undefined;
  }
}

/** The five predefined entities and numeric character references; null for anything else. */
function decodeEntities(s: string): string | null {
  let amp = s.indexOf('&');
  if (amp === -1) return s;
  let out = '';
  let from = 0;
  while (amp !== -1) {
    const semi = s.indexOf(';', amp + 1);
    // No reference is longer than `&#x10FFFF;`; bailing out keeps this linear on `&&&&…`.
    if (semi === -1 || semi - amp > 9) return null;
    const name = s.slice(amp + 1, semi);
    let ch = namedEntity(name);
    if (ch === undefined) {
      const hex = name.startsWith('#x') || name.startsWith('#X');
      const digits = name.slice(hex ? 2 : 1);
      if (!name.startsWith('#') || digits === '' || !(hex ? /^[0-9A-Fa-f]+$/ : /^[0-9]+$/).test(digits)) return null;
      const code = parseInt(digits, hex ? 16 : 10);
      if (code < 1 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return null;
      ch = String.fromCodePoint(code);
    }
    out += s.slice(from, amp) + ch;
    from = semi + 1;
    amp = s.indexOf('&', from);
  }
  return out + s.slice(from);
}
