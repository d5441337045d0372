// JWT stream check (reference §4.1, improvements §13.6): algorithms pinned, `exp` required, clock
// tolerance, `streamId` + `type` claims bound to the request. A token is verified with crypto once;
// later requests carrying it (every HLS segment) only re-check time and claims from a bounded cache.
import { errors } from 'jose';
import type { JWTPayload } from 'jose';
import type { CheckResult, RequestContext } from '../decision/types.js';
import { Reason } from '../errors.js';
import type { ReasonCode } from '../errors.js';
import type { JwtPolicy } from '../config/schema.js';
import { effectiveAlgorithms } from '../config/validate.js';
import type { Store } from '../store/store.js';
import { createKeyResolver, verifyJwt } from '../jwt/key-resolver.js';
import type { KeyResolver } from '../jwt/key-resolver.js';

/** What the cache keeps of a verified token: only the claims the per-request checks need. */
interface VerifiedClaims {
  streamId: string;
  type: string;
  exp: number | undefined; // seconds
  nbf: number | undefined; // seconds
  /** ms; entries older than the key-set cache period are re-verified so key removal takes effect. */
  verifiedAt: number;
}

export interface JwtCheckStats {
  size: number;
  hits: number;
  misses: number;
  /** Full signature verifications performed (cache misses that reached jwtVerify). */
  verifications: number;
}

export interface JwtCheck {
  check(token: string, ctx: RequestContext): Promise<CheckResult>;
  stats(): JwtCheckStats;
  readonly keyResolver: KeyResolver;
}

export interface JwtCheckOptions {
  /** Bound of the verified-token cache (default 10,000). */
  cacheSize?: number;
  /** Use this key function instead of building one (tests, or to share one between checks). */
  keyResolver?: KeyResolver;
  /** Hears every JWKS download attempt of the resolver built here (see createKeyResolver). */
  onJwksFetch?: (ok: boolean, detail?: string) => void;
}

const fail = (reason: ReasonCode): CheckResult => ({ ok: false, status: 401, reason });

/** Same arithmetic as jose (whole seconds, tolerance on both sides) so hits and misses agree. */
function timeCheck(c: VerifiedClaims, nowMs: number, toleranceS: number): ReasonCode | null {
  const now = Math.floor(nowMs / 1000);
  if (c.nbf !== undefined && c.nbf > now + toleranceS) return Reason.tokenNotYetValid;
  if (c.exp !== undefined && c.exp <= now - toleranceS) return Reason.tokenExpired;
  return null;
}

/**
 * NumericDate claims (RFC 7519 §2: seconds since the epoch) above 10^11 — the year 5138 — are
 * milliseconds written where seconds belong. Such an `exp` would make a token valid for millennia,
 * such an `nbf` never valid, so the token is refused with its own reason instead.
 */
export const MAX_PLAUSIBLE_NUMERIC_DATE = 1e11;

function implausibleTime(payload: JWTPayload | undefined): boolean {
  if (!payload) return false;
  for (const claim of [payload.exp, payload.nbf, payload.iat]) {
    if (typeof claim === 'number' && claim > MAX_PLAUSIBLE_NUMERIC_DATE) return true;
  }
  return false;
}

/** Maps jose failures to reasons; everything that is not about time is simply an invalid token. */
function reasonFor(err: unknown): ReasonCode {
  // jose checks the signature before any claim, so a claim error carries a verified payload.
  if ((err instanceof errors.JWTClaimValidationFailed || err instanceof errors.JWTExpired) && implausibleTime(err.payload)) return Reason.tokenTimeImplausible;
  if (err instanceof errors.JWTExpired) return Reason.tokenExpired;
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'nbf' && err.reason === 'check_failed') return Reason.tokenNotYetValid;
  return Reason.tokenInvalid;
}

function extractClaims(payload: JWTPayload, verifiedAt: number): VerifiedClaims | null {
  const { streamId, type } = payload as { streamId?: unknown; type?: unknown };
  if (typeof streamId !== 'string' || typeof type !== 'string') return null;
  return { streamId, type, exp: payload.exp, nbf: payload.nbf, verifiedAt };
}

export function createJwtCheck(policy: JwtPolicy, store: Store, options: JwtCheckOptions = {}): JwtCheck {
  const algorithms = effectiveAlgorithms(policy);
  const toleranceS = policy.clockToleranceSeconds;
  const maxEntryAgeMs = policy.jwksCacheSeconds * 1000;
  const cacheSize = options.cacheSize ?? 10_000;
  const keyResolver =
    options.keyResolver ??
    // The schema gives the policy the same secret/jwks* keys KeyResolverOptions reads.
    createKeyResolver(policy, store, options.onJwksFetch);
  // Map keeps insertion order: re-inserting on a hit makes the first key the least recently used.
  const cache = new Map<string, VerifiedClaims>();
  let hits = 0;
  let misses = 0;
  let verifications = 0;

  async function verify(token: string, nowMs: number): Promise<VerifiedClaims | ReasonCode> {
    // Pinned list: `alg: none` and algorithms outside it fail before any key is looked up.
    if (algorithms.length === 0) return Reason.tokenInvalid;
    verifications++;
    try {
      const { payload } = await verifyJwt(token, keyResolver, {
        algorithms,
        clockTolerance: toleranceS,
        currentDate: new Date(nowMs),
        requiredClaims: policy.requireExp ? ['exp'] : [],
      });
      if (implausibleTime(payload)) return Reason.tokenTimeImplausible;
      return extractClaims(payload, nowMs) ?? Reason.tokenInvalid;
    } catch (err) {
      return reasonFor(err);
    }
  }

  function remember(token: string, claims: VerifiedClaims): void {
    cache.set(token, claims);
    if (cache.size > cacheSize) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
  }

  async function check(token: string, ctx: RequestContext): Promise<CheckResult> {
    // Compact JWS has exactly three parts; anything else is not ours to verify (nor to cache).
    if (!token || token.split('.').length !== 3) return fail(Reason.tokenInvalid);
    let claims = cache.get(token);
    if (claims && ctx.now - claims.verifiedAt < maxEntryAgeMs && ctx.now >= claims.verifiedAt) {
      hits++;
      cache.delete(token);
      cache.set(token, claims);
    } else {
      if (claims) cache.delete(token);
      misses++;
      const verified = await verify(token, ctx.now);
      if (typeof verified === 'string') return fail(verified);
      claims = verified;
      remember(token, claims);
    }

    const timeReason = timeCheck(claims, ctx.now, toleranceS);
    if (timeReason) {
      if (timeReason === Reason.tokenExpired) cache.delete(token); // never valid again
      return fail(timeReason);
    }
    if (!ctx.streamIds.includes(claims.streamId)) return fail(Reason.tokenWrongStream);
    if (claims.type !== ctx.role) {
      // Ant Media conference: a publish token for the room id also plays the room (§4.1). Only the
      // room's own stream — the claim still has to name the requested stream, so it cannot be used
      // to play other streams of the room (membership is not known here).
      const roomPlay = ctx.role === 'play' && claims.type === 'publish' && ctx.credentials.roomId !== undefined && claims.streamId === ctx.credentials.roomId;
      if (!roomPlay) return fail(Reason.tokenWrongRole);
    }
    return { ok: true, expiresAt: claims.exp !== undefined ? claims.exp * 1000 : undefined, streamId: claims.streamId };
  }

  return {
    check,
    stats: () => ({ size: cache.size, hits, misses, verifications }),
    keyResolver,
  };
}
