// The REST filter for `/{app}/rest/…` (reference §4.3, §6, improvements §13.6/9/10): JWT and/or
// client IP, decided on the canonical path before anything is answered or forwarded. Fixes over
// Ant Media's JWTFilter + IPFilter:
//   * `exp` is required and checked (also for JWKS tokens), `iss`/`aud` optional, algorithms pinned;
//   * JWKS from any URL, cached, with timeouts and a cooldown (jwt/key-resolver.ts), any key type;
//     JWKS down with cached keys keeps working; no keys at all is a 403, never a 500;
//   * the client IP honours X-Forwarded-For only from configured trusted proxies;
//   * no URL-substring bypass (Ant's `rest/v2/acm`): the caller routes canonical segments;
//   * a presented Authorization header is never ignored: in `either` mode a bad token is a deny
//     even from an allowed address;
//   * a browser (any request with an Origin header, or whose Fetch Metadata says it comes from another
//     site) must bring a JWT: an IP allowlist alone would let any web page the admin visits drive the
//     API with the admin's network position (CSRF) — an <img src=…/token> sends no Origin header, but
//     `Sec-Fetch-Site: cross-site`.
import type { IncomingMessage } from 'node:http';
import { errors } from 'jose';
import type { Runtime } from '../runtime.js';
import { Reason } from '../errors.js';
import type { Store } from '../store/store.js';
import type { AppRuntime, JwksObserver } from '../decision/policy.js';
import { effectiveAlgorithms } from '../config/validate.js';
import { createKeyResolver, verifyJwt as verifyWithKeys, type KeyResolver } from '../jwt/key-resolver.js';
import { compileCidrs, type IpMatcher } from '../request/client-ip.js';
import { clientIpOf } from '../request/context.js';

/** The REST filter's reasons (declared with their statuses in decision/reasons.ts). */
export const RestReason = {
  jwtMissing: Reason.restJwtMissing,
  jwtInvalid: Reason.restJwtInvalid,
  jwtExpired: Reason.restJwtExpired,
  ipNotAllowed: Reason.ipNotAllowed,
  /** A browser request (Origin header) authorized by address only. */
  browserNeedsJwt: Reason.restOriginRequiresJwt,
  /** `Sec-Fetch-Site: cross-site` (or `same-site` without rest.allowSameSite) without a valid JWT. */
  crossSiteNeedsJwt: Reason.restCrossSiteRequiresJwt,
} as const;
export type RestReasonCode = (typeof RestReason)[keyof typeof RestReason];

export type RestFilterResult = { ok: true; via: 'ip' | 'jwt' | 'jwt+ip' } | { ok: false; reason: RestReasonCode };

/** An app's REST filter, compiled once when the gate starts: the key resolver's JWKS cache outlives requests. */
export interface CompiledRestFilter {
  jwt: { resolver: KeyResolver; algorithms: string[] } | null;
  ipAllowed: IpMatcher;
}

/** Compiles `apps.<name>.rest` (the public and admin listeners share the result). */
/** `jwks(url)`: the observer of the JWKS downloads (dependency health), optional. */
export function compileRestFilter(rest: AppRuntime['config']['rest'], store: Store, jwks?: JwksObserver): CompiledRestFilter {
  const j = rest.jwt;
  const configured = Boolean(j.secret?.length || j.jwksUrl);
  return {
    jwt: configured
      ? {
          // The schema gives rest.jwt the same secret/jwks* keys KeyResolverOptions reads.
          resolver: createKeyResolver(j, store, j.jwksUrl ? jwks?.(j.jwksUrl) : undefined),
          algorithms: effectiveAlgorithms(j),
        }
      : null,
    ipAllowed: compileCidrs(rest.allowedCIDRs),
  };
}

/** `Authorization: <jwt>` or `Authorization: Bearer <jwt>` (scheme case-insensitive). */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  let v = header.trim();
  if (/^bearer(\s|$)/i.test(v)) v = v.slice(6).trim();
  return v === '' ? null : v;
}

async function verifyJwt(rt: Runtime, app: AppRuntime, jwt: NonNullable<CompiledRestFilter['jwt']>, token: string): Promise<RestFilterResult> {
  const cfg = app.config.rest.jwt;
  try {
    await verifyWithKeys(token, jwt.resolver, {
      algorithms: jwt.algorithms,
      requiredClaims: ['exp'],
      issuer: cfg.issuer,
      audience: cfg.audience,
      clockTolerance: cfg.clockToleranceSeconds,
    });
    return { ok: true, via: 'jwt' };
  } catch (err) {
    if (err instanceof errors.JWTExpired) return { ok: false, reason: RestReason.jwtExpired };
    // Why, for the operator (never the token): no keys, bad signature, wrong alg, missing exp…
    rt.log.debug({ app: app.name, code: (err as { code?: string }).code ?? 'ERR' }, 'REST JWT refused');
    return { ok: false, reason: RestReason.jwtInvalid };
  }
}

/** Decides a REST request. Pure with respect to the response: the caller sends the 403. */
export async function checkRest(rt: Runtime, app: AppRuntime, req: IncomingMessage): Promise<RestFilterResult> {
  const f = rt.restFilters.get(app.name)!;
  const ipOk = f.ipAllowed(clientIpOf(rt.isTrustedProxy, req));
  const header = req.headers.authorization;
  const token = bearerToken(typeof header === 'string' ? header : undefined);
  // Fetch Metadata (W3C): browsers say where a request comes from, also for <img>, links and forms.
  const site = req.headers['sec-fetch-site'];
  const crossSite = site === 'cross-site' || (site === 'same-site' && !app.config.rest.allowSameSite);
  const fromBrowser = typeof req.headers.origin === 'string' || crossSite;
  const browserDeny = crossSite ? RestReason.crossSiteNeedsJwt : RestReason.browserNeedsJwt;

  if (app.config.rest.mode === 'both') {
    // Address first: outsiders never get to probe tokens.
    if (!ipOk) return { ok: false, reason: RestReason.ipNotAllowed };
    if (!f.jwt) return fromBrowser ? { ok: false, reason: browserDeny } : { ok: true, via: 'ip' };
    if (token === null) return { ok: false, reason: RestReason.jwtMissing };
    const r = await verifyJwt(rt, app, f.jwt, token);
    return r.ok ? { ok: true, via: 'jwt+ip' } : r;
  }

  // either: a valid JWT, or an allowed address — but a presented token must be valid.
  if (token !== null && f.jwt) return verifyJwt(rt, app, f.jwt, token);
  if (ipOk) return fromBrowser ? { ok: false, reason: f.jwt ? RestReason.jwtMissing : browserDeny } : { ok: true, via: 'ip' };
  return { ok: false, reason: f.jwt ? RestReason.jwtMissing : RestReason.ipNotAllowed };
}
