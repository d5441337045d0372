// Credentials in the query string (Ant Media's `token`, `subscriberId`, `subscriberCode`, `roomId`) plus
// our playback grant. Reading and stripping share one notion of "which parameter is a credential", so
// what we authorize on is exactly what we remove before forwarding. Names are compared after decoding
// (`%74oken` is `token`, as for the servlet API), and every occurrence is stripped while only the first
// is read: the origin never sees a credential we did not look at.
import type { Credentials } from '../decision/types.js';

const ANT_MEDIA_NAMES = ['token', 'subscriberId', 'subscriberCode', 'roomId'] as const;
type AntMediaName = (typeof ANT_MEDIA_NAMES)[number];

/** Form decoding (`+` is a space); an undecodable value is kept raw so it fails verification visibly. */
function decodeComponent(raw: string): string {
  if (raw.indexOf('%') < 0 && raw.indexOf('+') < 0) return raw;
  const spaced = raw.replaceAll('+', ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/**
 * Hot path: most segment requests carry no query, or only unrelated parameters. A '%' could hide a
 * credential name, so it forces the slow path; '+' cannot (no credential name contains a space).
 */
function mayHoldCredential(rawQuery: string, grantParam: string): boolean {
  if (rawQuery.length === 0) return false;
  return (
    rawQuery.includes('token') ||
    rawQuery.includes('subscriber') ||
    rawQuery.includes('roomId') ||
    (grantParam.length > 0 && rawQuery.includes(grantParam)) ||
    rawQuery.includes('%')
  );
}

/** Which credential (if any) a `name=value` pair carries; `grant` for the grant parameter. */
function credentialName(pair: string, grantParam: string): AntMediaName | 'grant' | null {
  const equals = pair.indexOf('=');
  const name = decodeComponent(equals < 0 ? pair : pair.slice(0, equals));
  if (grantParam.length > 0 && name === grantParam) return 'grant';
  return (ANT_MEDIA_NAMES as readonly string[]).includes(name) ? (name as AntMediaName) : null;
}

/**
 * Read credentials from a raw query (no leading `?`). First occurrence of each name wins; an empty
 * value counts as absent (and still wins, so `token=&token=x` carries no token).
 */
export function readCredentials(rawQuery: string, grantParam: string): Credentials {
  const credentials: Credentials = {};
  if (!mayHoldCredential(rawQuery, grantParam)) return credentials;
  const seen = new Set<string>();
  for (const pair of rawQuery.split('&')) {
    if (pair.length === 0) continue;
    const name = credentialName(pair, grantParam);
    if (name === null || seen.has(name)) continue;
    seen.add(name);
    const equals = pair.indexOf('=');
    const value = equals < 0 ? '' : decodeComponent(pair.slice(equals + 1));
    if (value.length > 0) credentials[name] = value;
  }
  return credentials;
}

/**
 * The query without credential parameters, every other parameter byte-for-byte and in order.
 * `keepAntMedia` (origin.stripCredentials: false) keeps Ant Media's own parameters (`token`,
 * `subscriberId`, `subscriberCode`, `roomId`) for an origin that checks them too; the playback grant
 * is the gate's alone and always goes. Returns the input unchanged when nothing is removed, and ''
 * when nothing is left.
 */
export function stripCredentials(rawQuery: string, grantParam: string, keepAntMedia = false): string {
  if (!mayHoldCredential(rawQuery, grantParam)) return rawQuery;
  const pairs = rawQuery.split('&');
  const kept: string[] = [];
  let removed = false;
  for (const pair of pairs) {
    const name = pair.length > 0 ? credentialName(pair, grantParam) : null;
    if (name !== null && (name === 'grant' || !keepAntMedia)) {
      removed = true;
      continue;
    }
    if (pair.length > 0) kept.push(pair);
  }
  return removed ? kept.join('&') : rawQuery;
}

/** RFC 6750 §2.1 b64token: the only characters a Bearer credential may hold. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1; the scheme is
 * case-insensitive, RFC 9110 §11.1), as WHIP clients send it (RFC 9725 §4.5: OBS, GStreamer's
 * whipclientsink; Ant Media's WhipEndpoint reads the same header). undefined for any other scheme,
 * a missing token, several header lines, or characters outside b64token.
 */
export function bearerToken(authorization: string | string[] | undefined): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  const m = /^[Bb][Ee][Aa][Rr][Ee][Rr] +(\S+) *$/.exec(authorization);
  if (!m || !B64TOKEN.test(m[1]!)) return undefined;
  return m[1];
}
