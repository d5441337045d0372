// Canonicalize a raw request-target before anything is authorized on it (reference §13.1).
// Ant Media parses stream ids from the raw, un-normalized URI while Tomcat serves the normalized one,
// so `stream1__/../stream2.m3u8` reads as stream1 and serves stream2. We refuse every spelling that a
// server could normalize differently (dot segments, `//`, `;params`, backslashes, encoded separators),
// decode what is left exactly once, and forward a single re-encoded spelling, so what we authorize is
// byte-for-byte what the origin sees. One left-to-right pass, no regexes: cost is linear in the URI.
import { Reason } from '../errors.js';

export type CanonicalUrl =
  | {
      ok: true;
      /** Re-encoded path forwarded to the origin: unreserved characters literal, the rest `%XX` uppercase. */
      path: string;
      /**
       * Decoded path segments. A trailing slash shows as a final empty segment (`/` → `['']`,
       * `/a/` → `['a', '']`) so routing never mistakes `x.m3u8/` for `x.m3u8`.
       */
      segments: string[];
      /** Text after the first `?`, without any `#fragment`, exactly as sent ('' when absent). */
      rawQuery: string;
    }
  | { ok: false; reason: typeof Reason.uriTooLong | typeof Reason.pathInvalid; message: string };

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const PERCENT = 0x25;
const SEMICOLON = 0x3b;
const QUESTION = 0x3f;
const HASH = 0x23;

// fatal: invalid UTF-8 (overlongs, surrogates, truncated sequences) throws instead of becoming U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true });

function invalid(message: string): CanonicalUrl {
  return { ok: false, reason: Reason.pathInvalid, message };
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function isUnreserved(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d || // -
    code === DOT ||
    code === 0x5f || // _
    code === 0x7e // ~
  );
}

const HEX = '0123456789ABCDEF';

/** Encode one decoded segment: unreserved ASCII literal, every other UTF-8 byte as `%XX`. */
function encodeSegment(segment: string): string {
  let ascii = true;
  for (let i = 0; i < segment.length; i++) {
    if (!isUnreserved(segment.charCodeAt(i))) {
      ascii = false;
      break;
    }
  }
  if (ascii) return segment;
  let out = '';
  for (const byte of Buffer.from(segment, 'utf8')) {
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/** C0 controls, DEL and (after decoding) C1 controls never belong in a media path. */
function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/**
 * Decode `raw[start, end)` (one segment, already checked to hold no raw `/`). Returns the decoded
 * text or an error message.
 */
function decodeSegment(raw: string, start: number, end: number): { text: string } | { error: string } {
  let hasEscape = false;
  for (let i = start; i < end; i++) {
    const code = raw.charCodeAt(i);
    if (code === PERCENT) {
      hasEscape = true;
      continue;
    }
    if (code === SEMICOLON) return { error: "path contains ';' (path parameters are refused)" };
    if (code === BACKSLASH) return { error: 'path contains a backslash' };
    if (code <= 0x20 || code === 0x7f) return { error: 'path contains a control character or space' };
    // Request-targets are ASCII; raw bytes above 0x7f mean a client that skipped percent-encoding.
    if (code > 0x7e) return { error: 'path contains a raw non-ASCII character' };
  }
  if (!hasEscape) return { text: raw.slice(start, end) };

  const bytes = new Uint8Array(end - start);
  let length = 0;
  let nonAscii = false;
  for (let i = start; i < end; i++) {
    const code = raw.charCodeAt(i);
    if (code !== PERCENT) {
      bytes[length++] = code;
      continue;
    }
    const high = i + 2 < end ? hexValue(raw.charCodeAt(i + 1)) : -1;
    const low = i + 2 < end ? hexValue(raw.charCodeAt(i + 2)) : -1;
    if (high < 0 || low < 0) return { error: 'path contains a malformed percent escape' };
    const byte = high * 16 + low;
    // Encoded separators and dots are how traversal hides from naive checks: never legitimate here.
    if (byte === SLASH || byte === BACKSLASH || byte === DOT) {
      return { error: 'path contains a percent-encoded "/", "\\" or "."' };
    }
    if (byte < 0x20 || byte === 0x7f) return { error: 'path contains an encoded control character' };
    if (byte > 0x7f) nonAscii = true;
    bytes[length++] = byte;
    i += 2;
  }
  let text: string;
  try {
    text = utf8.decode(bytes.subarray(0, length));
  } catch {
    return { error: 'path does not decode to valid UTF-8' };
  }
  if (!nonAscii) return { text };
  for (let i = 0; i < text.length; i++) {
    if (isControl(text.charCodeAt(i))) return { error: 'path contains an encoded control character' };
  }
  return { text };
}

/**
 * Validate and canonicalize a raw request-target (`req.url`). Only origin-form (`/path?query`) is
 * accepted. See the file header for what is refused and why.
 */
export function canonicalizeUrl(rawUrl: string, maxBytes: number): CanonicalUrl {
  // Length first, before any per-character work: the cap is what bounds every later step.
  if (rawUrl.length > maxBytes || Buffer.byteLength(rawUrl, 'utf8') > maxBytes) {
    return { ok: false, reason: Reason.uriTooLong, message: `request-target longer than ${maxBytes} bytes` };
  }
  if (rawUrl.charCodeAt(0) !== SLASH) {
    return invalid('request-target must be an absolute path starting with "/"');
  }

  // The path ends at the first '?' or '#'; the query ends at the first '#'.
  let pathEnd = rawUrl.length;
  for (let i = 0; i < rawUrl.length; i++) {
    const code = rawUrl.charCodeAt(i);
    if (code === QUESTION || code === HASH) {
      pathEnd = i;
      break;
    }
  }
  let rawQuery = '';
  if (rawUrl.charCodeAt(pathEnd) === QUESTION) {
    const hash = rawUrl.indexOf('#', pathEnd + 1);
    rawQuery = rawUrl.slice(pathEnd + 1, hash < 0 ? rawUrl.length : hash);
  }

  // Slice so that segment searches never run on into the query (keeps the walk linear).
  const rawPath = rawUrl.slice(0, pathEnd);
  const segments: string[] = [];
  let path = '';
  let start = 1;
  while (start <= pathEnd) {
    let end = rawPath.indexOf('/', start);
    if (end < 0) end = pathEnd;
    if (start === end) {
      // Empty segment: fine only as the final one (a single trailing slash, or the root "/").
      if (end !== pathEnd) return invalid('path contains an empty segment ("//")');
      segments.push('');
      path += '/';
      break;
    }
    const decoded = decodeSegment(rawPath, start, end);
    if ('error' in decoded) return invalid(decoded.error);
    if (decoded.text === '.' || decoded.text === '..') return invalid('path contains a "." or ".." segment');
    segments.push(decoded.text);
    path += '/' + encodeSegment(decoded.text);
    start = end + 1;
  }
  return { ok: true, path, segments, rawQuery };
}
