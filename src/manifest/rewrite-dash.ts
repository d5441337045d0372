// DASH MPD rewriting (strategy S2). A DOM round trip would reformat the manifest (attribute order,
// quotes, whitespace, namespaces), so this is a single forward scan over the markup that cuts the
// document at every grant slot (template.ts): segment/initialization templates and URLs, BaseURL /
// Location / PatchLocation text, and remote elements (`xlink:href`). Values are entity-decoded
// before the URI logic of uri.ts and the pieces re-escaped after, so an existing `&amp;` query stays
// a query and the appended separator is written `&amp;`. Element and attribute names follow
// ISO/IEC 23009-1 (5th ed.) §5.3.9 (segment information), §5.6 (BaseURL), §5.3.1.2 (Location,
// PatchLocation), §5.5 (xlink remote elements) and DASH-IF CTS 001 (ContentSteering).
import { TemplateBuilder, renderTemplate, type ManifestTemplate, type SlotKind } from './template.js';
import { uriContextOf, type RewriteOptions } from './rewrite-hls.js';
import { createUriSplitter, type SplitUri, type UriContext, type UriSplitter } from './uri.js';

/**
 * URL-valued attributes, by element local name. A SegmentTemplate's `$Number%05d$` / `$Time$` /
 * `$RepresentationID$` identifiers sit in the path, so the grant appended to the query leaves the
 * template expandable (§5.3.9.4.4).
 */
const URL_ATTRIBUTES = new Map<string, readonly string[]>([
  ['SegmentTemplate', ['media', 'initialization', 'index', 'bitstreamSwitching']],
  ['SegmentURL', ['media', 'index']],
  ['Initialization', ['sourceURL']],
  ['RepresentationIndex', ['sourceURL']],
  ['BitstreamSwitching', ['sourceURL']],
]);

/** Elements whose text content is a URL the player fetches from us. */
const URL_TEXT_ELEMENTS = new Set(['BaseURL', 'Location', 'PatchLocation', 'ContentSteering']);
/**
 * Of those, the documents a player re-requests unchanged while it plays (the MPD from `Location`
 * and `PatchLocation` at every update, §5.4; a steering manifest every TTL): session slots
 * (template.ts). Remote elements (`xlink:href`) are too, since `onRequest` resolves them whenever
 * playback reaches them. BaseURL and segment URLs are media slots.
 */
const SESSION_TEXT_ELEMENTS: ReadonlySet<string> = new Set(['Location', 'PatchLocation', 'ContentSteering']);

/** `xlink:href` on any element (Period, AdaptationSet, EventStream, SegmentList…): a remote element. */
function isXlinkHref(name: string): boolean {
  return name.endsWith(':href') && name.length > 5;
}

export function rewriteDashManifest(xml: string, opts: RewriteOptions): string {
  return renderTemplate(compileDashManifest(xml, uriContextOf(opts)), opts.grant);
}

/** The MPD cut at every grant slot; `renderTemplate(t, grant)` is one viewer's MPD. */
export function compileDashManifest(xml: string, ctx: UriContext): ManifestTemplate {
  const split = createUriSplitter(ctx);
  const out = new TemplateBuilder(xml);
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
    else next = startTag(xml, lt, split, out);
    if (next === -1) break;
    i = next;
  }
  return out.finish();
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
function startTag(xml: string, lt: number, split: UriSplitter, out: TemplateBuilder): number {
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
    const xlink = isXlinkHref(name);
    if ((wanted !== undefined && wanted.includes(name)) || xlink) {
      const value = splitEscaped(xml.slice(p + 1, close), split, quote === 34 ? '"' : "'");
      if (value !== null) out.cut(p + 1, close, value.before, value.after, xlink ? 'session' : 'media');
    }
    p = close + 1;
  }

  if (URL_TEXT_ELEMENTS.has(local)) rewriteUrlText(xml, p, qname, split, out, SESSION_TEXT_ELEMENTS.has(local) ? 'session' : 'media');
  return p;
}

/**
 * Text content of `<BaseURL>` / `<Location>` starting at `from`: plain text (entity-escaped) or a
 * single CDATA section, each optionally surrounded by whitespace. Anything else (mixed content, a
 * comment inside) is left alone.
 */
function rewriteUrlText(xml: string, from: number, qname: string, split: UriSplitter, out: TemplateBuilder, kind: SlotKind): void {
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
    const s = split(xml.slice(a, b));
    if (s !== null && !s.before.includes(']]>') && !s.after.includes(']]>')) out.cut(a, b, s.before, s.after, kind);
    return;
  }
  if (!isEndTag(xml, lt, qname)) return;
  const [a, b] = trimmed(xml, from, lt);
  if (a === b) return;
  const value = splitEscaped(xml.slice(a, b), split, '>');
  if (value !== null) out.cut(a, b, value.before, value.after, kind);
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
 * Decodes an escaped XML value, splits it, and escapes both pieces again: `&`, `<`, and the
 * delimiter that must not appear raw (the attribute's quote, or `>` in text). Null keeps the value.
 */
function splitEscaped(escaped: string, split: UriSplitter, delimiter: '"' | "'" | '>'): SplitUri | null {
  const raw = decodeEntities(escaped);
  if (raw === null) return null; // an entity we cannot resolve (DTD-defined): do not guess
  const s = split(raw);
  if (s === null) return null;
  const entity = delimiter === '"' ? '&quot;' : delimiter === "'" ? '&apos;' : '&gt;';
  const escape = (v: string) => v.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll(delimiter, entity);
  return { before: escape(s.before), after: escape(s.after) };
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
