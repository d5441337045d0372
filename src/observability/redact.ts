// Keep secrets out of logs: URLs are logged with credential values replaced. Over-redaction is the
// safe error here, so names match case-insensitively and after percent-decoding, and the fragment is
// treated like a query (`#access_token=` from implicit OAuth flows). subscriberId is deliberately kept:
// it identifies a viewer and is needed to read logs; it proves nothing on its own.

export const REDACTED = '[REDACTED]';

/** Secret parameters redacted by default; `sg` is the default grant parameter name. */
export const DEFAULT_SECRET_PARAMS: readonly string[] = ['token', 'subscriberCode', 'access_token', 'jwt', 'sg'];

/** The default secret names plus the configured grant parameter. */
export function secretParamNames(grantParam: string): readonly string[] {
  return grantParam && !DEFAULT_SECRET_PARAMS.includes(grantParam)
    ? [...DEFAULT_SECRET_PARAMS, grantParam]
    : DEFAULT_SECRET_PARAMS;
}

function looseDecode(raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return raw;
  }
}

function redactParams(params: string, secrets: ReadonlySet<string>): string {
  let changed = false;
  const pairs = params.split('&').map((pair) => {
    const equals = pair.indexOf('=');
    if (equals < 0 || equals === pair.length - 1) return pair; // no value: nothing to hide
    if (!secrets.has(looseDecode(pair.slice(0, equals)).toLowerCase())) return pair;
    changed = true;
    return `${pair.slice(0, equals + 1)}${REDACTED}`;
  });
  return changed ? pairs.join('&') : params;
}

/**
 * `rawUrl` with the values of secret query (and fragment) parameters replaced by `[REDACTED]`.
 * Never throws: whatever is passed, something printable comes back.
 */
export function redactUrl(rawUrl: string, names: readonly string[] = DEFAULT_SECRET_PARAMS): string {
  if (typeof rawUrl !== 'string') return String(rawUrl);
  try {
    const question = rawUrl.indexOf('?');
    const hash = rawUrl.indexOf('#');
    if (question < 0 && hash < 0) return rawUrl;
    const secrets = new Set(names.map((name) => name.toLowerCase()));
    const queryStart = question >= 0 && (hash < 0 || question < hash) ? question : -1;
    const pathEnd = queryStart >= 0 ? queryStart : hash;
    const queryEnd = hash >= 0 && hash > queryStart ? hash : rawUrl.length;
    let out = rawUrl.slice(0, pathEnd);
    if (queryStart >= 0) out += '?' + redactParams(rawUrl.slice(queryStart + 1, queryEnd), secrets);
    if (hash >= 0) out += '#' + redactParams(rawUrl.slice(hash + 1), secrets);
    return out;
  } catch {
    return '[unprintable url]';
  }
}
