// TOTP "time-based subscriber" check (reference §5, improvements §13.8): RFC 6238, HMAC-SHA1,
// 6 digits, via otplib. Registered subscribers use their own base32 key; unregistered ones a key
// derived from the app secret. Accepts ±window steps, optional per-step replay guard, block check.
import { createHmac } from 'node:crypto';
import { createGuardrails, generateSync, ScureBase32Plugin, verifySync } from 'otplib';
import type { CheckResult, RequestContext, Role } from '../decision/types.js';
import { Reason, StoreUnavailableError } from '../errors.js';
import type { TotpPolicy } from '../config/schema.js';
import type { Store, Subscriber } from '../store/store.js';
import { BLOCKED, isBlocked, STORE_DOWN } from './subscriber-block.js';
import type { AttemptLimiter } from './attempt-limiter.js';

const base32 = new ScureBase32Plugin();
// Ant Media compatibility widens otplib's RFC-minded defaults: registered secrets are any multiple
// of 8 base32 chars (≥ 5 bytes), derived keys grow with the ids (HMAC hashes long keys anyway), and
// per-subscriber periods go up to Integer.MAX_VALUE seconds.
const guardrails = createGuardrails({ MIN_SECRET_BYTES: 5, MAX_SECRET_BYTES: 4096, MAX_PERIOD: 2_147_483_647 });
const OTP = { algorithm: 'sha1', digits: 6, guardrails } as const;
const HMAC_LABEL = 'streamgate-totp-v1';

export interface TotpKey {
  key: Uint8Array;
  periodSeconds: number;
  /** true: the subscriber's own b32Secret; false: derived from the app secret. */
  registered: boolean;
}

/** RFC 6238 code for a key at a time (CLI, REST `GET …/subscribers/{sid}/totp`, tests). */
export function totpCode(keyBytes: Uint8Array, periodSeconds: number, nowMs: number): string {
  return generateSync({ ...OTP, secret: keyBytes, period: periodSeconds, epoch: Math.floor(nowMs / 1000) });
}

/**
 * Ant Media's key for an unregistered subscriber: UTF-8 of secret+subscriberId+streamId+type,
 * right-padded with 'X' to a multiple of 8 characters (TOTPGenerator.getSecretCodeForNotRecordedSubscriberId;
 * the base32 encode/decode round trip there is the identity).
 * WEAKNESS (kept for compatibility): no separators, so ("ab","c") and ("a","bc") — any two
 * (subscriberId, streamId) pairs with the same concatenation — share a key and thus every code.
 * Prefer derivation `hmac`.
 */
export function antmediaDerivedKey(secret: string, subscriberId: string, streamId: string, type: Role): Uint8Array {
  let s = secret + subscriberId + streamId + type;
  const rem = s.length % 8; // Java String.length(): UTF-16 units, like JS
  if (rem !== 0) s += 'X'.repeat(8 - rem);
  return new TextEncoder().encode(s);
}

/** Separator-safe derivation: NUL cannot occur inside the ids, so distinct tuples give distinct inputs. */
export function hmacDerivedKey(secret: string, subscriberId: string, streamId: string, type: Role): Uint8Array {
  const h = createHmac('sha256', secret).update([HMAC_LABEL, subscriberId, streamId, type].join('\0'), 'utf8').digest();
  return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
}

/**
 * The TOTP key for (subscriber, stream, type): the registered subscriber's own key and period when
 * it has a b32Secret, else the key derived from `policy.secret`, else null (no way to check).
 */
export function totpKeyFor(args: {
  policy: Pick<TotpPolicy, 'secret' | 'derivation' | 'periodSeconds'>;
  subscriberId: string;
  streamId: string;
  type: Role;
  subscriber?: Subscriber | null | undefined;
}): TotpKey | null {
  const { policy, subscriberId, streamId, type, subscriber } = args;
  if (subscriber?.b32Secret) {
    try {
      const key = base32.decode(subscriber.b32Secret);
      return { key, periodSeconds: subscriber.totpExpiryPeriodSeconds ?? policy.periodSeconds, registered: true };
    } catch {
      return null; // not base32: the record is unusable, never fall back to a derived key
    }
  }
  if (!policy.secret) return null;
  const derive = policy.derivation === 'hmac' ? hmacDerivedKey : antmediaDerivedKey;
  return { key: derive(policy.secret, subscriberId, streamId, type), periodSeconds: policy.periodSeconds, registered: false };
}

/** The matching time step, or null. Constant-time compare inside otplib; ±window steps. */
function matchStep(code: string, key: TotpKey, window: number, nowMs: number): number | null {
  try {
    const r = verifySync({
      ...OTP,
      secret: key.key,
      token: code,
      period: key.periodSeconds,
      epoch: Math.floor(nowMs / 1000),
      epochTolerance: window * key.periodSeconds,
    });
    // otplib's result type is the TOTP|HOTP union; only the TOTP branch carries timeStep.
    return r.valid && 'timeStep' in r ? r.timeStep : null;
  } catch {
    return null; // malformed code (not 6 digits), unusable key: just a wrong code
  }
}

const INVALID: CheckResult = { ok: false, status: 401, reason: Reason.subscriberCodeInvalid };

/**
 * Re-presentation of a code: the client a code opened a playback for may send it again (a live
 * refresh of the URL it was given), even with preventReplay and after the code left its window.
 */
export interface TotpReuse {
  client: string;
  /** streamId → session seed recorded with the first use of the code (computed on demand). */
  seeds: () => Promise<Readonly<Record<string, string>> | undefined>;
  /** How long a used code stays re-presentable by its client (the session's maximum life), ms. */
  ttlMs: number;
}

/**
 * Checks `subscriberId` + `subscriberCode`. With `attempts`, the guess is counted first (per
 * subscriber and per client address, see attempt-limiter.ts): a locked-out caller gets 429
 * `too_many_attempts` with the seconds left, whether the code is right or not; a code that is
 * right is refunded.
 */
export async function checkTotpSubscriber(ctx: RequestContext, policy: TotpPolicy, store: Store, attempts?: AttemptLimiter | null, reuse?: TotpReuse): Promise<CheckResult> {
  const { subscriberId, subscriberCode } = ctx.credentials;
  if (!subscriberId || !subscriberCode) return { ok: false, status: 401, reason: Reason.subscriberMissing };
  const guess = attempts ? await attempts.guess(ctx.app, subscriberId, ctx.clientIp) : null;
  if (guess && !guess.ok) return { ok: false, status: 429, reason: Reason.tooManyAttempts, retryAfterSeconds: guess.retryAfterSeconds };
  const r = await checkCode(ctx, policy, store, subscriberId, subscriberCode, reuse);
  // Only a wrong code stays counted: a blocked, replayed or undecidable one was not a miss.
  if (guess && r !== INVALID) guess.refund();
  return r;
}

async function checkCode(ctx: RequestContext, policy: TotpPolicy, store: Store, subscriberId: string, subscriberCode: string, reuse: TotpReuse | undefined): Promise<CheckResult> {
  try {
    // An ambiguous file name may belong to several streams: the code must be valid for one of them.
    for (const streamId of ctx.streamIds) {
      const subscriber = await store.getSubscriber(ctx.app, streamId, subscriberId);
      const key = totpKeyFor({ policy, subscriberId, streamId, type: ctx.role, subscriber });
      if (!key) continue;
      // Ant Media: a publish subscriber may also play; a play subscriber may not publish.
      if (key.registered && subscriber && subscriber.type !== ctx.role && !(subscriber.type === 'publish' && ctx.role === 'play')) continue;
      const step = matchStep(subscriberCode, key, policy.window, ctx.now);
      const claimKey = `totp:${JSON.stringify([ctx.app, streamId, subscriberId, ctx.role, subscriberCode])}`;
      if (step === null) {
        // Out of its window: only the client it opened a playback for may re-present it.
        if (!reuse) continue;
        const prior = await store.peekClaim(claimKey);
        if (!prior || prior.client !== reuse.client) continue;
        if (subscriber && isBlocked(subscriber, ctx.role, ctx.now)) return BLOCKED;
        return { ok: true, subscriberId, resumed: true, seed: prior.seed || undefined };
      }
      // Blocked only after a valid code, so the block state is not disclosed to code guessers.
      if (subscriber && isBlocked(subscriber, ctx.role, ctx.now)) return BLOCKED;
      const replayTtlMs = (2 * policy.window + 2) * key.periodSeconds * 1000; // outlives the code's acceptance
      // HEAD/probes (consume = false) check without spending the code.
      if (reuse && ctx.consume) {
        const seed = (await reuse.seeds())?.[streamId] ?? '';
        const claim = await store.claimOnce(claimKey, reuse.client, seed, Math.max(replayTtlMs, reuse.ttlMs));
        if (claim.first) return { ok: true, subscriberId, seed: seed || undefined };
        if (claim.client === reuse.client) return { ok: true, subscriberId, resumed: true, mayRestart: !policy.preventReplay, seed: claim.seed || undefined };
        if (policy.preventReplay) return { ok: false, status: 401, reason: Reason.subscriberCodeReplayed };
        return { ok: true, subscriberId }; // a shared code without a replay guard: a session of its own
      }
      if (policy.preventReplay && ctx.consume) {
        const first = await store.markOnce(`totp:${JSON.stringify([ctx.app, streamId, subscriberId, step])}`, replayTtlMs);
        if (!first) return { ok: false, status: 401, reason: Reason.subscriberCodeReplayed };
      }
      // No expiresAt: a code proves presence at a moment, it is not a lease (Ant Media keeps the session).
      return { ok: true, subscriberId };
    }
  } catch (err) {
    if (err instanceof StoreUnavailableError) return STORE_DOWN;
    throw err;
  }
  return INVALID;
}
