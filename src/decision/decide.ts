// The one decision core: "may this request play/publish this stream?" A function of the canonical
// request context, the app's compiled role policy and the store; the three front doors (HTTP
// proxy, /verify, WebSocket gate) only translate its answer.
import { Reason, StoreUnavailableError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { CheckResult, Decision, RequestContext, Via } from './types.js';
import type { RoleRuntime } from './policy.js';
import { checkHashToken } from '../checks/hash-token.js';
import { checkOneTimeToken } from '../checks/one-time-token.js';
import { checkTotpSubscriber } from '../checks/totp-subscriber.js';
import { checkSubscriberNotBlocked } from '../checks/subscriber-block.js';
import { checkPublisherIp } from '../checks/publisher-ip.js';
import { checkRegisteredStream, type StreamRegistry } from '../checks/registered-stream.js';
import type { PlaybackSessions } from '../session/playback-sessions.js';

export interface DecideDeps {
  store: Store;
  /** Playback sessions: a request carrying a grant is decided by it (no other credential needed). */
  sessions?: PlaybackSessions | undefined;
  /** Where "registered stream" is asked when acceptUndefinedStreams is off (publish only). */
  registry?: StreamRegistry | undefined;
}

/** `header.payload…`: a non-empty first part and a non-empty second part (compact JWS). */
const isJwtShaped = (t: string) => {
  const first = t.indexOf('.');
  return first > 0 && t.indexOf('.', first + 1) > first + 1;
};
const isHashShaped = (t: string) => t.length === 64 && /^[0-9a-f]{64}$/.test(t);

/** Re-presentation of single-use credentials (see PlaybackSessions.seedsFor). */
type Reuse = { client: string; seeds: () => Promise<Readonly<Record<string, string>> | undefined>; ttlMs: number } | undefined;

/** The token factor: the single `token` parameter, accepted by any enabled kind (migrations). */
async function tokenFactor(ctx: RequestContext, rt: RoleRuntime, store: Store, reuse: Reuse): Promise<CheckResult & { via?: Via }> {
  const token = ctx.credentials.token;
  if (!token) return { ok: false, status: 401, reason: Reason.tokenMissing };
  const p = rt.policy;
  // Dispatch on shape so a JWT never costs a store round trip and a hash never touches JWT code.
  if (rt.jwt && isJwtShaped(token)) return { ...(await rt.jwt.check(token, ctx)), via: 'jwt' };
  let last: CheckResult = { ok: false, status: 401, reason: Reason.tokenInvalid };
  if (p.hash.enabled && isHashShaped(token)) {
    last = checkHashToken(token, ctx, p.hash);
    if (last.ok) return { ...last, via: 'hash' };
  }
  if (p.oneTimeToken.enabled && !isJwtShaped(token)) {
    last = await checkOneTimeToken(token, ctx, store, reuse);
    if (last.ok) return { ...last, via: 'oneTimeToken' };
  }
  return last;
}

/** Re-presentation is on for every door (HTTP, /verify, WebSocket) unless the config turns it off. */
function reuseFor(ctx: RequestContext, deps: DecideDeps): Reuse {
  const sessions = deps.sessions;
  if (sessions && !sessions.config.resumeSpentCredentials) return undefined;
  // Seeds only when a single-use check asks (a hash or JWT request never computes them).
  let seeds: Promise<Readonly<Record<string, string>> | undefined> | undefined;
  return {
    client: ctx.clientIp,
    seeds: () => (seeds ??= sessions ? sessions.seedsFor(ctx, ctx.credentials.subscriberId) : Promise.resolve(undefined)),
    ttlMs: (sessions?.config.maxLifetimeSeconds ?? REUSE_FALLBACK_SECONDS) * 1000,
  };
}
/** How long a spent credential stays re-presentable when no session config is at hand (signalling). */
const REUSE_FALLBACK_SECONDS = 6 * 3600;

export async function decide(ctx: RequestContext, rt: RoleRuntime, deps: DecideDeps): Promise<Decision> {
  // A playback grant stands for the credential that opened the session: segments are pure CPU.
  if (ctx.credentials.grant && deps.sessions?.config.enabled && !rt.open) return deps.sessions.authorize(ctx, ctx.credentials.grant);
  try {
    if (rt.allowedIp) {
      const ip = checkPublisherIp(ctx, rt.allowedIp);
      if (!ip.ok) return { allow: false, status: ip.status, reason: ip.reason };
    }
    if (rt.role === 'publish' && 'acceptUndefinedStreams' in rt.policy && !rt.policy.acceptUndefinedStreams) {
      const reg = await checkRegisteredStream(ctx, deps.registry, deps.store);
      if (!reg.ok) return { allow: false, status: reg.status, reason: reg.reason };
    }
    if (rt.open) {
      // No factor required; a named subscriber that is blocked is still refused (cheap: only when named).
      if (ctx.credentials.subscriberId) {
        const b = await checkSubscriberNotBlocked(ctx, deps.store);
        if (!b.ok) return { allow: false, status: b.status, reason: b.reason };
      }
      return { allow: true, via: 'open', factors: [], subscriberId: ctx.credentials.subscriberId };
    }

    // The client that spent a single-use credential may present it again (same playback session).
    const reuse = reuseFor(ctx, deps);
    // Subscriber first: it is the cheaper refusal for a blocked viewer and must never let a refused
    // request consume a one-time token.
    let subscriberId: string | undefined;
    let totpPassed = false;
    let seed: string | undefined;
    let resumed: boolean | undefined;
    let mayRestart: boolean | undefined;
    if (rt.subscriberFactor) {
      const s = await checkTotpSubscriber(ctx, rt.policy.totp, deps.store, rt.attempts, reuse);
      if (!s.ok) return { allow: false, status: s.status, reason: s.reason, retryAfterSeconds: s.retryAfterSeconds };
      totpPassed = true;
      subscriberId = ctx.credentials.subscriberId;
      seed = s.seed;
      resumed = s.resumed;
      mayRestart = s.mayRestart;
    } else if (ctx.credentials.subscriberId) {
      const b = await checkSubscriberNotBlocked(ctx, deps.store);
      if (!b.ok) return { allow: false, status: b.status, reason: b.reason };
      subscriberId = ctx.credentials.subscriberId;
    }
    const factors: Via[] = [];
    let expiresAt: number | undefined;
    let streamId: string | undefined;
    if (rt.tokenFactor) {
      const t = await tokenFactor(ctx, rt, deps.store, reuse);
      if (!t.ok) return { allow: false, status: t.status, reason: t.reason };
      factors.push(t.via ?? 'oneTimeToken');
      expiresAt = t.expiresAt;
      streamId = t.streamId;
      // A one-time token's session wins over a TOTP code's when both are present.
      if (t.seed !== undefined || t.resumed) {
        seed = t.seed;
        resumed = t.resumed;
        mayRestart = undefined;
      }
    }
    if (totpPassed) factors.push('totp');
    return { allow: true, via: factors[0] ?? 'open', factors, subscriberId, expiresAt, streamId, seed, resumed, mayRestart };
  } catch (err) {
    if (err instanceof StoreUnavailableError) return { allow: false, status: 503, reason: Reason.storeUnavailable };
    throw err;
  }
}
