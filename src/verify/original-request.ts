// Which request is `/verify` asked about? Each proxy describes the original request in its own dialect:
//
//   nginx auth_request     GET /verify            X-Original-URI, X-Original-Method (set in the config)
//   Traefik ForwardAuth    GET /verify            X-Forwarded-Uri, X-Forwarded-Method
//   ingress-nginx          GET /verify            X-Original-URL (a full URL), X-Original-Method
//   Envoy / Istio ext_authz (HTTP service)        the ORIGINAL method, and `path_prefix` + the original
//                          PUT /verify/LiveApp/…?token=…   :path, query included (HttpService.path_prefix;
//                                                  ext_authz_http_impl.cc). Istio's envoyExtAuthzHttp
//                                                  provider sets path_prefix from `pathPrefix`.
//
// Envoy adds no header naming the original path: `x-envoy-original-path` is the router's record of a
// route rewrite on the way to an upstream, never part of a check request, so it is not read here (a
// client could send one). Only the caller was checked before this runs; the headers it relays may still
// carry a client's own copies of other dialects, so dialects that disagree are refused.
import type { IncomingHttpHeaders } from 'node:http';
import type { Role } from '../decision/types.js';

/** Path prefix of the ext_authz shape: configure Envoy with `path_prefix: /verify`. */
export const VERIFY_PREFIX = '/verify';

export type OriginalRequest =
  | {
      ok: true;
      /** The original request-target (origin-form: path and query). */
      uri: string;
      method: string;
      /** `?role=` of an nginx/Traefik `/verify?role=publish` location; never read in the ext_authz shape. */
      role?: Role;
      shape: 'headers' | 'ext_authz';
    }
  | { ok: false; why: 'disagree' | 'missing' | 'method' | 'role' };

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Whether a request-target is `/verify`, `/verify?…` or `/verify/…` (matched before canonicalization). */
export function isVerifyTarget(url: string): boolean {
  return url.startsWith(VERIFY_PREFIX) && (url.length === VERIFY_PREFIX.length || url[VERIFY_PREFIX.length] === '?' || url[VERIFY_PREFIX.length] === '/');
}

/** ingress-nginx sends a full URL in X-Original-URL: keep only the request-target. */
function requestTarget(raw: string): string {
  if (raw.startsWith('http://') || raw.startsWith('https://')) {
    const slash = raw.indexOf('/', raw.indexOf('//') + 2);
    return slash === -1 ? '/' : raw.slice(slash);
  }
  return raw;
}

/**
 * One value from whichever dialects are present — or null when several are present and disagree. A
 * proxy sets its own header but may pass the client's others through (Traefik ForwardAuth copies client
 * headers; an Envoy allowlist may admit them): a client-supplied X-Original-URI next to Traefik's
 * X-Forwarded-Uri, or next to Envoy's own path, must not choose what gets authorized.
 */
function agreed(values: (string | undefined)[]): string | null | undefined {
  const present = values.filter((v): v is string => v !== undefined && v !== '');
  if (present.length === 0) return undefined;
  return present.every((v) => v === present[0]) ? present[0]! : null;
}

/**
 * The original request a `/verify` call describes.
 *
 * @param url the raw request-target of the call (`/verify?role=publish`, `/verify/LiveApp/…`)
 * @param method the call's own method (GET/HEAD for the header dialects; anything for ext_authz)
 * @returns `missing` when no URI is given; `method` for a header-dialect call that is not GET/HEAD;
 *   `role` for a `?role=` other than play/publish; `disagree` for conflicting dialects.
 */
export function originalRequest(url: string, method: string, h: IncomingHttpHeaders): OriginalRequest {
  const headerUri = [first(h['x-original-uri']), first(h['x-forwarded-uri']), first(h['x-original-url'])].map((v) => (v ? requestTarget(v) : v));
  const headerMethod = [first(h['x-original-method']), first(h['x-forwarded-method'])].map((v) => v?.toUpperCase());

  if (url[VERIFY_PREFIX.length] === '/') {
    // Envoy ext_authz: the path after the prefix is the original target, the method is the original one.
    const uri = agreed([url.slice(VERIFY_PREFIX.length), ...headerUri]);
    const m = agreed([method, ...headerMethod]);
    if (uri === null || m === null) return { ok: false, why: 'disagree' };
    return { ok: true, uri: uri!, method: m!, shape: 'ext_authz' };
  }

  if (method !== 'GET' && method !== 'HEAD') return { ok: false, why: 'method' };
  const uri = agreed(headerUri);
  const m = agreed(headerMethod);
  if (uri === null || m === null) return { ok: false, why: 'disagree' };
  if (!uri) return { ok: false, why: 'missing' };
  const q = url.indexOf('?');
  const asked = q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get('role');
  if (asked !== null && asked !== 'play' && asked !== 'publish') return { ok: false, why: 'role' };
  return { ok: true, uri, method: m ?? 'GET', shape: 'headers', ...(asked ? { role: asked } : {}) };
}
